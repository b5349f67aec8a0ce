"""The telephony domain, location overrides and meetings sites."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class TelephonyNumber(Base):
    """One call-in number of the operator's telephony domain; `position` is its order in the file."""

    __tablename__ = "telephony_numbers"
    __table_args__ = (sa.UniqueConstraint("country", "number", name="uq_telephony_numbers_country_number"),)

    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    country: Mapped[str] = mapped_column(sa.String(2), index=True)
    number: Mapped[str] = mapped_column(sa.String(20))
    label: Mapped[str] = mapped_column(sa.String(200))
    toll_type: Mapped[str] = mapped_column(sa.String(10))
    available: Mapped[bool]


class LocationOverride(Base):
    """An operator's override of which location an organisation country belongs to."""

    __tablename__ = "location_overrides"

    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    location: Mapped[str] = mapped_column(sa.String(10))


class MeetingsSite(Base):
    """A customer's meetings site and its default global call-in number (R17, R18)."""

    __tablename__ = "meetings_sites"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    org_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    site_url: Mapped[str] = mapped_column(sa.String(300), unique=True)
    location: Mapped[str] = mapped_column(sa.String(10))
    pstn_enabled: Mapped[bool]
    # The org country the number was derived for: a customer update re-derives only when it changed (R17).
    org_country: Mapped[str | None] = mapped_column(sa.String(2))
    number: Mapped[str | None] = mapped_column(sa.String(20))
    number_country: Mapped[str | None] = mapped_column(sa.String(2))
    number_label: Mapped[str | None] = mapped_column(sa.String(200))
    number_toll_type: Mapped[str | None] = mapped_column(sa.String(10))
    source: Mapped[str] = mapped_column(sa.String(20))
    # An operator pinned the number: re-derivation leaves it alone.
    pinned: Mapped[bool] = mapped_column(default=False)
    warning: Mapped[str | None] = mapped_column(sa.Text)
    created: Mapped[datetime]
    updated: Mapped[datetime]
