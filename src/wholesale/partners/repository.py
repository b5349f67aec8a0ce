"""Queries on partners."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.kit.pagination import PageParams
from wholesale.partners.models import Partner


def get_partner(session: Session, org_id: str) -> Partner | None:
    """Return a partner by its org id."""
    return session.get(Partner, org_id)


_STATE = sa.select(Partner.provisioning_state).where(Partner.org_id == sa.bindparam("org_id"))


def provisioning_state(session: Session, org_id: str) -> str | None:
    """A partner's provisioning state (None when there is no such partner): one column, by a statement built once,
    because every write request asks."""
    return session.scalar(_STATE, {"org_id": org_id})


def list_sub_partners(
    session: Session, parent_org_id: str, params: PageParams, provisioning_state: str | None
) -> list[Partner]:
    """Return max + 1 sub-partners of a partner, oldest first."""
    query = sa.select(Partner).where(Partner.parent_org_id == parent_org_id)
    if provisioning_state:
        query = query.where(Partner.provisioning_state == provisioning_state)
    query = query.order_by(Partner.created, Partner.org_id).offset(params.offset).limit(params.max + 1)
    return list(session.scalars(query))
