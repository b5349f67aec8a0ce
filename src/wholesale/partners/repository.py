"""Queries on partners."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.kit.pagination import PageParams
from wholesale.partners.models import Partner


def get_partner(session: Session, org_id: str) -> Partner | None:
    """Return a partner by its org id."""
    return session.get(Partner, org_id)


def list_sub_partners(
    session: Session, parent_org_id: str, params: PageParams, provisioning_state: str | None
) -> list[Partner]:
    """Return max + 1 sub-partners of a partner, oldest first."""
    query = sa.select(Partner).where(Partner.parent_org_id == parent_org_id)
    if provisioning_state:
        query = query.where(Partner.provisioning_state == provisioning_state)
    query = query.order_by(Partner.created, Partner.org_id).offset(params.offset).limit(params.max + 1)
    return list(session.scalars(query))
