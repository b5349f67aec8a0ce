"""Health, readiness, metrics, job probes and (sandbox only) the movable clock."""

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from wholesale.identity.auth import require
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.jobs import probe as probes
from wholesale.kit import clock
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.ops import service
from wholesale.ops.schemas import (
    ClockMove,
    ClockRead,
    HealthRead,
    JobProbeCreate,
    JobProbeRead,
    JobProbeRun,
    ReadyRead,
    TickRead,
)

router = APIRouter(route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES)
sandbox_router = APIRouter(
    prefix="/v1/sandbox", tags=["sandbox"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES
)
Operator = Depends(require(Scope.PLATFORM_ADMIN, Role.OPERATOR))


@router.get("/healthz", tags=["ops"])
def healthz() -> HealthRead:
    """Liveness: the process answers."""
    return HealthRead(status="ok")


@router.get("/readyz", tags=["ops"], responses={503: {"model": ReadyRead, "description": "A check failed."}})
def readyz(response: Response) -> ReadyRead:
    """Readiness: the database and the job engine are reachable."""
    status = service.check_ready()
    ok = all(v.startswith("ok") for v in status.values())
    response.status_code = 200 if ok else 503
    return ReadyRead(status="ok" if ok else "unavailable", checks=status)


@router.get("/metrics", tags=["ops"], include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of this process plus queue depth from the database."""
    from wholesale.ops.metrics import refresh_compliance, refresh_queue_depth

    await run_in_threadpool(refresh_queue_depth)
    await run_in_threadpool(refresh_compliance)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.post("/v1/ops/jobProbes", status_code=202, tags=["ops"], response_model=JobProbeRead)
def create_job_probe(body: JobProbeCreate, session: SessionDep, _p: Principal = Operator) -> JobProbeRead:
    """Enqueue a probe job that sleeps durably and then finishes exactly once."""
    return _probe_read(service.create_probe(session, sleep_seconds=body.sleepSeconds), [])


@router.get("/v1/ops/jobProbes/{probe_id}", tags=["ops"], response_model=JobProbeRead)
def get_job_probe(probe_id: str, session: SessionDep, _p: Principal = Operator) -> JobProbeRead:
    """Read a probe job and where its steps ran."""
    return _probe_read(*probes.get_probe(session, probe_id))


def _probe_read(probe: probes.JobProbe, runs: list[probes.JobProbeRun]) -> JobProbeRead:
    return JobProbeRead(
        id=probe.id,
        status=probe.status,
        sleepSeconds=probe.sleep_seconds,
        created=clock.isoformat(probe.created),
        finishedAt=clock.isoformat(probe.finished_at),
        finishedBy=probe.finished_by,
        runs=[JobProbeRun(step=r.step, executorId=r.executor_id, at=clock.isoformat(r.at)) for r in runs],
    )


@sandbox_router.get("/clock", response_model=ClockRead)
def read_clock(_p: Principal = Operator) -> ClockRead:
    """Read the sandbox clock."""
    return ClockRead(now=clock.isoformat(clock.now()), offsetSeconds=service.read_clock_offset())


@sandbox_router.post("/clock", response_model=ClockRead)
def move_clock(body: ClockMove, session: SessionDep, _p: Principal = Operator) -> ClockRead:
    """Move the sandbox clock forward by seconds or to an instant."""
    moved = service.move_clock(session, advance_seconds=body.advanceSeconds, now=body.now)
    session.commit()
    _invalidate_clock()
    return ClockRead(now=clock.isoformat(moved), offsetSeconds=service.read_clock_offset())


@sandbox_router.delete("/clock", response_model=ClockRead)
def reset_clock(session: SessionDep, _p: Principal = Operator) -> ClockRead:
    """Put the sandbox clock back to real time."""
    moved = service.reset_clock(session)
    session.commit()
    _invalidate_clock()
    return ClockRead(now=clock.isoformat(moved), offsetSeconds=service.read_clock_offset())


@sandbox_router.post("/tick", response_model=TickRead)
def tick(request: Request, session: SessionDep, _p: Principal = Operator) -> TickRead:
    """Run every scheduled job now, as if its time had come, and wait (up to 60 s) for them to finish."""
    workflow_ids = service.tick(session)
    session.commit()
    return TickRead(now=clock.isoformat(clock.now()), jobs=service.wait_for(workflow_ids, timeout=60))


def _invalidate_clock() -> None:
    current = clock.get_clock()
    if isinstance(current, clock.OffsetClock):
        current.invalidate()
