"""The activity feed and the audit log."""

import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from wholesale.activity import audit, wording
from wholesale.events.models import Event
from wholesale.identity.roles import Role, Scope
from wholesale.kit.errors import DomainError
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.portal.web import (
    AUDIT_PAGE,
    NOTICES,
    PAGE_SIZE,
    field_errors,
    history_rows,
    page,
    partner_admin,
    render,
    signed_in,
)

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _feed_customer(event: Event) -> str | None:
    """The customer a feed event is about, when it is about one."""
    if event.resource == "customers":
        return event.subject_id
    customer = (event.data or {}).get("customerId")
    return str(customer) if customer else None


@router.get("/activity")
@page
def activity(request: Request, session: SessionDep, before: str = "") -> Response:
    """The partner's event feed (what its webhooks receive), newest first, linking each change to its customer."""
    tenant = partner_admin(request, session)
    events, more = audit.recent_events(session, tenant, audit.parse_before(before), PAGE_SIZE)
    names = audit.customer_names(session, tenant, sorted({c for e in events if (c := _feed_customer(e))}))
    items = [
        {
            "at": e.created,
            "resource": e.resource,
            "event": e.event,
            "type": e.type,
            "what": wording.describe(e.type, e.data),
            "who": wording.actor(
                e.actor_id,
                "reviewer" if e.resource == "compliance" and e.actor_id.startswith(("token:", "portal:")) else None,
            ),
            "customer": _feed_customer(e),
            "notice": e.type in NOTICES,
        }
        for e in events
    ]
    return render(
        request,
        "activity.html",
        items=items,
        names=names,
        next_url=f"/portal/activity?{urlencode({'before': events[-1].id})}" if more else None,
        first_url="/portal/activity" if before else None,
    )


def _utc(value: str) -> str | None:
    """A datetime-local field's value (no zone) read as UTC; a value with its zone stays as it is."""
    value = value.strip()
    if not value:
        return None
    zoned = value.endswith("Z") or (value[-6:-5] in ("+", "-") and value[-3:-2] == ":")
    return value if zoned else value + "Z"


AUDIT_FIELDS = ("from", "to", "actor", "target", "target_type", "action")


@router.get("/audit")
@page
def audit_log(request: Request, session: SessionDep) -> Response:
    """Operators: every audit row, newest first, narrowed by time range (UTC), actor, target and action."""
    principal = signed_in(request, Scope.PLATFORM_ADMIN, Role.OPERATOR)
    who = audit.reader(session, principal, None)
    values = {k: request.query_params.get(k, "").strip() for k in AUDIT_FIELDS}
    try:
        filters = audit.parse_filters(
            start=_utc(values["from"]),
            end=_utc(values["to"]),
            actor_id=values["actor"],
            target_id=values["target"],
            target_type=values["target_type"],
            action=values["action"],
        )
        before = audit.parse_before(request.query_params.get("before"))
    except DomainError as exc:
        return render(
            request,
            "audit_log.html",
            exc.status_code,
            rows=[],
            values=values,
            errors=field_errors(exc),
            target_types=audit.TARGET_TYPES,
            next_url=None,
            first_url=None,
        )
    rows, more = audit.read_page(session, who, filters, before, AUDIT_PAGE)
    query = {k: v for k, v in values.items() if v}
    return render(
        request,
        "audit_log.html",
        rows=history_rows(session, who, rows),
        values=values,
        errors={},
        target_types=audit.TARGET_TYPES,
        next_url=f"/portal/audit?{urlencode(query | {'before': rows[-1].id})}" if more else None,
        first_url=f"/portal/audit?{urlencode(query)}" if before else None,
    )


# ---------------------------------------------------------------------------------------------- billing
