"""The job probe: an operator-visible job that proves workers run, survive a crash, and never run a job twice."""

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from wholesale.db.base import Base
from wholesale.db.session import get_database
from wholesale.jobs.enqueue import enqueue
from wholesale.jobs.workflow import job, step
from wholesale.kit import clock, ids
from wholesale.kit.errors import BadRequest, NotFound

MAX_SLEEP_SECONDS = 3600


class JobProbe(Base):
    """One probe: enqueued, then `done` exactly once."""

    __tablename__ = "job_probes"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    sleep_seconds: Mapped[float]
    status: Mapped[str] = mapped_column(sa.String(20))
    created: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    finished_by: Mapped[str | None] = mapped_column(sa.String(200))


class JobProbeRun(Base):
    """Each time a probe's step body executed, and on which executor (duplicates would show here)."""

    __tablename__ = "job_probe_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    probe_id: Mapped[str] = mapped_column(sa.ForeignKey("job_probes.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(sa.String(20))
    executor_id: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


def create_probe(session: Session, *, sleep_seconds: float) -> JobProbe:
    """Record a probe and enqueue its job in the same transaction."""
    if not 0 <= sleep_seconds <= MAX_SLEEP_SECONDS:
        raise BadRequest(f"sleepSeconds: must be between 0 and {MAX_SLEEP_SECONDS}.")
    probe = JobProbe(id=ids.new_id("JOB_PROBE"), sleep_seconds=sleep_seconds, status="enqueued", created=clock.now())
    session.add(probe)
    enqueue(session, "ops.probe", probe.id, key=f"probe:{probe.id}")
    return probe


def get_probe(session: Session, probe_id: str) -> tuple[JobProbe, list[JobProbeRun]]:
    """Return a probe and its recorded step executions."""
    probe = session.get(JobProbe, probe_id)
    if probe is None:
        raise NotFound(f"Job probe {probe_id} not found.")
    runs = list(
        session.scalars(sa.select(JobProbeRun).where(JobProbeRun.probe_id == probe_id).order_by(JobProbeRun.id))
    )
    return probe, runs


@step(backoff_rate=1.0)
def _mark_started(probe_id: str) -> float:
    with get_database().transaction() as session:
        probe = session.get(JobProbe, probe_id)
        if probe is None:
            raise NotFound(f"Job probe {probe_id} not found.")
        session.add(JobProbeRun(probe_id=probe_id, step="started", executor_id=DBOS.executor_id, at=clock.now()))
        if probe.status == "enqueued":
            probe.status = "running"
        return probe.sleep_seconds


@step(backoff_rate=1.0)
def _finish(probe_id: str) -> None:
    # Conditional on status so that a step re-run after a crash (committed, not yet checkpointed) has no effect.
    with get_database().transaction() as session:
        # A DML statement's result is a CursorResult (Session.execute is typed as returning the base Result).
        result = cast(
            CursorResult[Any],
            session.execute(
                sa.update(JobProbe)
                .where(JobProbe.id == probe_id, JobProbe.status != "done")
                .values(status="done", finished_at=clock.now(), finished_by=DBOS.executor_id)
            ),
        )
        done = result.rowcount
        if done:
            session.add(JobProbeRun(probe_id=probe_id, step="finished", executor_id=DBOS.executor_id, at=clock.now()))


@job("ops.probe")
def run_probe(probe_id: str) -> None:
    """Mark started, sleep durably, finish once."""
    sleep_seconds = _mark_started(probe_id)
    if sleep_seconds:
        DBOS.sleep(sleep_seconds)
    _finish(probe_id)
