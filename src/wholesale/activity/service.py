"""Reading the event feed for a tenant."""

from typing import Any

from sqlalchemy.orm import Session

from wholesale.events import feed
from wholesale.events.models import Event
from wholesale.kit import clock
from wholesale.kit.pagination import parse_page
from wholesale.partners.tenancy import Tenant

MAX_EVENTS = 1000


def read_feed(session: Session, tenant: Tenant, after: str | None, max_: str | None) -> dict[str, Any]:
    """The partner's events after a cursor, oldest first, and the cursor to read on from."""
    limit = parse_page(max_, None, default=100, limit=MAX_EVENTS).max
    rows, position = feed.read(session, tenant.partner, feed.decode(after), limit)
    return {"items": [as_item(row) for row in rows], "cursor": feed.encode(position)}


def as_item(row: Event) -> dict[str, Any]:
    """An event as the feed and webhooks show it."""
    return {
        "id": row.event_id,
        "resource": row.resource,
        "event": row.event,
        "type": row.type,
        "created": clock.isoformat(row.created),
        "orgId": row.partner_org_id,
        "actorId": row.actor_id,
        "trackingId": row.tracking_id,
        "data": row.data,
    }
