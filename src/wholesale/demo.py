"""Seed a demo partner for `make run`: idempotent, prints fresh tokens each time."""

import sqlalchemy as sa

from wholesale.config import get_settings
from wholesale.customers.models import CustomerTemplate
from wholesale.customers.schemas import TemplateIn
from wholesale.customers.templates import add_template
from wholesale.db.session import get_database
from wholesale.dialin import service as dialin
from wholesale.dialin.telephony import load_demo_numbers
from wholesale.identity import service as identity
from wholesale.identity.models import Org
from wholesale.identity.roles import Role
from wholesale.partners.models import Partner
from wholesale.partners.service import create_partner

DEMO_PARTNER = "Demo Partner"
DEMO_SUB_PARTNER = "Demo Sub-Partner"


def _find_partner(session: sa.orm.Session, name: str, parent: str | None) -> Partner | None:
    return session.scalars(
        sa.select(Partner)
        .join(Org, Org.id == Partner.org_id)
        .where(
            Org.display_name == name,
            Partner.parent_org_id.is_(None) if parent is None else Partner.parent_org_id == parent,
        )
    ).first()


def seed() -> dict[str, str]:
    """Create the demo partner, sub-partner, template, telephony domain and platform org when missing; issue fresh tokens."""
    with get_database().transaction() as session:
        partner = _find_partner(session, DEMO_PARTNER, None) or create_partner(session, name=DEMO_PARTNER)
        sub = _find_partner(session, DEMO_SUB_PARTNER, partner.org_id) or create_partner(
            session, name=DEMO_SUB_PARTNER, parent_org_id=partner.org_id
        )
        platform = identity.ensure_platform_org(session)
        template = session.scalars(
            sa.select(CustomerTemplate)
            .where(CustomerTemplate.partner_org_id == partner.org_id)
            .order_by(CustomerTemplate.created)
        ).first() or add_template(
            session,
            partner.org_id,
            TemplateIn(name="Standard", language="en_us", meetingsTimezone="America/New_York", pstnEnabled=True),
        )
        if not dialin.current_numbers(session):
            dialin.replace_numbers(session, load_demo_numbers())
        partner_token = identity.create_token(session, org_id=partner.org_id, role=Role.PARTNER_ADMIN, label="demo")
        operator_token = identity.create_token(session, org_id=platform.id, role=Role.OPERATOR, label="demo")
        reviewer_token = identity.create_token(session, org_id=platform.id, role=Role.REVIEWER, label="demo")
    base = get_settings().link_base_url
    return {
        "partner org id": partner.org_id,
        "sub-partner org id": sub.org_id,
        "customer template (provisioningId)": template.id,
        "partner-admin token": partner_token,
        "operator token": operator_token,
        "reviewer token": reviewer_token,
        "API": f"{base}/v1/wholesale/customers",
        "API docs": f"{base}/docs",
        "portal (sign in with a token above)": f"{base}/portal",
        "try": f'curl -H "Authorization: Bearer {partner_token}" {base}/v1/wholesale/subPartners',
    }
