"""Compliance jobs: screen a customer (R10, R11), re-screen on new lists, and the daily R14 deadline sweep."""

from datetime import datetime
from typing import Any

from dbos import DBOS

from wholesale.compliance import lists, service
from wholesale.customers.models import Customer
from wholesale.db.session import get_database
from wholesale.jobs.workflow import job

RETRY = {"retries_allowed": True, "max_attempts": 5, "interval_seconds": 0.5, "backoff_rate": 2.0}


@DBOS.step(**RETRY)
def step_screen(customer_id: str, trigger: str) -> str:
    """Screen the customer outside any write transaction, then record the result and act on it in one."""
    db = get_database()
    with db.session(write=False) as session:
        customer = session.get(Customer, customer_id)
        if customer is None or customer.deleted_at is not None:
            return "skipped"
        screener = lists.get_screener(session)
        result = screener.screen(service.query_for(customer))
        list_sha256 = screener.list_set.sha256
    with db.transaction() as session:
        return service.screen_customer(session, customer_id, trigger, result, list_sha256)


@job("compliance.screen_customer", queue="compliance")
def screen_customer(customer_id: str, trigger: str) -> str:
    """Screen one customer against the lists in force."""
    return step_screen(customer_id, trigger)


@DBOS.step(**RETRY)
def step_check_deadlines() -> list[str]:
    """Deprovision customers non-compliant for 30 days (R14)."""
    with get_database().transaction() as session:
        return service.check_deadlines(session)


@job("compliance.check_deadlines")
def check_deadlines(_scheduled: datetime, _context: Any) -> list[str]:
    """The daily R14 sweep; measured on the injectable clock, so a sandbox tick after moving it shows it happen."""
    return step_check_deadlines()


@DBOS.step(**RETRY)
def step_rescreen_chunk(after: str) -> tuple[int, str | None]:
    """Re-screen the next chunk of live customers: screened outside any write transaction, recorded in one.

    Returns how many were recorded and where the next chunk starts (None when all were done).
    """
    db = get_database()
    with db.session(write=False) as session:
        screener = lists.get_screener(session)
        results, last = service.rescreen_chunk(session, screener, after)
    if not results:
        return 0, last
    with db.transaction() as session:
        return service.record_rescreens(session, results, screener.list_set.sha256), last


@job("compliance.rescreen_all")
def rescreen_all(_list_set_id: str) -> int:
    """Re-screen every live customer after a new list version was loaded (R10), a chunk per step.

    In chunks inside this one job rather than a job per customer: the compliance queue runs a few jobs
    per poll, so 10,000 jobs would take about 20 minutes; the screener does thousands of names a second.
    """
    total, after = 0, ""
    while after is not None:
        recorded, after = step_rescreen_chunk(after)
        total += recorded
    return total
