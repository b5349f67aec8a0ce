"""Operator API shapes."""

from datetime import datetime

from pydantic import BaseModel, Field

from wholesale.kit.schemas import RequestModel


class ClockMove(RequestModel):
    """Move the sandbox clock: by seconds, or to an instant."""

    advanceSeconds: float | None = Field(default=None, ge=0)
    now: datetime | None = None


class ClockRead(BaseModel):
    """The sandbox clock."""

    now: str
    offsetSeconds: float


class TickRead(BaseModel):
    """Scheduled jobs run by a tick and how they ended."""

    now: str
    jobs: dict[str, str]


class JobProbeCreate(RequestModel):
    """Ask for a probe job."""

    sleepSeconds: float = 0


class JobProbeRead(BaseModel):
    """A probe job and its step executions."""

    id: str
    status: str
    sleepSeconds: float
    created: str
    finishedAt: str | None = None
    finishedBy: str | None = None
    runs: list[dict[str, str]]
