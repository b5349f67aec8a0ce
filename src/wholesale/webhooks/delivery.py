"""Delivering a partner's events to its webhooks, in feed order, at least once.

Each webhook keeps a feed position. A delivery run reads the events after it (`events.feed.read`: committed
events in commit order), skips those the webhook does not want, and POSTs the others one by one; after each POST
one transaction records the delivery and moves the position (or, when it failed, keeps it and backs off).
A crash between the POST and that transaction sends the event again: receivers drop repeats by
`X-Wholesale-Event-Id`.

Runs are DBOS jobs (`webhooks.deliver`, partitioned by webhook: one at a time per webhook), enqueued by a poller
thread in each worker process under the key (webhook, position, generation), so every process that sees the same
work enqueues the same job, which runs once. `run_pending` makes one pass synchronously (tests, tools).
"""

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.events import feed
from wholesale.events.models import Event
from wholesale.jobs import runtime
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, egress, ids
from wholesale.webhooks import filters, repository, service
from wholesale.webhooks.models import Webhook

log = logging.getLogger("wholesale.webhooks")

BATCH = 100  # events read per step of a delivery run
SIGNATURE = "X-Spark-Signature"
SIGNATURE_256 = "X-Wholesale-Signature-256"
TIMESTAMP = "X-Wholesale-Timestamp"
EVENT_ID = "X-Wholesale-Event-Id"
DELIVERY_ID = "X-Wholesale-Delivery-Id"

_sender = egress.Sender(user_agent="wholesale-webhooks/1")


@dataclass(frozen=True)
class Subscription:
    """What a run needs of a webhook, read once (plain values: no session needed)."""

    id: str
    partner_org_id: str
    name: str
    target_url: str
    resource: str
    event: str
    filter: str | None
    pairs: filters.Pairs
    secret: str | None
    status: str
    created: str | None
    created_by: str
    app_id: str
    position: tuple[int, int]

    @classmethod
    def of(cls, webhook: Webhook) -> "Subscription":
        return cls(
            id=webhook.id,
            partner_org_id=webhook.partner_org_id,
            name=webhook.name,
            target_url=webhook.target_url,
            resource=webhook.resource,
            event=webhook.event,
            filter=webhook.filter,
            pairs=filters.parse(webhook.filter),
            secret=webhook.secret,
            status=webhook.status,
            created=clock.isoformat(webhook.created),
            created_by=webhook.created_by,
            app_id=webhook.app_id,
            position=(webhook.position_txid, webhook.position_id),
        )


def event_data(row: Event) -> dict[str, Any]:
    """The `data` a delivery carries: the event's data, its id and type."""
    return {**row.data, "eventId": row.event_id, "type": row.type}


def wants(sub: Subscription, row: Event) -> bool:
    """True when the webhook's resource, event and filter all admit the event."""
    return (
        sub.resource in ("all", row.resource)
        and sub.event in ("all", row.event)
        and filters.matches(sub.pairs, event_data(row))
    )


def body_of(sub: Subscription, row: Event) -> bytes:
    """The delivery body: the webhook as Webex sends it, the event's resource, event, actor and data."""
    payload: dict[str, Any] = {
        "id": sub.id,
        "name": sub.name,
        "targetUrl": sub.target_url,
        "resource": row.resource,
        "event": row.event,
        "filter": sub.filter,
        "orgId": sub.partner_org_id,
        "createdBy": sub.created_by,
        "appId": sub.app_id,
        "ownedBy": "creator",
        "status": sub.status,
        "created": sub.created,
        "actorId": row.actor_id,
        "data": event_data(row),
    }
    if sub.filter is None:
        del payload["filter"]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str | None, body: bytes, event_id: str, delivery_id: str) -> dict[str, str]:
    """The delivery's headers: its ids, the time it was sent (unix seconds, the real clock: receivers compare
    it with theirs) and, with a secret, the Webex signature (hex HMAC-SHA1 of the body) and ours (hex
    HMAC-SHA256 of `timestamp.body`)."""
    timestamp = str(int(time.time()))
    headers = {TIMESTAMP: timestamp, EVENT_ID: event_id, DELIVERY_ID: delivery_id}
    if secret:
        key = secret.encode()
        headers[SIGNATURE] = hmac.new(key, body, hashlib.sha1).hexdigest()
        headers[SIGNATURE_256] = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return headers


def send(sub: Subscription, row: Event, delivery_id: str) -> egress.Outcome:
    """POST one event to the webhook: the target is checked again first (names may point elsewhere now)."""
    try:
        target = egress.check(sub.target_url, service.policy())
    except egress.Refused as exc:
        return egress.Outcome(None, f"targetUrl refused: {exc}", 0)
    body = body_of(sub, row)
    headers = signed_headers(sub.secret, body, row.event_id, delivery_id)
    return _sender.post(target, body, headers, timeout=get_settings().webhook_timeout_seconds)


def deliver_batch(webhook_id: str, limit: int = BATCH) -> str:
    """Deliver up to `limit` of the webhook's next events, in order, stopping at the first failure.

    Returns "more" (a full batch went: call again), "idle" (nothing more now), "failed" (backing off),
    "waiting" (its retry time has not come), "inactive" or "gone", or "moved" (another run got there first)."""
    db = get_database()
    with db.session(write=False) as session:
        webhook = repository.get_unscoped(session, webhook_id)
        if webhook is None:
            return "gone"
        if webhook.status != service.ACTIVE:
            return "inactive"
        if webhook.retry_at is not None and webhook.retry_at > clock.now():
            return "waiting"
        sub = Subscription.of(webhook)
        rows, _ = feed.read(session, sub.partner_org_id, sub.position, limit)
    committed = handled = sub.position  # committed: the webhook row's position; handled: up to which we are done
    for row in rows:
        if not wants(sub, row):
            handled = (row.txid, row.id)
            continue
        delivery_id = ids.new_id("WEBHOOK_DELIVERY")
        outcome = send(sub, row, delivery_id)
        with db.transaction() as session:
            status = service.record_attempt(
                session,
                webhook_id,
                expected=committed,
                handled=handled,
                event=(row.txid, row.id, row.event_id, row.type),
                outcome=outcome,
                delivery_id=delivery_id,
            )
        if status is None:
            return "gone"
        if status == "moved":
            return "moved"
        if not outcome.ok:
            return "failed"
        committed = handled = (row.txid, row.id)
        if status != service.ACTIVE:
            return "inactive"
    if handled != committed:
        with db.transaction() as session:
            if not service.advance(session, webhook_id, committed, handled):
                return "moved"
    return "more" if len(rows) == limit else "idle"


def deliver_all(webhook_id: str, max_batches: int = 1000) -> str:
    """Deliver batches until the webhook has nothing more (or fails); the last batch's outcome."""
    outcome = "idle"
    for _ in range(max_batches):
        outcome = deliver_batch(webhook_id)
        if outcome != "more":
            break
    return outcome


def job_key(webhook_id: str, position_txid: int, position_id: int, generation: int) -> str:
    """The delivery job's id: the same in every process for the same work, new once the position moved or
    another attempt is due (a failure or a reactivation raised the generation)."""
    return f"webhooks.deliver:{webhook_id}:{position_txid}.{position_id}:{generation}"


def due() -> Sequence[tuple[str, str]]:
    """(webhook id, job key) of every webhook with something to deliver now: one query."""
    with get_database().session(write=False) as session:
        rows = repository.due(session, clock.now())
    return [
        (webhook_id, job_key(webhook_id, txid, event_id, generation)) for webhook_id, txid, event_id, generation in rows
    ]


def enqueue_due(skip: dict[str, str] | None = None) -> dict[str, str]:
    """Enqueue a delivery job for every webhook with something to deliver (a job already enqueued under the
    same key, by this process or another, is left as it is); `skip`: keys this process enqueued last time.
    Returns the keys of this round."""
    found = dict(due())
    fresh = {wid: key for wid, key in found.items() if (skip or {}).get(wid) != key}
    if fresh:
        with get_database().transaction() as session:
            for webhook_id, key in fresh.items():
                enqueue(session, "webhooks.deliver", webhook_id, key=key, partition_key=webhook_id)
    return found


def run_pending() -> dict[str, str]:
    """One delivery pass in this thread, without jobs: every webhook with something due delivers until it has
    nothing more or fails. Returns each webhook's outcome (tests move the clock and call this)."""
    return {webhook_id: deliver_all(webhook_id) for webhook_id, _key in due()}


def redeliver(delivery_id: str) -> str:
    """Send a pending redelivery's event now, out of band (the webhook's position does not move)."""
    db = get_database()
    with db.session(write=False) as session:
        pending = repository.get_delivery_unscoped(session, delivery_id)
        if pending is None or pending.status != "pending":
            return "skipped"
        webhook = repository.get_unscoped(session, pending.webhook_id)
        if webhook is None:
            return "gone"
        row = repository.event_by_public_id(session, webhook.partner_org_id, pending.event_id)
        sub = Subscription.of(webhook)
    if sub.status != service.ACTIVE:
        outcome = egress.Outcome(None, "the webhook is inactive", 0)
    elif row is None:
        outcome = egress.Outcome(None, "the event is no longer kept", 0)
    else:
        outcome = send(sub, row, delivery_id)
    with db.transaction() as session:
        service.finish_redelivery(session, delivery_id, outcome)
    return "delivered" if outcome.ok else "failed"


# -- the poller -----------------------------------------------------------------------------------------------------

_paused = threading.Event()


def pause_polling() -> None:
    """Stop this process's poller from enqueuing (tests that drive delivery with `run_pending`)."""
    _paused.set()


def resume_polling() -> None:
    """Let this process's poller enqueue again."""
    _paused.clear()


def poll_forever() -> None:
    """Every `webhook_poll_seconds`, enqueue the delivery jobs that are due, until this process's workers stop."""
    last: dict[str, str] = {}
    while True:
        time.sleep(max(get_settings().webhook_poll_seconds, 0.05))
        if not runtime.is_launched():
            return
        if _paused.is_set():
            continue
        try:
            last = enqueue_due(last)
        except Exception:  # the next round tries again
            log.exception("webhook poll failed")
