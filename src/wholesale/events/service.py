"""Record audit events inside the caller's transaction."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.events.models import AuditEvent
from wholesale.kit import clock
from wholesale.kit.context import current_actor, current_tracking_id


def record(
    session: Session,
    *,
    subject_type: str,
    subject_id: str,
    action: str,
    partner_org_id: str | None = None,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Add an audit row to the session; it commits or rolls back with the change it describes."""
    event = AuditEvent(
        occurred_at=clock.now(),
        actor=actor or current_actor(),
        partner_org_id=partner_org_id,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        data=data or {},
        tracking_id=current_tracking_id(),
    )
    session.add(event)
    return event


def record_many(
    session: Session,
    *,
    subject_type: str,
    action: str,
    subjects: list[tuple[str, dict[str, Any]]],
    partner_org_id: str | None = None,
    actor: str | None = None,
) -> None:
    """Add one audit row per (subject id, data) in one INSERT (set-based `record`, same columns and context)."""
    if not subjects:
        return
    now, actor, tracking_id = clock.now(), actor or current_actor(), current_tracking_id()
    session.execute(
        sa.insert(AuditEvent),
        [
            {
                "occurred_at": now,
                "actor": actor,
                "partner_org_id": partner_org_id,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "action": action,
                "data": data,
                "tracking_id": tracking_id,
            }
            for subject_id, data in subjects
        ],
    )
