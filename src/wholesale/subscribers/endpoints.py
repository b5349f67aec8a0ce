"""Wholesale subscriber endpoints (wire-compatible with the Webex spec), bulk import and the consent link."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import JSONResponse

from wholesale.customers.schemas import PrecheckOut
from wholesale.identity.roles import Scope
from wholesale.kit import observability
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, list_response, on_the_loop, public_base
from wholesale.kit.links import link, links
from wholesale.kit.pagination import parse_page
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners import tenancy
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers import bulk, service
from wholesale.subscribers.schemas import (
    BulkImportAccepted,
    BulkImportCreate,
    BulkImportOut,
    ConsentOut,
    SubscriberCreate,
    SubscriberListOut,
    SubscriberOut,
    SubscriberUpdate,
    SubscriberValidate,
)

router = APIRouter(
    prefix="/v1", tags=["Wholesale Provisioning"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES
)
# Partner admins (for themselves or, with onBehalfOfSubPartnerOrgId, a sub-partner) and customer admins (their own
# org only, R4). A suspended partner may still read, precheck and delete, but not create or change.
Reader = Annotated[Tenant, Depends(tenancy.acting(Scope.SUBSCRIBERS_READ, customer_admins=True))]
Writer = Annotated[Tenant, Depends(tenancy.acting(Scope.SUBSCRIBERS_WRITE, writing=True, customer_admins=True))]
WriterWhileSuspended = Annotated[Tenant, Depends(tenancy.acting(Scope.SUBSCRIBERS_WRITE, customer_admins=True))]


SUBSCRIBER = "/v1/wholesale/subscribers/{subscriberId}"
# OpenAPI links: what can be done with the subscriber a response names.
_SUBSCRIBER_LINKS = {
    "GetSubscriber": link("GET", SUBSCRIBER, "Read it.", parameters={"subscriberId": "$response.body#/id"}),
    "UpdateSubscriber": link(
        "PUT", SUBSCRIBER, "Change its package.", parameters={"subscriberId": "$response.body#/id"}
    ),
    "RemoveSubscriber": link("DELETE", SUBSCRIBER, "Remove it.", parameters={"subscriberId": "$response.body#/id"}),
}
_RESEND_CONSENT = link(
    "POST",
    "/v1/subscribers/{subscriberId}/emails/consentMove",
    "Send the consent email again.",
    parameters={"subscriberId": "$response.body#/id"},
)


def _location(request: Request, subscriber_id: str) -> str:
    return f"{public_base(request)}/v1/wholesale/subscribers/{subscriber_id}"


@router.get("/wholesale/subscribers", response_model=SubscriberListOut)
def list_subscribers(
    request: Request,
    session: SessionDep,
    tenant: Reader,
    customerId: str | None = None,
    personId: str | None = None,
    externalCustomerId: str | None = None,
    email: str | None = None,
    status: str | None = None,
    after: str | None = None,
    lastStatusChange: str | None = None,
    sortBy: str | None = None,
    sortOrder: str | None = None,
    offset: str | None = None,
    max: str | None = None,
) -> JSONResponse:
    """List subscribers."""
    filters = service.list_filters(
        customer_id=customerId,
        person_id=personId,
        external_customer_id=externalCustomerId,
        email=email,
        status=status,
        after=after,
        last_status_change=lastStatusChange,
        sort_by=sortBy,
        sort_order=sortOrder,
    )
    page = service.list_subscribers(session, tenant, parse_page(max, offset, default=50, limit=100), filters)
    return list_response(request, page, list(page.items))


@router.post(
    "/wholesale/subscribers",
    response_model=SubscriberOut,
    responses={
        200: links(**_SUBSCRIBER_LINKS),
        202: {"model": SubscriberOut, **links(**_SUBSCRIBER_LINKS, ResendConsent=_RESEND_CONSENT)},
    },
)
@on_the_loop
def create_subscriber(
    request: Request,
    body: SubscriberCreate,
    session: SessionDep,
    tenant: Writer,
) -> JSONResponse:
    """Provision a subscriber (202 with status pending_user_migration when a free account must consent to the move)."""
    subscriber, rendered = service.create_subscriber(session, tenant, body)
    code = 202 if subscriber.status == "pending_user_migration" else 200
    return JSONResponse(rendered, status_code=code, headers={"Location": _location(request, subscriber.id)})


@router.post("/wholesale/subscribers/validate", response_model=PrecheckOut)
def validate_subscriber(body: SubscriberValidate, session: SessionDep, tenant: WriterWhileSuspended) -> JSONResponse:
    """Precheck a subscriber provisioning without writing anything."""
    return JSONResponse(service.precheck(session, tenant, body))


@router.post("/wholesale/subscribers/bulk", status_code=202, response_model=BulkImportAccepted)
def start_bulk(request: Request, body: BulkImportCreate, session: SessionDep, tenant: Writer) -> JSONResponse:
    """Import up to 1,000 subscribers in the background; poll the Location for per-row results."""
    started = bulk.start_bulk(session, tenant, body)
    url = f"{public_base(request)}/v1/wholesale/subscribers/bulk/{started.id}"
    return JSONResponse(
        {"id": started.id, "url": url, "status": started.status}, status_code=202, headers={"Location": url}
    )


@router.get("/wholesale/subscribers/bulk/{importId}", response_model=BulkImportOut)
def get_bulk(importId: str, session: SessionDep, tenant: Reader) -> JSONResponse:
    """Read a bulk import's progress and per-row results."""
    return JSONResponse(bulk.get_bulk(session, tenant, importId))


@router.get("/wholesale/subscribers/{subscriberId}", response_model=SubscriberOut)
def get_subscriber(request: Request, subscriberId: str, session: SessionDep, tenant: Reader) -> JSONResponse:
    """Read a subscriber."""
    body = service.get_subscriber(session, tenant, subscriberId)
    return JSONResponse(body, headers={"Location": _location(request, subscriberId)})


@router.put(
    "/wholesale/subscribers/{subscriberId}", response_model=SubscriberOut, responses={200: links(**_SUBSCRIBER_LINKS)}
)
@on_the_loop
def update_subscriber(
    request: Request,
    subscriberId: str,
    body: SubscriberUpdate,
    session: SessionDep,
    tenant: Writer,
) -> JSONResponse:
    """Change a subscriber's package (one unit moves from the old package to the new)."""
    rendered = service.update_subscriber(session, tenant, subscriberId, body)
    return JSONResponse(rendered, headers={"Location": _location(request, subscriberId)})


@router.delete("/wholesale/subscribers/{subscriberId}", status_code=204)
@on_the_loop
def delete_subscriber(subscriberId: str, session: SessionDep, tenant: WriterWhileSuspended) -> Response:
    """Remove a subscriber; its package unit is free at once."""
    service.delete_subscriber(session, tenant, subscriberId)
    return Response(status_code=204)


@router.post("/subscribers/{subscriberId}/emails/consentMove", status_code=204)
@router.post("/wholesale/subscribers/{subscriberId}/emails/consentMove", status_code=204)
def resend_consent(subscriberId: str, session: SessionDep, tenant: Writer) -> Response:
    """Send the consent-to-move email again to a pending subscriber."""
    service.resend_consent(session, tenant, subscriberId)
    return Response(status_code=204)


# The consent link's token is a credential: the request log shows its path as /v1/subscribers/consent/***.
observability.secret_path("/v1/subscribers/consent/")


@router.post("/subscribers/consent/{token}", response_model=ConsentOut)
def accept_consent(token: str, session: SessionDep) -> JSONResponse:
    """Accept the move of a free account into the customer's org (the link of the consent email; the token is the credential)."""
    subscriber = service.accept_consent(session, token)
    return JSONResponse({"subscriberId": subscriber.id, "status": subscriber.status})
