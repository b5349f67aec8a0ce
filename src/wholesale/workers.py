"""The worker side of a process: every workflow module (so DBOS knows them), the periodic schedules, and launch.

Above every domain: it is the one place that imports all their workflows. Services never import it; they
enqueue by job name (`jobs/catalog.py`).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from wholesale.billing import workflows as billing_workflows
from wholesale.compliance import workflows as compliance_workflows
from wholesale.config import Settings
from wholesale.dialin import workflows as dialin_workflows
from wholesale.events import workflows as events_workflows
from wholesale.identity import workflows as identity_workflows
from wholesale.jobs import housekeeping, probe, runtime
from wholesale.provisioning import workflows as provisioning_workflows
from wholesale.subscribers import workflows as subscriber_workflows
from wholesale.webhooks import workflows as webhook_workflows

WORKFLOW_MODULES = (
    billing_workflows,
    compliance_workflows,
    dialin_workflows,
    events_workflows,
    housekeeping,
    probe,
    provisioning_workflows,
    subscriber_workflows,
    webhook_workflows,
)

# Every periodic job, in one place; `POST /v1/sandbox/tick` runs them all at once.
# name -> (workflow name, workflow function, cron with seconds first)
SCHEDULES: dict[str, tuple[str, Callable[[datetime, Any], Any], str]] = {
    "purge-idempotency-keys": ("ops.purge_idempotency_keys", housekeeping.purge_idempotency_keys, "0 17 3 * * *"),
    # Every 10 minutes: with the shared store each caller leaves a row, and idle ones are full buckets.
    "purge-rate-limit-buckets": (
        "ops.purge_rate_limit_buckets",
        housekeeping.purge_rate_limit_buckets,
        "0 */10 * * * *",
    ),
    "purge-events": ("events.purge", events_workflows.purge, "0 47 3 * * *"),
    "purge-webhook-deliveries": (
        "webhooks.purge_deliveries",
        webhook_workflows.purge_deliveries,
        "0 53 3 * * *",
    ),
    "purge-portal-sessions": (
        "identity.purge_portal_sessions",
        identity_workflows.purge_portal_sessions,
        "0 23 4 * * *",
    ),
    # Hourly, so a 30-day deadline (R14) bites within the hour it falls due.
    "compliance-deadlines": ("compliance.check_deadlines", compliance_workflows.check_deadlines, "0 5 * * * *"),
}


def launch(settings: Settings | None = None) -> bool:
    """Start this process's workers with every workflow and schedule (see `jobs.runtime.launch`)."""
    return runtime.launch(
        settings,
        schedules=[
            {"schedule_name": name, "workflow_fn": fn, "schedule": cron, "queue_name": "default"}
            for name, (_workflow, fn, cron) in SCHEDULES.items()
        ],
    )
