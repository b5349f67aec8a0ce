"""Webhook jobs: deliver a webhook's events in order, send a redelivery, forget old deliveries; and the poller
that enqueues deliveries in every worker process."""

import logging
from datetime import datetime
from typing import Any

from wholesale.db.session import get_database
from wholesale.jobs import runtime
from wholesale.jobs.workflow import job, step
from wholesale.kit import clock
from wholesale.webhooks import delivery, service

log = logging.getLogger("wholesale.webhooks")

MAX_BATCHES = 20  # per run; the poller enqueues the next run from the new position


@runtime.on_launch
def poll_webhooks() -> None:
    """Look for webhooks with events to deliver every `webhook_poll_seconds` while workers run."""
    delivery.poll_forever()


@step()
def step_deliver_batch(webhook_id: str) -> str:
    """POST the next events in order, one transaction per event recording it and moving the position."""
    return delivery.deliver_batch(webhook_id)


@step()
def step_defer_webhook(webhook_id: str) -> None:
    """The run failed for a reason of ours: try again later, under a new job key."""
    with get_database().transaction() as session:
        service.defer(session, webhook_id)


@job("webhooks.deliver", queue="webhooks")
def deliver(webhook_id: str) -> str:
    """Deliver a webhook's pending events in feed order until it has none, fails (it backs off) or has sent
    MAX_BATCHES batches."""
    outcome = "idle"
    try:
        for _ in range(MAX_BATCHES):
            outcome = step_deliver_batch(webhook_id)
            if outcome != "more":
                break
    except Exception:
        log.exception("webhook %s: delivery run failed", webhook_id)
        step_defer_webhook(webhook_id)
        return "deferred"
    return outcome


@step()
def step_redeliver(delivery_id: str) -> str:
    """Send the redelivery and record what it came to."""
    return delivery.redeliver(delivery_id)


@job("webhooks.redeliver", queue="webhooks")
def redeliver(delivery_id: str) -> str:
    """Re-send one delivery's event now, beside the webhook's ordered deliveries."""
    return step_redeliver(delivery_id)


@step()
def step_purge_deliveries() -> int:
    """Delete deliveries older than the event retention."""
    with get_database().transaction() as session:
        return service.purge_deliveries(session, clock.now())


@job("webhooks.purge_deliveries")
def purge_deliveries(_scheduled: datetime, _context: Any) -> None:
    """Forget webhook deliveries older than `event_retention_days` (as the feed forgets their events)."""
    step_purge_deliveries()
