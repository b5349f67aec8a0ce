"""Gauges read from the database at scrape time, so they are cluster-wide on PostgreSQL."""

import sqlalchemy as sa
from prometheus_client import Gauge

from wholesale.db.session import get_database

QUEUE_DEPTH = Gauge("wholesale_job_queue_depth", "Jobs waiting or running, per queue and status", ["queue", "status"])


def refresh_queue_depth() -> None:
    """Count ENQUEUED and PENDING workflows per queue, and the provisioning runs waiting for a batch (queue
    `customer_runs`, status `queued`: docs/ARCHITECTURE.md, "Provisioning in batches")."""
    db = get_database()
    table = "workflow_status" if db.is_sqlite else "dbos.workflow_status"
    try:
        with db.session(write=False) as session:
            rows = session.execute(
                sa.text(
                    f"SELECT queue_name, status, count(*) FROM {table} "
                    "WHERE status IN ('ENQUEUED', 'PENDING') GROUP BY queue_name, status"
                )
            ).all()
            runs = session.scalar(sa.text("SELECT count(*) FROM customer_run_queue"))
    except sa.exc.DBAPIError:
        return
    QUEUE_DEPTH.clear()
    for queue, status, count in rows:
        QUEUE_DEPTH.labels(queue or "none", status.lower()).set(count)
    QUEUE_DEPTH.labels("customer_runs", "queued").set(runs or 0)


TIME_TO_DECISION = Gauge(
    "wholesale_compliance_time_to_decision_seconds", "Case open to first decision (R12)", ["quantile"]
)
DECIDED_WITHIN = Gauge(
    "wholesale_compliance_decided_within_ratio", "Share of cases decided within a time (R12)", ["minutes"]
)
OPEN_CASES = Gauge("wholesale_compliance_open_cases", "Compliance cases awaiting a decision (the review queue)")


def refresh_compliance() -> None:
    """Publish R12's time-to-decision figures from the database."""
    from wholesale.compliance.service import stats

    db = get_database()
    with db.session(write=False) as session:
        figures = stats(session)
    OPEN_CASES.set(figures["openCases"])
    for q in ("p50", "p90"):
        value = figures["timeToDecisionSeconds"][q]
        if value is not None:
            TIME_TO_DECISION.labels(q.replace("p", "0.")).set(value)
    for minutes, key in (("15", "decidedWithin15Minutes"), ("60", "decidedWithin60Minutes")):
        if figures[key] is not None:
            DECIDED_WITHIN.labels(minutes).set(figures[key])
