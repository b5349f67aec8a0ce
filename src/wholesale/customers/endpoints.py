"""Wholesale customer endpoints (wire-compatible with the Webex spec) and customer templates."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.responses import JSONResponse

from wholesale.customers import service, templates
from wholesale.customers.schemas import (
    CustomerCreate,
    CustomerListOut,
    CustomerOut,
    CustomerUpdate,
    CustomerValidate,
    PrecheckOut,
    ResourceUrlOut,
    TemplateIn,
    TemplateListOut,
    TemplateOut,
)
from wholesale.identity.roles import Scope
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, list_response, on_the_loop, public_base
from wholesale.kit.links import LAST_SEGMENT, link, links
from wholesale.kit.pagination import parse_page
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners.tenancy import Tenant, acting

router = APIRouter(
    prefix="/v1/wholesale", tags=["Wholesale Provisioning"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES
)
Reader = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_READ))]
# A suspended sub-partner may still precheck and delete, but not create or change (Webex semantics).
Deleter = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_WRITE))]
Writer = Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_WRITE, writing=True))]


def _accepted(request: Request, customer_id: str) -> JSONResponse:
    """202 with the customer's URL in the body and the Location. A Response, not a model: the route then commits in
    the endpoint's own worker thread, not in a thread-pool hop of its own after FastAPI has serialised a model."""
    url = f"{public_base(request)}/v1/wholesale/customers/{customer_id}"
    # A parent acting for a sub-partner reaches the customer only on its behalf: the link must say so, or it 404s
    # for the very caller who made it.
    if on_behalf := request.query_params.get("onBehalfOfSubPartnerOrgId"):
        url += "?" + urlencode({"onBehalfOfSubPartnerOrgId": on_behalf})
    return JSONResponse({"url": url}, status_code=202, headers={"Location": url})


CUSTOMER = "/v1/wholesale/customers/{customerId}"
SUBSCRIBERS = "/v1/wholesale/subscribers"
# OpenAPI links: the customer a 202 names (its id ends the Location), and what can be done with it next.
_FROM_LOCATION = "$response.header.Location" + LAST_SEGMENT
_CUSTOMER_LINKS = links(
    GetCustomer=link(
        "GET", CUSTOMER, "Poll the customer until its status settles.", parameters={"customerId": _FROM_LOCATION}
    ),
    UpdateCustomer=link("PUT", CUSTOMER, "Change its packages.", parameters={"customerId": _FROM_LOCATION}),
    RemoveCustomer=link("DELETE", CUSTOMER, "Remove it.", parameters={"customerId": _FROM_LOCATION}),
    ProvisionSubscriber=link(
        "POST",
        SUBSCRIBERS,
        "Provision a subscriber once it is provisioned.",
        requestBody={"customerId": _FROM_LOCATION},
    ),
    ListSubscribers=link("GET", SUBSCRIBERS, "Its subscribers.", parameters={"customerId": _FROM_LOCATION}),
)


def _statuses(values: list[str]) -> list[str]:
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


@router.get("/customers", response_model=CustomerListOut)
def list_customers(
    request: Request,
    session: SessionDep,
    tenant: Reader,
    externalId: str | None = None,
    orgId: str | None = None,
    status: Annotated[list[str], Query(description="Comma list or repeated.")] = [],  # noqa: B006
    offset: str | None = None,
    max: str | None = None,
    includePackageLicenseInfo: bool = False,
) -> JSONResponse:
    """List the partner's customers."""
    page = service.list_customers(
        session,
        tenant,
        parse_page(max, offset, default=100, limit=1000),
        external_id=externalId,
        org_id=orgId,
        statuses=_statuses(status),
        include_licenses=includePackageLicenseInfo,
    )
    return list_response(request, page, list(page.items))


@router.post("/customers", status_code=202, response_model=ResourceUrlOut, responses={202: _CUSTOMER_LINKS})
@on_the_loop
def create_customer(request: Request, body: CustomerCreate, session: SessionDep, tenant: Writer) -> JSONResponse:
    """Provision a customer (asynchronously: poll the URL until the status settles)."""
    customer = service.create_customer(session, tenant, body)
    return _accepted(request, customer.id)


@router.post("/customers/validate")
def validate_customer(body: CustomerValidate, session: SessionDep, tenant: Deleter) -> PrecheckOut:
    """Precheck a customer provisioning without writing anything."""
    return PrecheckOut.model_validate(service.precheck(session, tenant, body))


# Optional fields a customer does not have are left out (as Webex does), not sent as null.
@router.get(
    "/customers/{customerId}",
    response_model_exclude_unset=True,
    responses={
        200: links(
            ProvisionSubscriber=link(
                "POST",
                SUBSCRIBERS,
                "Provision a subscriber (once the status is provisioned).",
                requestBody={"customerId": "$request.path.customerId"},
            )
        )
    },
)
def get_customer(
    request: Request,
    response: Response,
    customerId: str,
    session: SessionDep,
    tenant: Reader,
    includePackageLicenseInfo: bool = False,
) -> CustomerOut:
    """Read a customer."""
    body = service.get_customer(session, tenant, customerId, include_licenses=includePackageLicenseInfo)
    response.headers["Location"] = f"{public_base(request)}/v1/wholesale/customers/{customerId}"
    return CustomerOut.model_validate(body)


@router.put("/customers/{customerId}", status_code=202, response_model=ResourceUrlOut, responses={202: _CUSTOMER_LINKS})
@on_the_loop
def update_customer(
    request: Request, customerId: str, body: CustomerUpdate, session: SessionDep, tenant: Writer
) -> JSONResponse:
    """Update a customer's packages, address or limits (asynchronously)."""
    customer = service.update_customer(session, tenant, customerId, body)
    return _accepted(request, customer.id)


@router.delete("/customers/{customerId}", status_code=202, response_class=Response)
@on_the_loop
def delete_customer(customerId: str, session: SessionDep, tenant: Deleter) -> Response:
    """Remove a customer (asynchronously: status `deleting`, then 404)."""
    service.delete_customer(session, tenant, customerId)
    return Response(status_code=202)


@router.get("/customerTemplates", response_model=TemplateListOut)
def list_templates(
    request: Request,
    session: SessionDep,
    tenant: Reader,
    offset: str | None = None,
    max: str | None = None,
) -> JSONResponse:
    """List the partner's customer templates (their ids are provisioningIds)."""
    page = templates.list_templates(session, tenant, parse_page(max, offset, default=100, limit=1000))
    return list_response(request, page, list(page.items))


@router.post(
    "/customerTemplates",
    status_code=201,
    response_model_exclude_unset=True,
    responses={
        201: links(
            ProvisionCustomer=link(
                "POST",
                "/v1/wholesale/customers",
                "Provision a customer with this template (its id is the provisioningId).",
                requestBody={"provisioningId": "$response.body#/id"},
            )
        )
    },
)
def create_template(body: TemplateIn, session: SessionDep, tenant: Writer) -> TemplateOut:
    """Create a customer template."""
    return TemplateOut.model_validate(templates.create_template(session, tenant, body))


@router.get("/customerTemplates/{templateId}", response_model_exclude_unset=True)
def get_template(templateId: str, session: SessionDep, tenant: Reader) -> TemplateOut:
    """Read a customer template."""
    return TemplateOut.model_validate(templates.get_template(session, tenant, templateId))


@router.put("/customerTemplates/{templateId}", response_model_exclude_unset=True)
def replace_template(
    templateId: str,
    body: TemplateIn,
    session: SessionDep,
    tenant: Writer,
) -> TemplateOut:
    """Replace a customer template's settings."""
    return TemplateOut.model_validate(templates.replace_template(session, tenant, templateId, body))


@router.delete("/customerTemplates/{templateId}", status_code=204, response_class=Response)
def delete_template(templateId: str, session: SessionDep, tenant: Writer) -> Response:
    """Delete a customer template no customer uses."""
    templates.delete_template(session, tenant, templateId)
    return Response(status_code=204)
