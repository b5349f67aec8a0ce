"""Queries on organisations and tokens."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.identity.models import ApiToken, Org, User


def get_org(session: Session, org_id: str) -> Org | None:
    """Return an organisation by id."""
    return session.get(Org, org_id)


def get_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """Return a live token by its hash."""
    return session.scalars(
        sa.select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).first()


def get_user_by_email(session: Session, email: str) -> User | None:
    """Return the user with this (already normalised) email."""
    return session.scalars(sa.select(User).where(User.email == email)).first()
