"""The customer lifecycle as a pure transition table (no I/O)."""

from enum import StrEnum

from wholesale.kit.transitions import transition


class CustomerStatus(StrEnum):
    """Customer status values of the spec, plus our tombstone."""

    PROVISIONING = "provisioning"
    PROVISIONED = "provisioned"
    PROVISIONED_WITH_ERRORS = "provisioned_with_errors"
    UPDATING = "updating"
    DELETING = "deleting"
    ERROR = "error"
    # Shown instead of the stored status while a compliance case is open (R11: services stay active).
    PENDING_RPL_REVIEW = "pending_rpl_review"
    DELETED = "deleted"


class CustomerEvent(StrEnum):
    """What can happen to a customer."""

    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    UPDATE_REQUESTED = "update_requested"
    DELETE_REQUESTED = "delete_requested"
    DELETED = "deleted"


S, E = CustomerStatus, CustomerEvent
SETTLED = (S.PROVISIONED, S.PROVISIONED_WITH_ERRORS, S.ERROR)

TRANSITIONS: dict[tuple[CustomerStatus, CustomerEvent], CustomerStatus] = {
    **{(s, E.SUCCEEDED): S.PROVISIONED for s in (S.PROVISIONING, S.UPDATING)},
    **{(s, E.PARTIALLY_SUCCEEDED): S.PROVISIONED_WITH_ERRORS for s in (S.PROVISIONING, S.UPDATING)},
    **{(s, E.FAILED): S.ERROR for s in (S.PROVISIONING, S.UPDATING)},
    **{(s, E.UPDATE_REQUESTED): S.UPDATING for s in SETTLED},
    **{(s, E.DELETE_REQUESTED): S.DELETING for s in (*SETTLED, S.PROVISIONING, S.UPDATING)},
    (S.DELETING, E.DELETED): S.DELETED,
}


def apply(status: str, event: CustomerEvent) -> CustomerStatus:
    """Return the status after an event, or raise InvalidTransition naming both."""
    hint = " (wait until provisioning has finished)" if status in (S.PROVISIONING, S.UPDATING) else ""
    return transition(TRANSITIONS, CustomerStatus, status, event, "A customer", hint)


class PackageStatus(StrEnum):
    """Per-package status values of the spec."""

    PROVISIONING = "provisioning"
    PROVISIONED = "provisioned"
    DELETING = "deleting"
    ERROR = "error"


PACKAGE_TRANSITIONS: dict[tuple[PackageStatus, str], PackageStatus] = {
    (PackageStatus.PROVISIONING, "granted"): PackageStatus.PROVISIONED,
    (PackageStatus.PROVISIONING, "failed"): PackageStatus.ERROR,
    (PackageStatus.ERROR, "retry"): PackageStatus.PROVISIONING,
    (PackageStatus.PROVISIONED, "remove"): PackageStatus.DELETING,
    (PackageStatus.PROVISIONING, "remove"): PackageStatus.DELETING,
    (PackageStatus.ERROR, "remove"): PackageStatus.DELETING,
}


def apply_package(status: str, event: str) -> PackageStatus:
    """Return a package's status after an event, or raise InvalidTransition."""
    return transition(PACKAGE_TRANSITIONS, PackageStatus, status, event, "A package")


def outcome_event(package_statuses: list[str]) -> CustomerEvent:
    """Decide how a provisioning run ended from its packages' statuses."""
    if not package_statuses or all(s == PackageStatus.PROVISIONED for s in package_statuses):
        return E.SUCCEEDED
    if any(s == PackageStatus.PROVISIONED for s in package_statuses):
        return E.PARTIALLY_SUCCEEDED
    return E.FAILED
