"""Subscribers (users holding one package of their customer), the customer's admin tier, and bulk imports."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class Subscriber(Base):
    """A wholesale subscriber: an identity user of the customer's org with exactly one package (R7)."""

    __tablename__ = "subscribers"
    __table_args__ = (
        # Calling numbers are unique within a customer, extensions within a location (NULLs never clash).
        sa.UniqueConstraint("customer_id", "primary_phone_number", name="uq_subscribers_customer_phone"),
        sa.UniqueConstraint("location_id", "extension", name="uq_subscribers_location_extension"),
        sa.Index("ix_subscribers_customer_order", "customer_id", "created", "id"),
        sa.Index("ix_subscribers_partner_order", "partner_org_id", "created", "id"),
        sa.Index("ix_subscribers_org_order", "org_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    # Copied from the customer so tenancy filters need no join.
    partner_org_id: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[str] = mapped_column(sa.String(200))
    # The person: in the customer's org once provisioned, still in the free-account org while pending.
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    package: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(40))
    errors: Mapped[list[Any]] = mapped_column(default=list)
    primary_phone_number: Mapped[str | None] = mapped_column(sa.String(20))
    extension: Mapped[str | None] = mapped_column(sa.String(10))
    location_id: Mapped[str | None] = mapped_column(sa.String(200))
    # While the move of a free account waits (pending_user_migration): the SHA-256 (hex) of the token its latest
    # consent email links to. The token itself is only in that email (subscribers.mailer); None until it is sent.
    consent_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    consent_sent_at: Mapped[datetime | None]
    created: Mapped[datetime]
    last_status_change: Mapped[datetime]


class CustomerAdminTier(Base):
    """The package every administrator of a customer gets (R5): its highest person package at creation."""

    __tablename__ = "customer_admin_tiers"

    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    package: Mapped[str] = mapped_column(sa.String(40))
    created: Mapped[datetime]


class BulkImport(Base):
    """A bulk subscriber import accepted over the API: its rows, and each row's result once processed."""

    __tablename__ = "subscriber_bulk_imports"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner_org_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    rows: Mapped[list[Any]]
    # One result per processed row, in row order; len(results) is how far the job got.
    results: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime]
    finished: Mapped[datetime | None]
