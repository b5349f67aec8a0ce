"""The jobs port: services enqueue work inside their own transaction, so state and job commit together."""

from typing import Any

from dbos import EnqueueOptions
from sqlalchemy.orm import Session

from wholesale.jobs.catalog import JOBS
from wholesale.jobs.runtime import PARTITIONED_QUEUES, QUEUES, get_client


def enqueue(
    session: Session,
    workflow: str,
    *args: Any,
    key: str,
    queue: str | None = None,
    delay_seconds: float | None = None,
    partition_key: str | None = None,
) -> str:
    """Enqueue a workflow by name in the caller's transaction; `key` is the workflow id and so the idempotency key.

    A second enqueue with the same key attaches to the first instead of running the work again. The queue is
    the one the job catalog names (`jobs/catalog.py`); a caller that names another one is refused.
    """
    declared = JOBS.get(workflow)
    if declared is None:
        raise ValueError(f"unknown workflow {workflow!r}")
    if queue is not None and queue != declared:
        raise ValueError(f"workflow {workflow!r} runs on queue {declared!r}, not {queue!r}")
    queue = declared
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    options: EnqueueOptions = {"workflow_name": workflow, "queue_name": queue, "workflow_id": key}
    if delay_seconds:
        options["delay_seconds"] = delay_seconds
    if queue in PARTITIONED_QUEUES:
        if not partition_key:
            raise ValueError(f"queue {queue!r} needs a partition_key")
        options["queue_partition_key"] = partition_key
    # Flush first so the workflow row is written after (and with) the state it depends on.
    session.flush()
    get_client().enqueue_in_transaction(session, options, *args)
    return key
