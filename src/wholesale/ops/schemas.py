"""Operator API shapes."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from wholesale.kit.schemas import RequestModel, ResponseModel


class ClockMove(RequestModel):
    """Move the sandbox clock: by seconds, or to an instant."""

    advanceSeconds: float | None = Field(default=None, ge=0, le=10 * 366 * 86400)
    now: datetime | None = None


class HealthRead(ResponseModel):
    """Liveness."""

    status: Literal["ok"]


class ReadyRead(ResponseModel):
    """Readiness (200 when every check is ok, 503 otherwise): a status per component."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class ClockRead(ResponseModel):
    """The sandbox clock."""

    now: str
    offsetSeconds: float


class TickRead(ResponseModel):
    """Scheduled jobs run by a tick and how they ended."""

    now: str
    jobs: dict[str, str]


class JobProbeCreate(RequestModel):
    """Ask for a probe job."""

    sleepSeconds: float = 0


class JobProbeRun(ResponseModel):
    """One execution of a probe's step: which executor ran it, when."""

    step: str
    executorId: str
    at: str


class JobProbeRead(ResponseModel):
    """A probe job and its step executions."""

    id: str
    status: str
    sleepSeconds: float
    created: str
    finishedAt: str | None = None
    finishedBy: str | None = None
    runs: list[JobProbeRun]
