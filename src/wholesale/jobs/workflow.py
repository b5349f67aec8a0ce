"""The decorator every background job uses: a named DBOS workflow with metrics and an actor in the audit trail."""

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from dbos import DBOS

from wholesale.db.session import mark_background_writer
from wholesale.kit.context import set_actor, set_tracking_id
from wholesale.kit.observability import JOB_LATENCY, JOBS

F = TypeVar("F", bound=Callable[..., Any])

# Workflow name -> the queue it runs on (declared once, on the workflow; jobs.enqueue checks callers against it).
JOB_QUEUES: dict[str, str] = {}


def job(name: str, queue: str = "default") -> Callable[[F], F]:
    """Register a function as the DBOS workflow `name` (domain.verb) on `queue`, timing it and naming it as the actor."""
    JOB_QUEUES[name] = queue

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            mark_background_writer()  # requests go first at SQLite's one writer
            set_actor(f"job:{name}")
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

        return DBOS.workflow(name=name)(timed)  # type: ignore[return-value]

    return decorate
