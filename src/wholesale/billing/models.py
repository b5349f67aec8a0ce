"""Billing report requests: what was asked, by whom, and where its CSV lies once generated."""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class BillingReport(Base):
    """One report a partner asked for; its CSV (under the data dir) is derived from the usage ledger only."""

    __tablename__ = "billing_reports"
    __table_args__ = (sa.Index("ix_billing_reports_partner_start", "partner_org_id", "billing_start_date"),)

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner_org_id: Mapped[str] = mapped_column(sa.String(200))  # whose ledger it reads (a sub-partner's own)
    billing_start_date: Mapped[date] = mapped_column(sa.Date)
    billing_end_date: Mapped[date] = mapped_column(sa.Date)
    type: Mapped[str] = mapped_column(sa.String(20))  # PARTNER, CUSTOMER, USER
    category: Mapped[str] = mapped_column(sa.String(20))  # RECONCILIATION, POINT_IN_TIME
    customer_id: Mapped[str | None] = mapped_column(sa.String(200))  # CUSTOMER reports for one customer
    internal: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20))  # IN_PROGRESS, COMPLETED, FAILED
    errors: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(200))
    completed: Mapped[datetime | None]
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    line_items: Mapped[int | None]
