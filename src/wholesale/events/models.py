"""The audit trail and the partner event feed, both written in the same transaction as the change they describe."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class AuditEvent(Base):
    """Something that happened to a subject, who did it (actor, role, org) and why; operators and partners read
    these at GET /v1/auditEvents."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_subject", "subject_type", "subject_id", "id"),
        sa.Index("ix_audit_events_occurred_at", "occurred_at", "id"),
        # GET /v1/auditEvents and the portal: a partner's rows newest first, and of one action (a customer's
        # subscribers are found by their `subscriber.created` rows).
        sa.Index("ix_audit_events_partner", "partner_org_id", "id"),
        sa.Index("ix_audit_events_partner_action", "partner_org_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(200))
    # Who the actor is: its role (partner_admin, operator, ..., job, cli, system) and the org it belongs to.
    actor_role: Mapped[str | None] = mapped_column(sa.String(40))
    actor_org_id: Mapped[str | None] = mapped_column(sa.String(200))
    partner_org_id: Mapped[str | None] = mapped_column(sa.String(200))
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(60))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The subject's fields as they were and as they became (only the ones that changed), when the writer knows them.
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    tracking_id: Mapped[str | None] = mapped_column(sa.String(120))


class Event(Base):
    """One event of a partner's feed (GET /v1/wholesale/events) and webhooks.

    Feed order is (`txid`, `id`): on PostgreSQL `txid` is the writing transaction's id, and the feed only shows
    rows of transactions older than every one still running, so a row that commits late can never land behind
    a cursor already handed out (docs/EVENTS.md). On SQLite, where one writer at a time allocates ids, `txid` is 0
    and `id` order is commit order.
    """

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_feed", "partner_org_id", "txid", "id"),
        sa.Index("ix_events_created", "created"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    txid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    partner_org_id: Mapped[str] = mapped_column(sa.String(200))
    event_id: Mapped[str] = mapped_column(sa.String(200), unique=True)  # the public id
    resource: Mapped[str] = mapped_column(sa.String(40))  # customers, subscribers, compliance, billingReports, ...
    event: Mapped[str] = mapped_column(sa.String(20))  # created, updated, deleted
    type: Mapped[str] = mapped_column(sa.String(60))  # what exactly: customer.status_changed, compliance.warning ...
    subject_id: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_id: Mapped[str] = mapped_column(sa.String(200))
    tracking_id: Mapped[str | None] = mapped_column(sa.String(120))
    created: Mapped[datetime]
