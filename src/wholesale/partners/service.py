"""Partners: creation, sub-partners, and whom a request acts for."""

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.identity.models import Org
from wholesale.identity.roles import Role
from wholesale.identity.schemas import OrganizationRead, Principal
from wholesale.kit import clock
from wholesale.kit.errors import BadRequest, NotFound
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.partners import repository, tenancy
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


def list_sub_partners(
    session: Session, principal: Principal, params: PageParams, provisioning_state: str | None
) -> Page[SubPartnerRead]:
    """List the calling partner's sub-partners."""
    partner_org_id = tenancy.resolve(session, principal, None, writing=False).partner
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


def sub_partner_choices(session: Session, partner_org_id: str, limit: int = 100) -> list[tuple[str, str, str]]:
    """A partner's sub-partners as (org id, name, provisioning state), by name: what the portal's switcher lists."""
    rows = session.execute(
        sa.select(Partner.org_id, Org.display_name, Partner.provisioning_state)
        .join(Org, Org.id == Partner.org_id)
        .where(Partner.parent_org_id == partner_org_id)
        .order_by(Org.display_name, Partner.org_id)
        .limit(limit)
    )
    return [(org_id, name, state) for org_id, name, state in rows]


def read_organization(session: Session, principal: Principal, org_id: str) -> OrganizationRead:
    """Return an identity org to its partner, its own admins, or operators; anyone else gets 404."""
    org = identity.repository.get_org(session, org_id)
    allowed = org is not None and (
        principal.role == Role.OPERATOR
        or org.id == principal.org_id
        or (
            principal.role == Role.PARTNER_ADMIN
            and org.managed_by_org_id is not None
            and _partner_manages(session, principal.org_id, org.managed_by_org_id)
        )
    )
    if org is None or not allowed:
        raise NotFound(f"Organization {org_id} not found.")
    return OrganizationRead(
        id=org.id,
        displayName=org.display_name,
        countryCode=org.country_code,
        language=org.language,
        created=clock.isoformat(org.created),
    )


def _partner_manages(session: Session, partner_org_id: str, managing_org_id: str) -> bool:
    """True when the managing org is the partner itself or one of its sub-partners."""
    if managing_org_id == partner_org_id:
        return True
    sub = repository.get_partner(session, managing_org_id)
    return sub is not None and sub.parent_org_id == partner_org_id
