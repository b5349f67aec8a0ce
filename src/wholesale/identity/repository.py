"""Queries on organisations and tokens."""

from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.db.session import core
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


def users_by_email(session: Session, emails: list[str]) -> dict[str, User]:
    """The users with these (already normalised) emails, by email, in one query."""
    return {u.email: u for u in session.scalars(sa.select(User).where(User.email.in_(emails)))}


_INSERT_USER = sa.insert(cast(sa.Table, User.__table__))


def insert_user(session: Session, row: dict[str, object]) -> None:
    """Insert one user by a Core insert of a statement built once (values as `User`'s columns)."""
    core(session).execute(_INSERT_USER, row)


def insert_users(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert many users in one statement (values as `User`'s columns)."""
    if rows:
        session.execute(sa.insert(User), rows)


def delete_users(session: Session, org_id: str, user_ids: list[str] | None = None) -> None:
    """Delete an org's users in one statement: all of them, or only those among `user_ids`."""
    query = sa.delete(User).where(User.org_id == org_id)
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    session.execute(query)
