"""Compliance: stored list sets, screenings, review cases, contact attempts and the allow-list."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class ListSet(Base):
    """One load of restricted-party lists (`wholesale lists load`); the newest complete one is in force."""

    __tablename__ = "screening_list_sets"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    versions: Mapped[list[Any]]
    entry_count: Mapped[int]
    loaded_at: Mapped[datetime] = mapped_column(index=True)
    # Set only once every file is stored, so a half-written load is never used.
    complete: Mapped[bool] = mapped_column(default=False)


class ListFile(Base):
    """A list file's bytes, so every worker process screens against the same data."""

    __tablename__ = "screening_list_files"

    set_id: Mapped[str] = mapped_column(sa.ForeignKey("screening_list_sets.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


class Screening(Base):
    """One screening of a customer: what was asked, against which lists, and the result."""

    __tablename__ = "screenings"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    trigger: Mapped[str] = mapped_column(sa.String(30))  # created | address_changed | lists_updated
    list_sha256: Mapped[str] = mapped_column(sa.String(64))
    query: Mapped[dict[str, Any]]
    decision: Mapped[str] = mapped_column(sa.String(10))
    score: Mapped[float]
    hits: Mapped[list[Any]]
    created: Mapped[datetime]


class ComplianceCase(Base):
    """A review case opened by a potential match (R12), closed by approval or resolution, or ending in R14."""

    __tablename__ = "compliance_cases"
    __table_args__ = (sa.Index("ix_compliance_cases_status_opened", "status", "opened_at"),)

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    partner_org_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    opened_at: Mapped[datetime]
    deadline: Mapped[datetime]
    # First reviewer decision, for time-to-decision (R12).
    decided_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(sa.String(10))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    closed_at: Mapped[datetime | None]
    unreachable_attempts: Mapped[int] = mapped_column(default=0)
    screening_id: Mapped[str] = mapped_column(sa.String(200))
    hits: Mapped[list[Any]]
    timeline: Mapped[list[Any]] = mapped_column(default=list)


class ContactAttempt(Base):
    """A recorded attempt to reach the partner about a case (R13)."""

    __tablename__ = "compliance_contact_attempts"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("compliance_cases.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


class AllowListEntry(Base):
    """A list entry a reviewer cleared for a customer, for one list version (not re-opened for it again)."""

    __tablename__ = "compliance_allowlist"

    customer_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    entry_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    list_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.String(200))
    created: Mapped[datetime]
