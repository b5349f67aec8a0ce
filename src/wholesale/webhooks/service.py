"""Webhooks: create, read, update and delete them for a partner; record what each delivery came to (advance the
feed position, or back off and, after 24 hours of failures, disable); ask for a redelivery."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from wholesale.config import get_settings
from wholesale.events import feed
from wholesale.events.service import record
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, egress
from wholesale.kit.errors import BadRequest, Conflict, NotFound, field_error
from wholesale.kit.ids import encode_id, new_id
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.partners.tenancy import Tenant
from wholesale.webhooks import filters, repository
from wholesale.webhooks.models import Webhook, WebhookDelivery
from wholesale.webhooks.schemas import WebhookCreate, WebhookUpdate

ACTIVE, INACTIVE = "active", "inactive"
MAX_WEBHOOKS = 100  # per partner
BACKOFF_FIRST = 10.0  # seconds before the first retry; doubles each failure
BACKOFF_MAX = 3600.0
DISABLE_AFTER = timedelta(hours=24)  # of failing without a success: the webhook goes inactive
NOT_FOUND = "Webhook not found."


def policy() -> egress.Policy:
    """Who webhooks may call (settings: the sandbox, WHOLESALE_WEBHOOK_ALLOWED_HOSTS)."""
    settings = get_settings()
    return egress.Policy.parse(settings.webhook_allowed_hosts, sandbox=settings.sandbox)


def check_target(url: str) -> None:
    """400 naming targetUrl when the egress policy refuses it."""
    try:
        egress.check(url, policy())
    except egress.Refused as exc:
        raise field_error("targetUrl", str(exc)) from None


def check_filter(text: str | None) -> str | None:
    """The filter as stored (None for none); 400 naming filter when it does not parse."""
    try:
        return text.strip() if text is not None and filters.parse(text) else None
    except ValueError as exc:
        raise field_error("filter", str(exc)) from None


def backoff(failures: int) -> timedelta:
    """How long to wait after the n-th consecutive failure: 10 s, 20 s, 40 s ... at most an hour."""
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX))


def _shown(webhook: Webhook) -> dict[str, Any]:
    """What the audit trail keeps of a webhook (never its secret)."""
    return {
        "name": webhook.name,
        "targetUrl": webhook.target_url,
        "resource": webhook.resource,
        "event": webhook.event,
        "filter": webhook.filter,
        "status": webhook.status,
    }


def create_webhook(session: Session, tenant: Tenant, body: WebhookCreate) -> Webhook:
    """Record a webhook; it receives the partner's events from now on (those after the feed's current end)."""
    filter_text = check_filter(body.filter)
    check_target(body.targetUrl)
    if repository.count_owned(session, tenant.partner) >= MAX_WEBHOOKS:
        raise BadRequest(f"A partner may have at most {MAX_WEBHOOKS} webhooks; delete one first.")
    position = repository.feed_end(session, tenant.partner) or feed.START
    webhook = Webhook(
        id=new_id("WEBHOOK"),
        partner_org_id=tenant.partner,
        name=body.name,
        target_url=body.targetUrl,
        resource=body.resource,
        event=body.event,
        filter=filter_text,
        secret=body.secret or None,
        status=ACTIVE,
        created=clock.now(),
        created_by=encode_id("PEOPLE", tenant.principal.token_id),
        app_id=encode_id("APPLICATION", tenant.principal.token_id),
        position_txid=position[0],
        position_id=position[1],
        generation=0,
        failures=0,
    )
    session.add(webhook)
    record(
        session,
        subject_type="webhook",
        subject_id=webhook.id,
        action="webhook.created",
        partner_org_id=webhook.partner_org_id,
        data=_shown(webhook) | {"secret": bool(webhook.secret)},
        after=_shown(webhook),
    )
    return webhook


def get_webhook(session: Session, tenant: Tenant, webhook_id: str) -> Webhook:
    """A webhook of the tenant's partner (404 for anyone else's)."""
    webhook = repository.get_owned(session, tenant, webhook_id)
    if webhook is None:
        raise NotFound(NOT_FOUND)
    return webhook


def list_webhooks(session: Session, tenant: Tenant, params: PageParams) -> Page[Webhook]:
    """A page of the tenant partner's webhooks."""
    return page_from_rows(repository.list_page(session, tenant, params), params)


def update_webhook(session: Session, tenant: Tenant, webhook_id: str, body: WebhookUpdate) -> Webhook:
    """Rename, retarget, change the secret or the status (`active` again resumes from where delivery stopped)."""
    webhook = get_webhook(session, tenant, webhook_id)
    fixed = {"resource": webhook.resource, "event": webhook.event}
    for field, current in fixed.items():
        sent = getattr(body, field)
        if sent is not None and sent != current:
            raise field_error(field, f"cannot change (it is {current!r}); create another webhook instead.")
    if body.filter is not None and check_filter(body.filter) != webhook.filter:
        raise field_error("filter", f"cannot change (it is {webhook.filter or ''!r}); create another webhook instead.")
    check_target(body.targetUrl)
    before = _shown(webhook)
    webhook.name, webhook.target_url = body.name, body.targetUrl
    secret_changed = body.secret is not None and (body.secret or None) != webhook.secret
    if body.secret is not None:
        webhook.secret = body.secret or None
    if body.status is not None and body.status != webhook.status:
        webhook.status = body.status
        if body.status == ACTIVE:
            # Resume at once from the position it stopped at; a new generation makes a new delivery job key.
            webhook.failures, webhook.failing_since, webhook.retry_at = 0, None, None
            webhook.generation += 1
    record(
        session,
        subject_type="webhook",
        subject_id=webhook.id,
        action="webhook.updated",
        partner_org_id=webhook.partner_org_id,
        data={"secretChanged": secret_changed},
        before=before,
        after=_shown(webhook),
    )
    return webhook


def delete_webhook(session: Session, tenant: Tenant, webhook_id: str) -> None:
    """Delete a webhook and its delivery history; a delivery under way finds it gone and stops."""
    webhook = get_webhook(session, tenant, webhook_id)
    repository.delete_deliveries(session, webhook.id)
    session.delete(webhook)
    record(
        session,
        subject_type="webhook",
        subject_id=webhook_id,
        action="webhook.deleted",
        partner_org_id=webhook.partner_org_id,
        before=_shown(webhook),
    )


def read(webhook: Webhook) -> dict[str, Any]:
    """A webhook as the API shows it (`Webhook`)."""
    body: dict[str, Any] = {
        "id": webhook.id,
        "name": webhook.name,
        "targetUrl": webhook.target_url,
        "resource": webhook.resource,
        "event": webhook.event,
        "orgId": webhook.partner_org_id,
        "createdBy": webhook.created_by,
        "appId": webhook.app_id,
        "ownedBy": "creator",
        "status": webhook.status,
        "created": clock.isoformat(webhook.created),
    }
    if webhook.filter:
        body["filter"] = webhook.filter
    return body


# -- deliveries ---------------------------------------------------------------------------------------------------


def list_deliveries(session: Session, tenant: Tenant, webhook_id: str, params: PageParams) -> Page[WebhookDelivery]:
    """A page of a webhook's deliveries, newest first."""
    webhook = get_webhook(session, tenant, webhook_id)
    return page_from_rows(repository.deliveries_page(session, webhook.id, params), params)


def read_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    """A delivery as the API shows it."""
    body: dict[str, Any] = {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "type": delivery.type,
        "attempt": delivery.attempt,
        "status": delivery.status,
        "statusCode": delivery.status_code,
        "error": delivery.error,
        "durationMs": delivery.duration_ms,
        "redeliveryOf": delivery.redelivery_of,
        "created": clock.isoformat(delivery.created),
    }
    return {k: v for k, v in body.items() if v is not None}


def request_redelivery(session: Session, tenant: Tenant, webhook_id: str, delivery_id: str) -> WebhookDelivery:
    """Record a pending delivery that repeats another's event, and enqueue it: it is sent at once, beside the
    webhook's ordered deliveries (its position does not move)."""
    webhook = get_webhook(session, tenant, webhook_id)
    original = repository.get_delivery(session, webhook.id, delivery_id)
    if original is None:
        raise NotFound("Delivery not found.")
    if webhook.status != ACTIVE:
        raise Conflict("The webhook is inactive: set its status to active before asking for a redelivery.")
    if repository.event_by_public_id(session, webhook.partner_org_id, original.event_id) is None:
        days = get_settings().event_retention_days
        raise Conflict(f"Event {original.event_id} is no longer kept (events are kept {days} days).")
    delivery = WebhookDelivery(
        id=new_id("WEBHOOK_DELIVERY"),
        webhook_id=webhook.id,
        event_id=original.event_id,
        type=original.type,
        attempt=repository.attempts_at(session, webhook.id, original.event_id) + 1,
        status="pending",
        redelivery_of=original.id,
        created=clock.now(),
    )
    session.add(delivery)
    record(
        session,
        subject_type="webhook",
        subject_id=webhook.id,
        action="webhook.redelivery_requested",
        partner_org_id=webhook.partner_org_id,
        data={"deliveryId": delivery.id, "redeliveryOf": original.id, "eventId": original.event_id},
    )
    enqueue(
        session,
        "webhooks.redeliver",
        delivery.id,
        key=f"webhooks.redeliver:{delivery.id}",
        partition_key=f"{webhook.id}:redeliver",
    )
    return delivery


def record_attempt(
    session: Session,
    webhook_id: str,
    *,
    expected: tuple[int, int],
    handled: tuple[int, int],
    event: tuple[int, int, str, str],
    outcome: egress.Outcome,
    delivery_id: str,
) -> str | None:
    """Record one delivery of the event after `handled` ((txid, id, public id, type)) and what it means, in the
    caller's transaction: a success moves the position to the event, a failure to `handled` (events before it
    that did not match) and backs off. Returns the webhook's status, "moved" when another run moved its position
    since `expected` (this run stops), None when it was deleted."""
    delivery = {
        "id": delivery_id,
        "webhook_id": webhook_id,
        "event_id": event[2],
        "type": event[3],
        "status": "delivered" if outcome.ok else "failed",
        "status_code": outcome.status_code,
        "error": (outcome.error or None) and str(outcome.error)[:500],
        "duration_ms": outcome.duration_ms,
        "created": clock.now(),
    }
    if outcome.ok:  # the usual case, in two statements: move the position (if still where we read it), add the row
        status = repository.delivered(session, webhook_id, expected, (event[0], event[1]))
        if status is not None:
            repository.add_delivery(session, delivery)
            return status
    webhook = repository.get_unscoped(session, webhook_id, lock=True)
    if webhook is None:
        return None
    repository.add_delivery(session, delivery)
    if (webhook.position_txid, webhook.position_id) != expected:
        return "moved"
    webhook.position_txid, webhook.position_id = handled
    _failed(session, webhook, outcome)
    return webhook.status


def _failed(session: Session, webhook: Webhook, outcome: egress.Outcome) -> None:
    """Back off after a failure; a webhook failing for DISABLE_AFTER goes inactive, with an event saying so."""
    now = clock.now()
    webhook.failures += 1
    webhook.generation += 1
    webhook.failing_since = webhook.failing_since or now
    webhook.retry_at = now + backoff(webhook.failures)
    if webhook.status == ACTIVE and now - webhook.failing_since >= DISABLE_AFTER:
        disable(session, webhook, outcome.error or f"HTTP {outcome.status_code}")


def disable(session: Session, webhook: Webhook, last_error: str) -> None:
    """Set a failing webhook inactive and tell its partner (event `webhook.disabled`, in its feed and webhooks)."""
    before = _shown(webhook)
    webhook.status = INACTIVE
    record(
        session,
        subject_type="webhook",
        subject_id=webhook.id,
        action="webhook.disabled",
        partner_org_id=webhook.partner_org_id,
        data={
            "name": webhook.name,
            "targetUrl": webhook.target_url,
            "failingSince": clock.isoformat(webhook.failing_since),
            "failures": webhook.failures,
            "lastError": last_error[:300],
        },
        before=before,
        after=_shown(webhook),
    )


def advance(session: Session, webhook_id: str, expected: tuple[int, int], position: tuple[int, int]) -> bool:
    """Move the position past events that did not match (no delivery); False when another run moved it."""
    webhook = repository.get_unscoped(session, webhook_id, lock=True)
    if webhook is None or (webhook.position_txid, webhook.position_id) != expected:
        return False
    webhook.position_txid, webhook.position_id = position
    return True


def defer(session: Session, webhook_id: str) -> None:
    """After a delivery job failed for a reason of ours (not the receiver's): try again a little later, under a
    new job key."""
    webhook = repository.get_unscoped(session, webhook_id, lock=True)
    if webhook is not None:
        webhook.generation += 1
        webhook.retry_at = clock.now() + backoff(1)


def finish_redelivery(session: Session, delivery_id: str, outcome: egress.Outcome) -> None:
    """Fill in a pending redelivery with what it came to."""
    delivery = repository.get_delivery_unscoped(session, delivery_id)
    if delivery is None or delivery.status != "pending":
        return
    delivery.status = "delivered" if outcome.ok else "failed"
    delivery.status_code = outcome.status_code
    delivery.error = (outcome.error or None) and str(outcome.error)[:500]
    delivery.duration_ms = outcome.duration_ms


def purge_deliveries(session: Session, now: datetime) -> int:
    """Forget deliveries older than the event retention (the events they carried are gone too)."""
    return repository.purge_deliveries(session, now - timedelta(days=get_settings().event_retention_days))
