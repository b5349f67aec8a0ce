"""Ledger tables: the rows (never updated or deleted) and one head per partner (its last sequence number and hash)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class UsageEntry(Base):
    """One change of what a customer or user holds. `sha256` covers every field and the previous row's hash
    (`details` only when set: `ledger.chain`)."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        sa.UniqueConstraint("partner_org_id", "seq"),
        sa.Index("ix_usage_ledger_partner_at", "partner_org_id", "at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    partner_org_id: Mapped[str] = mapped_column(sa.String(200))
    seq: Mapped[int]  # 1, 2, 3 ... per partner, without gaps
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(40))
    customer_id: Mapped[str] = mapped_column(sa.String(200))
    subscriber_id: Mapped[str | None] = mapped_column(sa.String(200))
    package: Mapped[str] = mapped_column(sa.String(40))
    delta: Mapped[int]  # change of the customer's assigned units of the package
    units_after: Mapped[int]  # the customer's assigned units of the package after the change
    quantity_limit: Mapped[int | None]  # the package's cap after the change (None: no cap)
    actor: Mapped[str] = mapped_column(sa.String(200))
    tracking_id: Mapped[str | None] = mapped_column(sa.String(120))
    prev_sha256: Mapped[str] = mapped_column(sa.String(64))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # What billing reports show beside the units, as of this row (`customer.details`: name, externalId, orgId,
    # internal; `subscriber.assigned`/`subscriber.details`: email), canonical JSON; None on rows without any.
    details: Mapped[str | None] = mapped_column(sa.Text)


class LedgerHead(Base):
    """Where a partner's chain ends: appends lock this row, so a partner's rows are numbered without gaps."""

    __tablename__ = "usage_ledger_heads"

    partner_org_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    seq: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
