"""Queries on webhooks and their deliveries, and the one query the delivery poller runs."""

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.events.models import Event
from wholesale.kit.pagination import PageParams
from wholesale.partners.tenancy import Tenant
from wholesale.webhooks.models import Webhook, WebhookDelivery


def get_owned(session: Session, tenant: Tenant, webhook_id: str) -> Webhook | None:
    """A webhook of the tenant's partner, else None (another partner's is as good as missing)."""
    query = sa.select(Webhook).where(Webhook.id == webhook_id, Webhook.partner_org_id == tenant.partner)
    return session.scalars(query).first()


def get_unscoped(session: Session, webhook_id: str, *, lock: bool = False) -> Webhook | None:
    """A webhook whoever owns it: for the delivery jobs only; `lock` takes its row for the transaction."""
    query = sa.select(Webhook).where(Webhook.id == webhook_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def count_owned(session: Session, partner_org_id: str) -> int:
    """How many webhooks a partner has."""
    query = sa.select(sa.func.count()).select_from(Webhook).where(Webhook.partner_org_id == partner_org_id)
    return int(session.scalar(query) or 0)


def list_page(session: Session, tenant: Tenant, params: PageParams) -> list[Webhook]:
    """A page (max + 1 rows) of the tenant partner's webhooks, oldest first."""
    query = (
        sa.select(Webhook)
        .where(Webhook.partner_org_id == tenant.partner)
        .order_by(Webhook.created, Webhook.id)
        .offset(params.offset)
        .limit(params.max + 1)
    )
    return list(session.scalars(query))


def feed_end(session: Session, partner_org_id: str) -> tuple[int, int] | None:
    """The (txid, id) of the partner's last event, None when it has none: where a new webhook starts."""
    query = (
        sa.select(Event.txid, Event.id)
        .where(Event.partner_org_id == partner_org_id)
        .order_by(Event.txid.desc(), Event.id.desc())
        .limit(1)
    )
    row = session.execute(query).first()
    return (int(row[0]), int(row[1])) if row else None


def deliveries_page(session: Session, webhook_id: str, params: PageParams) -> list[WebhookDelivery]:
    """A page (max + 1 rows) of a webhook's deliveries, newest first."""
    query = (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.seq.desc())
        .offset(params.offset)
        .limit(params.max + 1)
    )
    return list(session.scalars(query))


def get_delivery(session: Session, webhook_id: str, delivery_id: str) -> WebhookDelivery | None:
    """One delivery of a webhook."""
    query = sa.select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id
    )
    return session.scalars(query).first()


def get_delivery_unscoped(session: Session, delivery_id: str) -> WebhookDelivery | None:
    """A delivery by its id whoever owns it: for the redelivery job only."""
    return session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)).first()


def attempts_at(session: Session, webhook_id: str, event_id: str) -> int:
    """How many deliveries of an event a webhook has recorded."""
    query = (
        sa.select(sa.func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.event_id == event_id)
    )
    return int(session.scalar(query) or 0)


# The two statements of a successful delivery, built once (Core on the tables: a delivery is the hot path).
_webhooks = cast(sa.Table, Webhook.__table__)
_deliveries = cast(sa.Table, WebhookDelivery.__table__)
_DELIVERED = (
    sa.update(_webhooks)
    .where(
        _webhooks.c.id == sa.bindparam("w_id"),
        _webhooks.c.position_txid == sa.bindparam("expected_txid"),
        _webhooks.c.position_id == sa.bindparam("expected_id"),
    )
    .values(
        position_txid=sa.bindparam("txid"),
        position_id=sa.bindparam("event_row_id"),
        failures=0,
        failing_since=None,
        retry_at=None,
    )
    .returning(_webhooks.c.status)
)
_ADD_DELIVERY = sa.insert(_deliveries).values(
    attempt=sa.select(sa.func.count() + 1)
    .select_from(_deliveries)
    .where(
        _deliveries.c.webhook_id == sa.bindparam("of_webhook"),
        _deliveries.c.event_id == sa.bindparam("of_event"),
    )
    .scalar_subquery()
)


def delivered(session: Session, webhook_id: str, expected: tuple[int, int], position: tuple[int, int]) -> str | None:
    """After a successful delivery: move the position from `expected` to the event's and clear the failure
    state, in one statement; the webhook's status, or None when it is gone or its position is not `expected`."""
    params = {
        "w_id": webhook_id,
        "expected_txid": expected[0],
        "expected_id": expected[1],
        "txid": position[0],
        "event_row_id": position[1],
    }
    return session.execute(_DELIVERED, params).scalar_one_or_none()


def add_delivery(session: Session, values: dict[str, Any]) -> None:
    """Insert a delivery row (id, webhook_id, event_id, type, status, status_code, error, duration_ms, created);
    its attempt is one more than the webhook's deliveries of that event so far."""
    session.execute(_ADD_DELIVERY, {**values, "of_webhook": values["webhook_id"], "of_event": values["event_id"]})


def event_by_public_id(session: Session, partner_org_id: str, event_id: str) -> Event | None:
    """A partner's event by its public id (None once retention has removed it)."""
    query = sa.select(Event).where(Event.event_id == event_id, Event.partner_org_id == partner_org_id)
    return session.scalars(query).first()


def delete_deliveries(session: Session, webhook_id: str) -> None:
    """Forget a webhook's deliveries (it is being deleted)."""
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))


def purge_deliveries(session: Session, older_than: datetime) -> int:
    """Delete deliveries recorded before an instant; returns how many."""
    result = session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.created < older_than))
    return int(getattr(result, "rowcount", 0) or 0)


def _visible(session: Session) -> Any:
    """The feed's horizon on PostgreSQL (events of transactions older than every running one), else None."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return sa.cast(sa.cast(sa.func.pg_snapshot_xmin(sa.func.pg_current_snapshot()), sa.Text), sa.BigInteger)


def due(session: Session, now: datetime, limit: int = 1000) -> list[tuple[str, int, int, int]]:
    """Active webhooks whose retry time (if any) has come and whose partner has an event after their position
    that the feed shows: (id, position txid, position id, generation). One query, an index range probe per
    webhook (`ix_events_feed`)."""
    pending = sa.exists().where(
        Event.partner_org_id == Webhook.partner_org_id,
        sa.tuple_(Event.txid, Event.id) > sa.tuple_(Webhook.position_txid, Webhook.position_id),
    )
    horizon = _visible(session)
    if horizon is not None:
        pending = pending.where(Event.txid < horizon)
    query = (
        sa.select(Webhook.id, Webhook.position_txid, Webhook.position_id, Webhook.generation)
        .where(
            Webhook.status == "active",
            sa.or_(Webhook.retry_at.is_(None), Webhook.retry_at <= now),
            pending,
        )
        .limit(limit)
    )
    return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in session.execute(query)]
