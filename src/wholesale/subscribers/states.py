"""The subscriber lifecycle as a pure transition table (no I/O)."""

from enum import StrEnum

from wholesale.kit.transitions import transition


class SubscriberStatus(StrEnum):
    """Subscriber status values of the spec, plus the state before the first write."""

    NEW = "new"
    PROVISIONED = "provisioned"
    PENDING_USER_MIGRATION = "pending_user_migration"


class SubscriberEvent(StrEnum):
    """What can happen to a subscriber."""

    CREATED = "created"
    # The email belongs to an active free account: its owner must consent to the move.
    CONSENT_REQUIRED = "consent_required"
    CONSENT_ACCEPTED = "consent_accepted"
    CONSENT_RESENT = "consent_resent"
    PACKAGE_CHANGED = "package_changed"


S, E = SubscriberStatus, SubscriberEvent

TRANSITIONS: dict[tuple[SubscriberStatus, SubscriberEvent], SubscriberStatus] = {
    (S.NEW, E.CREATED): S.PROVISIONED,
    (S.NEW, E.CONSENT_REQUIRED): S.PENDING_USER_MIGRATION,
    (S.PENDING_USER_MIGRATION, E.CONSENT_ACCEPTED): S.PROVISIONED,
    (S.PENDING_USER_MIGRATION, E.CONSENT_RESENT): S.PENDING_USER_MIGRATION,
    (S.PROVISIONED, E.PACKAGE_CHANGED): S.PROVISIONED,
    (S.PENDING_USER_MIGRATION, E.PACKAGE_CHANGED): S.PENDING_USER_MIGRATION,
}


def apply(status: str, event: SubscriberEvent) -> SubscriberStatus:
    """Return the status after an event, or raise InvalidTransition naming both."""
    return transition(TRANSITIONS, SubscriberStatus, status, event, "A subscriber")


class BulkStatus(StrEnum):
    """Bulk import job status."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"


BULK_TRANSITIONS: dict[tuple[BulkStatus, str], BulkStatus] = {
    (BulkStatus.QUEUED, "started"): BulkStatus.RUNNING,
    (BulkStatus.RUNNING, "started"): BulkStatus.RUNNING,
    (BulkStatus.RUNNING, "finished"): BulkStatus.COMPLETED,
}


def apply_bulk(status: str, event: str) -> BulkStatus:
    """Return a bulk job's status after an event, or raise InvalidTransition."""
    return transition(BULK_TRANSITIONS, BulkStatus, status, event, "A bulk import")
