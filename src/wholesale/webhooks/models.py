"""Webhooks (the Webex shape) and every delivery made to them."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Webhook(Base):
    """A partner's subscription to its event feed, delivered by POST to `target_url` in feed order.

    Each webhook keeps its own feed position (`position_txid`, `position_id`: the last event handled, delivered
    or skipped as not matching). A failed delivery leaves the position where it is (order!) and sets `retry_at`;
    `generation` grows at each failure and each reactivation, so a delivery job's key (webhook, position,
    generation) is new whenever another attempt is due, and the same for every process that would enqueue it.
    """

    __tablename__ = "webhooks"
    __table_args__ = (
        sa.Index("ix_webhooks_partner", "partner_org_id", "created"),
        sa.Index("ix_webhooks_status_retry", "status", "retry_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner_org_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    target_url: Mapped[str] = mapped_column(sa.String(2048))
    resource: Mapped[str] = mapped_column(sa.String(40))  # customers, subscribers, ..., all
    event: Mapped[str] = mapped_column(sa.String(20))  # created, updated, deleted, all
    filter: Mapped[str | None] = mapped_column(sa.String(1000))  # key=value&key=value, matched against data
    secret: Mapped[str | None] = mapped_column(sa.String(256))  # signs deliveries; never shown again
    status: Mapped[str] = mapped_column(sa.String(20))  # active, inactive
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(200))
    app_id: Mapped[str] = mapped_column(sa.String(200))
    position_txid: Mapped[int] = mapped_column(sa.BigInteger)
    position_id: Mapped[int] = mapped_column(sa.BigInteger)
    generation: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed deliveries of the event after position
    failing_since: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One POST of one event to one webhook (or one that a redelivery request is about to make: `pending`)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "seq"),
        sa.Index("ix_webhook_deliveries_event", "webhook_id", "event_id"),
        sa.Index("ix_webhook_deliveries_created", "created"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(200), unique=True)  # the public id
    webhook_id: Mapped[str] = mapped_column(sa.String(200))
    event_id: Mapped[str] = mapped_column(sa.String(200))  # the event's public id
    type: Mapped[str] = mapped_column(sa.String(60))
    attempt: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20))  # delivered, failed, pending
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
    duration_ms: Mapped[int | None]
    redelivery_of: Mapped[str | None] = mapped_column(sa.String(200))
    created: Mapped[datetime]
