"""GET /v1/organizations/{orgId}: where a customer org's country (R16) is visible."""

from typing import Annotated

from fastapi import APIRouter, Depends

from wholesale.deps import SessionDep, require
from wholesale.identity import service
from wholesale.identity.roles import Scope
from wholesale.identity.schemas import OrganizationRead, Principal
from wholesale.kit.http import UnitOfWorkRoute

router = APIRouter(prefix="/v1/organizations", tags=["Organizations"], route_class=UnitOfWorkRoute)


@router.get("/{orgId}", response_model=OrganizationRead, response_model_exclude_none=True)
def get_organization(
    orgId: str, session: SessionDep, principal: Annotated[Principal, Depends(require(Scope.ORGANIZATIONS_READ))]
) -> OrganizationRead:
    """Read an identity organisation (its partner, its own admins, and operators may)."""
    return service.read_organization(session, principal, orgId)
