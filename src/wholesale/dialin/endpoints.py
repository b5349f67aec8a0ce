"""Operator telephony API (call-in numbers, location overrides) and the meetings sites API (R17, R18)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import JSONResponse

from wholesale.config import get_settings
from wholesale.dialin import service
from wholesale.dialin.schemas import CallInNumbersOut, LocationOverridesOut, PinIn, SiteListOut, SiteOut
from wholesale.identity.auth import require
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit.errors import Forbidden
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.pagination import next_link, parse_page
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners import tenancy
from wholesale.partners.tenancy import OnBehalfOf, Tenant

router = APIRouter(route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES)
Operator = Annotated[Principal, Depends(require(Scope.PLATFORM_ADMIN, Role.OPERATOR))]


def site_tenant(
    principal: Annotated[Principal, Depends(require(Scope.ORGANIZATIONS_READ))],
    session: SessionDep,
    onBehalfOfSubPartnerOrgId: OnBehalfOf = None,
) -> Tenant | None:
    """Every role that may read a site holds organizations_read; the service decides which sites each tenant
    sees. A sub-partner that is not the caller's sees nothing (404 rather than 403, so ids are not revealed)."""
    try:
        return tenancy.resolve(
            session, principal, onBehalfOfSubPartnerOrgId, writing=False, customer_admins=True, platform=True
        )
    except Forbidden:
        return None


SiteReader = Annotated[Tenant | None, Depends(site_tenant)]

_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.get("/v1/telephony/callInNumbers", tags=["Telephony"])
def get_call_in_numbers(session: SessionDep, principal: Operator) -> CallInNumbersOut:
    """Read the telephony domain in order."""
    return CallInNumbersOut.model_validate(service.read_domain(session))


@router.put("/v1/telephony/callInNumbers", tags=["Telephony"], openapi_extra=_UPLOAD)
def put_call_in_numbers(
    request: Request, response: Response, raw: RawBody, session: SessionDep, principal: Operator
) -> CallInNumbersOut:
    """Replace the telephony domain (JSON items or text/csv); affected sites are re-derived by a job."""
    numbers = service.parse_domain_body(raw, request.headers.get("content-type", ""))
    response.headers["X-Rederive-Job"] = service.replace_domain(session, numbers)
    return CallInNumbersOut.model_validate(service.read_domain(session))


@router.get("/v1/telephony/locationOverrides", tags=["Telephony"])
def get_location_overrides(session: SessionDep, principal: Operator) -> LocationOverridesOut:
    """Read the operator's country -> location overrides."""
    return LocationOverridesOut.model_validate(service.read_overrides(session))


@router.put("/v1/telephony/locationOverrides", tags=["Telephony"], openapi_extra=_UPLOAD)
def put_location_overrides(
    request: Request, raw: RawBody, session: SessionDep, principal: Operator
) -> LocationOverridesOut:
    """Replace the country -> location overrides (JSON items or text/csv `country,location`)."""
    service.replace_overrides(session, service.parse_overrides_body(raw, request.headers.get("content-type", "")))
    return LocationOverridesOut.model_validate(service.read_overrides(session))


@router.get("/v1/meetings/sites", tags=["Meetings Sites"], response_model=SiteListOut)
def list_sites(
    request: Request,
    session: SessionDep,
    tenant: SiteReader,
    orgId: str | None = None,
    offset: str | None = None,
    max: str | None = None,
) -> JSONResponse:
    """List the meetings sites the caller may read (optionally of one org)."""
    page = service.list_sites(session, tenant, parse_page(max, offset, default=100, limit=1000), org_id=orgId)
    # Not list_response: it drops None, and defaultCallInNumber is an explicit null.
    response = JSONResponse({"items": list(page.items)})
    link = next_link(request.url, page, get_settings().public_base_url)
    if link:
        response.headers["Link"] = link
    return response


# `warning` is left out when there is none; `defaultCallInNumber` stays an explicit null.
@router.get("/v1/meetings/sites/{siteId}", tags=["Meetings Sites"], response_model_exclude_unset=True)
def get_site(siteId: str, session: SessionDep, tenant: SiteReader) -> SiteOut:
    """Read a meetings site and its default global call-in number."""
    return SiteOut.model_validate(service.get_site(session, tenant, siteId))


@router.put(
    "/v1/meetings/sites/{siteId}/defaultCallInNumber", tags=["Meetings Sites"], response_model_exclude_unset=True
)
def pin_default_call_in_number(siteId: str, body: PinIn, session: SessionDep, principal: Operator) -> SiteOut:
    """Pin the site's default call-in number to a domain number, or unpin it with null (operator)."""
    return SiteOut.model_validate(service.pin_number(session, principal, siteId, body.number))
