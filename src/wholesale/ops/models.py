"""Operator state: the sandbox clock offset."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wholesale.db.base import Base


class SandboxState(Base):
    """Key/value settings of a sandbox deployment (only the clock offset today)."""

    __tablename__ = "sandbox_state"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[float]
