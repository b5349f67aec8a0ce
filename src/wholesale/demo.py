"""Seed a demo partner for `make run`: idempotent, prints fresh tokens and portal passwords each time."""

import sqlalchemy as sa

from wholesale.config import get_settings
from wholesale.customers.models import CustomerTemplate
from wholesale.customers.schemas import TemplateIn
from wholesale.customers.templates import add_template
from wholesale.db.session import get_database
from wholesale.dialin import service as dialin
from wholesale.dialin.telephony import load_demo_numbers
from wholesale.identity import accounts
from wholesale.identity import service as identity
from wholesale.identity.models import Org
from wholesale.identity.roles import Role
from wholesale.partners.models import Partner
from wholesale.partners.service import create_partner

DEMO_PARTNER = "Demo Partner"
DEMO_SUB_PARTNER = "Demo Sub-Partner"
DEMO_ADMIN = "admin@demo-partner.example"
DEMO_REVIEWER = "reviewer@demo-platform.example"


def _find_partner(session: sa.orm.Session, name: str, parent: str | None) -> Partner | None:
    return session.scalars(
        sa.select(Partner)
        .join(Org, Org.id == Partner.org_id)
        .where(
            Org.display_name == name,
            Partner.parent_org_id.is_(None) if parent is None else Partner.parent_org_id == parent,
        )
    ).first()


def _portal_account(session: sa.orm.Session, email: str, org_id: str, role: Role) -> str:
    """A demo portal account with a fresh password (created the first time)."""
    if accounts.find_user(session, email) is None:
        return accounts.create_user(session, org_id=org_id, email=email, role=role)
    return accounts.reset_password(session, email)


def seed() -> dict[str, str]:
    """Create the demo partner, sub-partner, template, telephony domain, platform org and portal accounts when
    missing; issue fresh tokens and passwords."""
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
        if not session.scalars(
            sa.select(CustomerTemplate.id).where(CustomerTemplate.partner_org_id == sub.org_id)
        ).first():
            add_template(session, sub.org_id, TemplateIn(name="Sub-partner standard", language="en_us"))
        if not dialin.current_numbers(session):
            dialin.replace_numbers(session, load_demo_numbers())
        partner_token = identity.create_token(session, org_id=partner.org_id, role=Role.PARTNER_ADMIN, label="demo")
        operator_token = identity.create_token(session, org_id=platform.id, role=Role.OPERATOR, label="demo")
        reviewer_token = identity.create_token(session, org_id=platform.id, role=Role.REVIEWER, label="demo")
        passwords = {
            email: _portal_account(session, email, org_id, role)
            for email, org_id, role in (
                (DEMO_ADMIN, partner.org_id, Role.PARTNER_ADMIN),
                (DEMO_REVIEWER, platform.id, Role.REVIEWER),
            )
        }
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
        "portal": f"{base}/portal",
        "portal partner admin": DEMO_ADMIN,
        "portal partner admin password": passwords[DEMO_ADMIN],
        "portal reviewer": DEMO_REVIEWER,
        "portal reviewer password": passwords[DEMO_REVIEWER],
        "try": f'curl -H "Authorization: Bearer {partner_token}" {base}/v1/wholesale/subPartners',
    }
