"""Gauges read from the database at scrape time, so they are cluster-wide on PostgreSQL."""

import sqlalchemy as sa
from prometheus_client import Gauge

from wholesale.db.session import get_database

QUEUE_DEPTH = Gauge("wholesale_job_queue_depth", "Jobs waiting or running, per queue and status", ["queue", "status"])


def refresh_queue_depth() -> None:
    """Count ENQUEUED and PENDING workflows per queue."""
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
    except sa.exc.DBAPIError:
        return
    QUEUE_DEPTH.clear()
    for queue, status, count in rows:
        QUEUE_DEPTH.labels(queue or "none", status.lower()).set(count)
