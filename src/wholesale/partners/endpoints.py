"""GET /v1/wholesale/subPartners and GET /v1/organizations/{orgId}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import JSONResponse

from wholesale.identity.auth import require
from wholesale.identity.roles import Scope
from wholesale.identity.schemas import OrganizationRead, Principal
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, list_response
from wholesale.kit.pagination import parse_page
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners import service
from wholesale.partners.schemas import SubPartnerList

router = APIRouter(
    prefix="/v1/wholesale", tags=["Wholesale Provisioning"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES
)


@router.get("/subPartners", response_model=SubPartnerList)
def list_sub_partners(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Scope.SUB_PARTNERS_READ))],
    provisioningState: str | None = None,
    offset: Annotated[str | None, Query()] = None,
    max: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """List the calling partner's sub-partners."""
    page = service.list_sub_partners(
        session, principal, parse_page(max, offset, default=100, limit=100), provisioningState
    )
    return list_response(request, page, list(page.items))


organizations_router = APIRouter(
    prefix="/v1/organizations", tags=["Organizations"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES
)


@organizations_router.get("/{orgId}", response_model=OrganizationRead, response_model_exclude_none=True)
def get_organization(
    orgId: str, session: SessionDep, principal: Annotated[Principal, Depends(require(Scope.ORGANIZATIONS_READ))]
) -> OrganizationRead:
    """Read an identity organisation (its partner, its own admins, and operators may): where a customer org's
    country (R16) is visible. Here rather than in identity, because who may read an org follows the partner tree."""
    return service.read_organization(session, principal, orgId)
