"""Customers, their packages, templates and calling locations."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class CustomerTemplate(Base):
    """A partner's provisioning defaults; its id is the `provisioningId` of customer requests."""

    __tablename__ = "customer_templates"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner_org_id: Mapped[str] = mapped_column(sa.ForeignKey("partners.org_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(20), default="en_us")
    meetings_timezone: Mapped[str | None] = mapped_column(sa.String(64))
    # R17: whether meetings sites of this template's customers get provider PSTN call-in numbers.
    pstn_enabled: Mapped[bool] = mapped_column(default=True)
    # None = every package may be provisioned with this template.
    allowed_packages: Mapped[list[Any] | None] = mapped_column(sa.JSON, nullable=True)
    created: Mapped[datetime]
    updated: Mapped[datetime]


class Customer(Base):
    """A partner's customer organisation; `deleted_at` set = a tombstone kept for the audit trail."""

    __tablename__ = "customers"
    __table_args__ = (
        sa.Index(
            "uq_customers_partner_external_live",
            "partner_org_id",
            "external_id",
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        # A partner's live customers oldest first, and of one stored status (issue 15: both read a page in order
        # from the index; PostgreSQL cannot when `deleted_at IS NULL` is an index column rather than the predicate).
        sa.Index(
            "ix_customers_live_order",
            "partner_org_id",
            "created",
            "id",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_customers_partner_status_order", "partner_org_id", "status", "created", "id"),
        sa.Index("ix_customers_org_id", "org_id"),
        # A create refuses a primary email that a live customer already holds (its admin may not exist yet).
        sa.Index(
            "ix_customers_primary_email_live",
            "primary_email",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner_org_id: Mapped[str] = mapped_column(sa.ForeignKey("partners.org_id"))
    org_id: Mapped[str | None] = mapped_column(sa.String(200))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    provisioning_id: Mapped[str] = mapped_column(sa.ForeignKey("customer_templates.id"))
    name: Mapped[str | None] = mapped_column(sa.String(300))
    primary_email: Mapped[str | None] = mapped_column(sa.String(320))
    language: Mapped[str | None] = mapped_column(sa.String(20))
    address_line1: Mapped[str] = mapped_column(sa.String(50))
    address_line2: Mapped[str | None] = mapped_column(sa.String(50))
    city: Mapped[str] = mapped_column(sa.String(200))
    state_or_province: Mapped[str | None] = mapped_column(sa.String(100))
    zip_or_postal_code: Mapped[str | None] = mapped_column(sa.String(40))
    country: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(40))
    errors: Mapped[list[Any]] = mapped_column(default=list)
    # Requested cap per package name (R8); absent = unlimited.
    package_limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meetings_timezone: Mapped[str | None] = mapped_column(sa.String(64))
    calling_location: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    sub_partner_admin_email: Mapped[str | None] = mapped_column(sa.String(320))
    # R6: the partner's own organisation, provisioned with a wholesale subscription.
    is_partner_org: Mapped[bool] = mapped_column(default=False)
    # A compliance case is open (R11): the status reads pending_rpl_review while services stay active.
    compliance_hold: Mapped[bool] = mapped_column(default=False)
    # Bumped on every accepted create/update/delete; workflow ids carry it so each change runs once.
    revision: Mapped[int] = mapped_column(default=1)
    created: Mapped[datetime]
    updated: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class CustomerPackageRow(Base):
    """One package of a customer: its state, cap (R8) and how many units are assigned."""

    __tablename__ = "customer_packages"

    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    quantity_limit: Mapped[int | None]
    assigned: Mapped[int] = mapped_column(default=0)
    license_ids: Mapped[list[Any]] = mapped_column(default=list)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime]


class CallingLocation(Base):
    """A customer's calling location, created when a calling package is provisioned."""

    __tablename__ = "calling_locations"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    org_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[dict[str, Any]]
    timezone: Mapped[str] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(20))
    emergency_location_identifier: Mapped[str | None] = mapped_column(sa.String(100))
    created: Mapped[datetime]
