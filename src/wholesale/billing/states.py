"""The billing report lifecycle as a pure transition table."""

from enum import StrEnum

from wholesale.kit.transitions import transition


class ReportStatus(StrEnum):
    """Where a report stands (Webex's values)."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class ReportEvent(StrEnum):
    """What can happen to a report."""

    GENERATED = "generated"
    FAILED = "failed"


TRANSITIONS: dict[tuple[ReportStatus, ReportEvent], ReportStatus] = {
    (ReportStatus.IN_PROGRESS, ReportEvent.GENERATED): ReportStatus.COMPLETED,
    (ReportStatus.IN_PROGRESS, ReportEvent.FAILED): ReportStatus.FAILED,
}


def apply(status: str, event: ReportEvent) -> ReportStatus:
    """Return the status after an event, or raise InvalidTransition."""
    return transition(TRANSITIONS, ReportStatus, status, event, "A billing report")
