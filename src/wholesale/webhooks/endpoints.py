"""/v1/webhooks: the Webex webhook operations for a partner's events, its deliveries and redelivery (docs/WEBHOOKS.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.responses import JSONResponse

from wholesale.identity.roles import Scope
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, list_response
from wholesale.kit.pagination import parse_page
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners.tenancy import Tenant, acting
from wholesale.webhooks import service
from wholesale.webhooks.schemas import (
    DeliveryListOut,
    DeliveryOut,
    WebhookCreate,
    WebhookListOut,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(prefix="/v1/webhooks", tags=["Webhooks"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES)
Reader = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_READ))]
Writer = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_WRITE, writing=True))]
# Deleting works for a suspended partner too (as customers' deletes do).
Deleter = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_WRITE))]
Max = Annotated[str | None, Query(description="At most this many items (default 100, up to 100).")]
Offset = Annotated[str | None, Query(description="Ours: where the Link header's next page starts.")]


@router.post("", response_model=WebhookOut, response_model_exclude_none=True)
def create_webhook(body: WebhookCreate, session: SessionDep, tenant: Writer) -> WebhookOut:
    """Create a webhook: the partner's events from now on are POSTed to `targetUrl` (https, public), in order,
    signed with `secret`."""
    return WebhookOut.model_validate(service.read(service.create_webhook(session, tenant, body)))


@router.get("", response_model=WebhookListOut)
def list_webhooks(
    request: Request, session: SessionDep, tenant: Reader, max: Max = None, offset: Offset = None
) -> JSONResponse:
    """The partner's webhooks, oldest first (further pages by the `Link` header)."""
    page = service.list_webhooks(session, tenant, parse_page(max, offset, default=100, limit=100))
    return list_response(request, page, [service.read(w) for w in page.items])


@router.get("/{webhookId}", response_model=WebhookOut, response_model_exclude_none=True)
def get_webhook(webhookId: str, session: SessionDep, tenant: Reader) -> WebhookOut:
    """A webhook (404 when it is not the partner's)."""
    return WebhookOut.model_validate(service.read(service.get_webhook(session, tenant, webhookId)))


@router.put("/{webhookId}", response_model=WebhookOut, response_model_exclude_none=True)
def update_webhook(webhookId: str, body: WebhookUpdate, session: SessionDep, tenant: Writer) -> WebhookOut:
    """Change a webhook's name, target, secret or status (`inactive` stops deliveries; `active` resumes them from
    the first event not delivered)."""
    return WebhookOut.model_validate(service.read(service.update_webhook(session, tenant, webhookId, body)))


@router.delete("/{webhookId}", status_code=204, response_class=Response)
def delete_webhook(webhookId: str, session: SessionDep, tenant: Deleter) -> Response:
    """Delete a webhook and its delivery history."""
    service.delete_webhook(session, tenant, webhookId)
    return Response(status_code=204)


@router.get("/{webhookId}/deliveries", response_model=DeliveryListOut)
def list_deliveries(
    webhookId: str, request: Request, session: SessionDep, tenant: Reader, max: Max = None, offset: Offset = None
) -> JSONResponse:
    """The webhook's deliveries, newest first: each POST of an event, what the receiver answered or why it failed."""
    page = service.list_deliveries(session, tenant, webhookId, parse_page(max, offset, default=100, limit=100))
    return list_response(request, page, [service.read_delivery(d) for d in page.items])


@router.post(
    "/{webhookId}/deliveries/{deliveryId}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    response_model_exclude_none=True,
)
def redeliver(webhookId: str, deliveryId: str, session: SessionDep, tenant: Writer) -> DeliveryOut:
    """Send that delivery's event again now, as a new delivery (`pending` until it is sent); the webhook's
    ordered deliveries go on beside it."""
    delivery = service.request_redelivery(session, tenant, webhookId, deliveryId)
    return DeliveryOut.model_validate(service.read_delivery(delivery))
