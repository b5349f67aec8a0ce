"""Every periodic job, in one place; `POST /v1/sandbox/tick` runs them all at once."""

from collections.abc import Callable
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


def _schedules() -> dict[str, tuple[str, Callable[[datetime, Any], Any], str]]:
    from wholesale.compliance.workflows import check_deadlines

    # name -> (workflow name, workflow function, cron with seconds first)
    return {
        "purge-idempotency-keys": ("ops.purge_idempotency_keys", purge_idempotency_keys, "0 17 3 * * *"),
        # Hourly, so a 30-day deadline (R14) bites within the hour it falls due.
        "compliance-deadlines": ("compliance.check_deadlines", check_deadlines, "0 5 * * * *"),
    }


SCHEDULES = _schedules()


def apply_schedules() -> None:
    """Install the schedules in DBOS (deduplicated across processes by name)."""
    DBOS.apply_schedules(
        [
            {"schedule_name": name, "workflow_fn": fn, "schedule": cron, "queue_name": "default"}
            for name, (_wf, fn, cron) in SCHEDULES.items()
        ]
    )
