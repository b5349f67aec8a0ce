"""Tenancy, resolved once per request: whom a caller acts for, and the FastAPI dependency that hands it to services.

A partner admin acts for its own partner or, with `onBehalfOfSubPartnerOrgId`, for one of its sub-partners
(Webex semantics); a customer admin is confined to its own org (R4); operators and reviewers act for the
platform. Services take a `Tenant` and repositories scope their reads by it (`get_owned(session, tenant, id)`),
so a query that forgets the tenant does not type-check rather than silently reading everyone's rows.
"""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from wholesale.identity.auth import require
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit.errors import Forbidden
from wholesale.kit.http import SessionDep, run_blocking
from wholesale.partners import repository

OnBehalfOf = Annotated[
    str | None,
    Query(description="Act for this sub-partner of the calling partner (Webex semantics)."),
]

PLATFORM_ROLES = frozenset({Role.OPERATOR, Role.REVIEWER})


@dataclass(frozen=True)
class Tenant:
    """Whom a request acts for: a partner (partner admins), one customer org (customer admins), or the platform."""

    principal: Principal
    partner_org_id: str | None = None
    org_id: str | None = None

    @property
    def is_platform(self) -> bool:
        """True for operators and reviewers, who see every partner's records."""
        return self.partner_org_id is None and self.org_id is None

    @property
    def partner(self) -> str:
        """The partner acted for; only partner admins have one."""
        if self.partner_org_id is None:
            raise Forbidden(f"Role {self.principal.role} cannot use the wholesale partner API.")
        return self.partner_org_id

    def owns(self, partner_org_id: str, org_id: str | None) -> bool:
        """True when a record of this partner and org is visible to the tenant."""
        if self.org_id is not None:
            return org_id == self.org_id
        if self.partner_org_id is not None:
            return partner_org_id == self.partner_org_id
        return True


def resolve(
    session: Session,
    principal: Principal,
    on_behalf_of: str | None,
    *,
    writing: bool,
    customer_admins: bool = False,
    platform: bool = False,
) -> Tenant:
    """Resolve the caller's tenant; a suspended sub-partner may read and delete only.

    `customer_admins` admits customer admins (confined to their org, R4); `platform` admits operators and
    reviewers. Anyone else who is not a partner admin is refused with 403.
    """
    if customer_admins and principal.role == Role.CUSTOMER_ADMIN:
        return Tenant(principal, org_id=principal.org_id)
    if platform and principal.role in PLATFORM_ROLES:
        return Tenant(principal)
    if principal.role != Role.PARTNER_ADMIN:
        raise Forbidden(f"Role {principal.role} cannot use the wholesale partner API.")
    partner_org_id = principal.org_id
    if on_behalf_of:
        sub = repository.get_partner(session, on_behalf_of)
        if sub is None or sub.parent_org_id != principal.org_id:
            raise Forbidden("onBehalfOfSubPartnerOrgId is not a sub-partner of the calling partner.")
        partner_org_id = sub.org_id
    if writing and repository.provisioning_state(session, partner_org_id) == "suspended":
        raise Forbidden("The partner is suspended: it may delete customers but not create or change them.")
    return Tenant(principal, partner_org_id=partner_org_id)


def acting(
    scope: Scope, *, writing: bool = False, customer_admins: bool = False, platform: bool = False
) -> Callable[..., Awaitable[Tenant]]:
    """Dependency factory: the caller must hold `scope`; the endpoint receives the resolved `Tenant`."""
    principal_dependency = require(scope)

    async def dependency(
        principal: Annotated[Principal, Depends(principal_dependency)],
        session: SessionDep,
        onBehalfOfSubPartnerOrgId: OnBehalfOf = None,
    ) -> Tenant:
        work = functools.partial(
            resolve,
            session,
            principal,
            onBehalfOfSubPartnerOrgId,
            writing=writing,
            customer_admins=customer_admins,
            platform=platform,
        )
        # Only a sub-partner or a write needs the partner row; anything else resolves on the event loop.
        if writing or onBehalfOfSubPartnerOrgId:
            return await run_blocking(work)
        return work()

    dependency.__name__ = f"tenant_{scope.name.lower()}{'_writing' if writing else ''}"
    return dependency
