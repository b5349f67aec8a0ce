"""The decorator every background job uses: a named DBOS workflow with metrics and an actor in the audit trail."""

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dbos import DBOS

from wholesale.db.session import mark_background_writer
from wholesale.jobs import catalog
from wholesale.kit.context import set_actor, set_tracking_id
from wholesale.kit.observability import JOB_LATENCY, JOBS

P = ParamSpec("P")
R = TypeVar("R")


def job(name: str, queue: str = "default") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a function as the DBOS workflow `name` (domain.verb) on `queue`, timing it and naming it as the actor.

    The name and queue must be those of the job catalog (`jobs/catalog.py`), which is what enqueuers read.
    """
    if catalog.JOBS.get(name) != queue:
        raise ValueError(f"job {name!r} on queue {queue!r} does not match the job catalog ({catalog.JOBS.get(name)!r})")

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            mark_background_writer()  # requests go first at SQLite's one writer
            set_actor(f"job:{name}", role="job")
            set_tracking_id(DBOS.workflow_id)
            started = time.perf_counter()
            outcome = "error"
            try:
                result = fn(*args, **kwargs)
                outcome = "ok"
                return result
            finally:
                JOBS.labels(queue, name, outcome).inc()
                JOB_LATENCY.labels(queue, name).observe(time.perf_counter() - started)

        return DBOS.workflow(name=name)(timed)

    return decorate


def step(
    *,
    interval_seconds: float = 0.2,
    max_attempts: int = 5,
    backoff_rate: float = 2.0,
    should_retry: Callable[[BaseException], bool] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A DBOS step retried with exponential backoff: the one retry policy of every job (a step is one
    idempotent transaction, so running it again is safe)."""
    return DBOS.step(
        retries_allowed=True,
        max_attempts=max_attempts,
        interval_seconds=interval_seconds,
        backoff_rate=backoff_rate,
        should_retry=should_retry,
    )
