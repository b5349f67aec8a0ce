"""Partners: creation, sub-partners, and whom a request acts for."""

import secrets

from sqlalchemy.orm import Session

from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal
from wholesale.kit import clock
from wholesale.kit.errors import BadRequest, Forbidden, NotFound
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.partners import repository
from wholesale.partners.models import Partner
from wholesale.partners.schemas import SubPartnerRead


def create_partner(session: Session, *, name: str, parent_org_id: str | None = None) -> Partner:
    """Create a partner org (a sub-partner when a parent is given) with an active wholesale subscription."""
    if not name.strip():
        raise BadRequest("Partner name must not be empty.")
    if parent_org_id is not None:
        parent = repository.get_partner(session, parent_org_id)
        if parent is None:
            raise NotFound(f"Parent partner {parent_org_id} not found.")
        if parent.parent_org_id is not None:
            raise BadRequest("A sub-partner cannot have sub-partners of its own.")
    org = identity.create_org(session, kind="partner", display_name=name.strip())
    now = clock.now()
    partner = Partner(
        org_id=org.id,
        parent_org_id=parent_org_id,
        subscription_id="Sub" + "".join(secrets.choice("0123456789") for _ in range(8)),
        provisioning_state="active",
        created=now,
        billing_start_date=now,
    )
    session.add(partner)
    session.flush()
    events.record(
        session,
        subject_type="partner",
        subject_id=org.id,
        action="partner.created",
        partner_org_id=parent_org_id or org.id,
        data={"name": org.display_name, "parentOrgId": parent_org_id},
    )
    return partner


def resolve_acting_partner(session: Session, principal: Principal, on_behalf_of: str | None) -> str:
    """Return the partner org a wholesale request acts for; onBehalfOfSubPartnerOrgId must name a sub-partner."""
    if principal.role != Role.PARTNER_ADMIN:
        raise Forbidden(f"Role {principal.role} cannot use the wholesale partner API.")
    if not on_behalf_of:
        return principal.org_id
    sub = repository.get_partner(session, on_behalf_of)
    if sub is None or sub.parent_org_id != principal.org_id:
        raise Forbidden("onBehalfOfSubPartnerOrgId is not a sub-partner of the calling partner.")
    return sub.org_id


def list_sub_partners(
    session: Session, principal: Principal, params: PageParams, provisioning_state: str | None
) -> Page[SubPartnerRead]:
    """List the calling partner's sub-partners."""
    partner_org_id = resolve_acting_partner(session, principal, None)
    if provisioning_state not in (None, "", "active", "suspended"):
        raise BadRequest("provisioningState: must be one of active, suspended.")
    rows = repository.list_sub_partners(session, partner_org_id, params, provisioning_state or None)
    page = page_from_rows(rows, params)
    return Page(
        items=[
            SubPartnerRead(
                orgId=p.org_id,
                subscriptionId=p.subscription_id,
                provisioningState=p.provisioning_state,
                created=clock.isoformat(p.created),
                billingStartDate=clock.isoformat(p.billing_start_date),
            )
            for p in page.items
        ],
        params=params,
        has_more=page.has_more,
    )
