"""Operations: health, the sandbox clock and tick, job probes."""

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.compliance import lists
from wholesale.db.session import get_database
from wholesale.events import service as events
from wholesale.jobs import probe as probes
from wholesale.jobs import runtime
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.errors import BadRequest
from wholesale.ops.models import SandboxState

CLOCK_KEY = "clock_offset_seconds"
# The sandbox clock may run at most this far ahead of real time: year-9999 instants overflow every date sum
# after them ("now: 9999-12-31" made each create a 500 and could not be undone).
MAX_CLOCK_OFFSET_SECONDS = 10 * 366 * 86400


def read_clock_offset() -> float:
    """Return the sandbox clock offset in seconds (0 when never moved)."""
    with get_database().session(write=False) as session:
        row = session.get(SandboxState, CLOCK_KEY)
        return row.value if row else 0.0


def move_clock(session: Session, *, advance_seconds: float | None, now: datetime | None) -> datetime:
    """Move the sandbox clock forward by seconds or to an instant; it never goes backwards."""
    if (advance_seconds is None) == (now is None):
        raise BadRequest("Give exactly one of advanceSeconds or now.")
    row = session.get(SandboxState, CLOCK_KEY) or SandboxState(key=CLOCK_KEY, value=0.0)
    real = datetime.now(UTC)
    current_offset = row.value
    if advance_seconds is not None:
        if advance_seconds < 0:
            raise BadRequest("advanceSeconds: must not be negative (the clock only moves forward).")
        new_offset = current_offset + advance_seconds
    elif now is not None:
        if now.tzinfo is None:
            raise BadRequest("now: must carry a timezone, e.g. 2026-12-31T00:00:00Z.")
        new_offset = (now - real).total_seconds()
        if new_offset < current_offset:
            raise BadRequest("now: must not be earlier than the sandbox clock's current time.")
    else:  # ruled out by the exactly-one check above
        raise BadRequest("Give exactly one of advanceSeconds or now.")
    if new_offset > MAX_CLOCK_OFFSET_SECONDS:
        raise BadRequest(
            "The sandbox clock may run at most 10 years ahead of real time; DELETE /v1/sandbox/clock resets it."
        )
    return _set_offset(session, row, real, current_offset, new_offset)


def reset_clock(session: Session) -> datetime:
    """Put the sandbox clock back to real time (the one move backwards there is), audited."""
    row = session.get(SandboxState, CLOCK_KEY) or SandboxState(key=CLOCK_KEY, value=0.0)
    return _set_offset(session, row, datetime.now(UTC), row.value, 0.0)


def _set_offset(
    session: Session, row: SandboxState, real: datetime, current_offset: float, new_offset: float
) -> datetime:
    row.value = new_offset
    session.merge(row)
    moved = real + timedelta(seconds=new_offset)
    events.record(
        session,
        subject_type="sandbox",
        subject_id="clock",
        action="sandbox.clock_moved",
        data={"now": clock.isoformat(moved)},
        before={"offsetSeconds": current_offset},
        after={"offsetSeconds": new_offset},
    )
    return moved


def tick(session: Session) -> list[str]:
    """Enqueue every scheduled job now (in this transaction); return their workflow ids."""
    started = clock.now()
    workflow_ids = []
    from wholesale.workers import SCHEDULES  # the tick runs what the workers schedule

    for name, (workflow, _fn, _cron) in SCHEDULES.items():
        key = f"tick:{name}:{ids.new_tracking_id()}"
        enqueue(session, workflow, started, None, key=key)
        workflow_ids.append(key)
    events.record(
        session, subject_type="sandbox", subject_id="tick", action="sandbox.tick", data={"jobs": sorted(SCHEDULES)}
    )
    return workflow_ids


def create_probe(session: Session, *, sleep_seconds: float) -> probes.JobProbe:
    """Enqueue a job probe (POST /v1/ops/jobProbes), audited."""
    probe = probes.create_probe(session, sleep_seconds=sleep_seconds)
    events.record(
        session,
        subject_type="job_probe",
        subject_id=probe.id,
        action="ops.job_probe_created",
        data={"sleepSeconds": sleep_seconds},
    )
    return probe


def wait_for(workflow_ids: list[str], timeout: float) -> dict[str, str]:
    """Wait until workflows finish (or the timeout passes); return their statuses."""
    client = runtime.get_client()
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while True:
        statuses = {wid: client.retrieve_workflow(wid).get_status().status for wid in workflow_ids}
        if all(s in ("SUCCESS", "ERROR", "CANCELLED") for s in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.05)


def check_ready() -> dict[str, str]:
    """Check the database and the job engine; return a status per component."""
    status = {}
    try:
        with get_database().session(write=False) as session:
            session.execute(sa.text("SELECT 1"))
        status["database"] = "ok"
    except Exception as exc:  # readiness must report, not raise
        status["database"] = f"error: {exc.__class__.__name__}"
    try:
        runtime.get_client().list_queued_workflows(limit=1)
        status["jobs"] = "ok" if runtime.is_launched() else "ok (enqueue only; workers run elsewhere)"
    except Exception as exc:
        status["jobs"] = f"error: {exc.__class__.__name__}"
    if runtime.is_launched():
        # Until the screening index is built, this process would stall every job for seconds.
        status["screening"] = "ok" if lists.screener_ready.is_set() else "warming up"
    return status
