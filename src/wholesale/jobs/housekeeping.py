"""Housekeeping jobs of the platform itself (scheduled in `wholesale.workers`)."""

from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.jobs.workflow import job
from wholesale.kit import clock, idempotency, ratelimit


@DBOS.step()
def _purge_idempotency_keys() -> int:
    with get_database().transaction() as session:
        return idempotency.purge_older_than(session, clock.now() - timedelta(hours=24))


@job("ops.purge_idempotency_keys")
def purge_idempotency_keys(_scheduled: datetime, _context: Any) -> None:
    """Forget Idempotency-Keys after 24 hours, as Stripe does."""
    _purge_idempotency_keys()


@DBOS.step()
def _purge_rate_limit_buckets() -> int:
    settings = get_settings()
    with get_database().transaction() as session:
        return ratelimit.purge_idle_buckets(session, settings.rate_limit_per_minute, settings.rate_limit_burst)


@job("ops.purge_rate_limit_buckets")
def purge_rate_limit_buckets(_scheduled: datetime, _context: Any) -> int:
    """Forget shared rate-limit buckets that have refilled (WHOLESALE_RATE_LIMIT_STORE=database)."""
    return _purge_rate_limit_buckets()
