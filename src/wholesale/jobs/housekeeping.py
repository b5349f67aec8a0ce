"""Housekeeping jobs of the platform itself (scheduled in `wholesale.workers`)."""

from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS

from wholesale.db.session import get_database
from wholesale.jobs.workflow import job
from wholesale.kit import clock, idempotency


@DBOS.step()
def _purge_idempotency_keys() -> int:
    with get_database().transaction() as session:
        return idempotency.purge_older_than(session, clock.now() - timedelta(hours=24))


@job("ops.purge_idempotency_keys")
def purge_idempotency_keys(_scheduled: datetime, _context: Any) -> None:
    """Forget Idempotency-Keys after 24 hours, as Stripe does."""
    _purge_idempotency_keys()
