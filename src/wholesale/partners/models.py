"""Partners: service providers and their sub-partners."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class Partner(Base):
    """A partner organisation's wholesale subscription; parent set for sub-partners."""

    __tablename__ = "partners"

    org_id: Mapped[str] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    parent_org_id: Mapped[str | None] = mapped_column(sa.ForeignKey("partners.org_id"), index=True)
    subscription_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    provisioning_state: Mapped[str] = mapped_column(sa.String(20), default="active")
    created: Mapped[datetime]
    billing_start_date: Mapped[datetime]
