"""GET /v1/wholesale/events: the partner's gap-free event feed (docs/EVENTS.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from wholesale.activity import service
from wholesale.activity.schemas import EventPage
from wholesale.identity.roles import Scope
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners.tenancy import Tenant, acting

router = APIRouter(tags=["Events"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES)
Reader = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_READ))]


@router.get("/v1/wholesale/events", response_model=EventPage, response_model_exclude_none=True)
def list_events(
    session: SessionDep,
    tenant: Reader,
    after: Annotated[str | None, Query(description="The `cursor` of the previous page; omit to start.")] = None,
    max: Annotated[str | None, Query(description="At most this many events (default 100, up to 1000).")] = None,
) -> EventPage:
    """The partner's events in commit order after a cursor; store the returned `cursor` and pass it as `after`:
    a client that does so never misses an event nor sees one twice (events are kept 30 days by default)."""
    return EventPage.model_validate(service.read_feed(session, tenant, after, max))
