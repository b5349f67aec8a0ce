"""The audit trail: one row per state change, written in the same transaction as the change."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class AuditEvent(Base):
    """Something that happened to a subject, who did it and why."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_subject", "subject_type", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(200))
    partner_org_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(60))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tracking_id: Mapped[str | None] = mapped_column(sa.String(120))
