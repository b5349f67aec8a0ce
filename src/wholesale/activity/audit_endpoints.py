"""GET /v1/auditEvents: the audit log, for operators (everything) and partner admins (their tree)."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse

from wholesale.activity import audit
from wholesale.activity.audit_schemas import AuditEventList
from wholesale.config import get_settings
from wholesale.identity.auth import act_as, authenticate_request
from wholesale.identity.schemas import Principal
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.schemas import ERROR_RESPONSES

router = APIRouter(tags=["Audit log"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES)


async def _caller(request: Request) -> Principal:
    """The authenticated caller, whatever its scopes: who may read what is the audit log's own rule."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await run_in_threadpool(authenticate_request, request)
    act_as(principal)
    return principal


Caller = Annotated[Principal, Depends(_caller)]


@router.get("/v1/auditEvents", response_model=AuditEventList)
def list_audit_events(
    request: Request,
    session: SessionDep,
    principal: Caller,
    start: Annotated[
        str | None, Query(alias="from", description="Rows at or after this instant (ISO-8601 with zone).")
    ] = None,
    to: Annotated[str | None, Query(description="Rows before this instant (ISO-8601 with zone).")] = None,
    actorId: Annotated[str | None, Query(description="Rows of this actor (e.g. token:<id>, job:<name>).")] = None,
    targetId: Annotated[str | None, Query(description="Rows about this target id.")] = None,
    targetType: Annotated[str | None, Query(description="Rows about this kind of target (customer, ...).")] = None,
    action: Annotated[
        str | None, Query(description="An action (customer.settled) or a prefix ending in . or * (customer.).")
    ] = None,
    max: Annotated[str | None, Query(description="At most this many rows (default 100, up to 1000).")] = None,
    before: Annotated[
        str | None, Query(description="Rows older than this row id (the Link header's next page).")
    ] = None,
    onBehalfOfSubPartnerOrgId: Annotated[
        str | None, Query(description="Partner admins: the rows of this sub-partner only.")
    ] = None,
) -> JSONResponse:
    """The audit log, newest first: operators see every row; a partner admin the rows of its own org and its
    sub-partners' (with `onBehalfOfSubPartnerOrgId`, that sub-partner's), of compliance rows only what its event
    feed shows. Anyone else gets 403. Further pages by the `Link` header (rel="next"), by row id: rows written
    meanwhile never shift a page."""
    items, next_before = audit.list_items(
        session,
        principal,
        on_behalf_of=onBehalfOfSubPartnerOrgId,
        query={
            "start": start,
            "end": to,
            "actor_id": actorId,
            "target_id": targetId,
            "target_type": targetType,
            "action": action,
        },
        before=before,
        max_=max,
    )
    response = JSONResponse({"items": [{k: v for k, v in item.items() if v is not None} for item in items]})
    if next_before is not None:
        response.headers["Link"] = _next_link(request, next_before)
    return response


def _next_link(request: Request, before: int) -> str:
    """The next page: every filter of this request, `before` the last row shown."""
    query: list[tuple[str, Any]] = [(k, v) for k, v in QueryParams(request.url.query).multi_items() if k != "before"]
    query.append(("before", str(before)))
    configured = get_settings().public_base_url
    base = configured.rstrip("/") + request.url.path if configured else str(request.url.replace(query=""))
    return f'<{base}?{urlencode(query)}>; rel="next"'
