"""The compliance case lifecycle as a pure transition table."""

from enum import StrEnum

from wholesale.kit.transitions import transition


class CaseStatus(StrEnum):
    """Where a case stands."""

    OPEN = "open"  # potential match, awaiting a reviewer
    NONCOMPLIANT = "noncompliant"  # a reviewer confirmed the issue; the partner may still resolve it
    APPROVED = "approved"  # a reviewer found no issue (closed)
    RESOLVED = "resolved"  # corrected data re-screened clear (closed)
    DEPROVISIONED = "deprovisioned"  # R14 ended it (closed)


class CaseEvent(StrEnum):
    """What can happen to a case."""

    APPROVE = "approve"
    REJECT = "reject"
    CLEARED = "cleared"
    DEPROVISION = "deprovision"


OPEN_STATES = frozenset({CaseStatus.OPEN, CaseStatus.NONCOMPLIANT})

TRANSITIONS: dict[tuple[CaseStatus, CaseEvent], CaseStatus] = {
    (CaseStatus.OPEN, CaseEvent.APPROVE): CaseStatus.APPROVED,
    (CaseStatus.NONCOMPLIANT, CaseEvent.APPROVE): CaseStatus.APPROVED,
    (CaseStatus.OPEN, CaseEvent.REJECT): CaseStatus.NONCOMPLIANT,
    (CaseStatus.OPEN, CaseEvent.CLEARED): CaseStatus.RESOLVED,
    (CaseStatus.NONCOMPLIANT, CaseEvent.CLEARED): CaseStatus.RESOLVED,
    (CaseStatus.OPEN, CaseEvent.DEPROVISION): CaseStatus.DEPROVISIONED,
    (CaseStatus.NONCOMPLIANT, CaseEvent.DEPROVISION): CaseStatus.DEPROVISIONED,
}


def apply(status: str, event: CaseEvent) -> CaseStatus:
    """Return the status after an event, or raise InvalidTransition."""
    return transition(TRANSITIONS, CaseStatus, status, event, "A compliance case")
