"""Identity directory: organisations (partners and customers alike) and API tokens."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class Org(Base):
    """An organisation in the identity directory ("Common Identity")."""

    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # platform | partner | customer
    display_name: Mapped[str] = mapped_column(sa.String(300))
    country_code: Mapped[str | None] = mapped_column(sa.String(2))
    language: Mapped[str | None] = mapped_column(sa.String(20))
    # The partner that manages this org (customer orgs), for tenancy checks on identity reads.
    managed_by_org_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    created: Mapped[datetime]


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(30))
    scopes: Mapped[list[Any]]
    label: Mapped[str | None] = mapped_column(sa.String(200))
    created: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A person in an organisation (a customer's administrator or a subscriber's Webex account)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    # Normalised (lower-case) and unique across the platform, as a Webex login is.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    first_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_name: Mapped[str | None] = mapped_column(sa.String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime]


class PortalUser(Base):
    """A person who signs in to the portal with email and password (argon2 hash); acts with its role's scopes."""

    __tablename__ = "portal_users"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    # Normalised (lower-case); one account per email on the platform.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(30))
    created: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    # Wrong passwords in a row; at the limit the account is locked until `locked_until`.
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_signed_in: Mapped[datetime | None]


class PortalSession(Base):
    """A signed-in browser: the cookie holds a random secret, the database its SHA-256. Revoked at sign-out (or when
    its account is disabled), expired after idle or absolute timeouts. Either a portal user's or, for developers,
    an API token's (the token itself never reaches the cookie)."""

    __tablename__ = "portal_sessions"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    portal_user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("portal_users.id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[str | None] = mapped_column(sa.ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime]
    last_seen: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
