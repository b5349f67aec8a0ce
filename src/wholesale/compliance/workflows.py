"""Compliance jobs: screen a customer (R10, R11), re-screen on new lists, and the daily R14 deadline sweep."""

import logging
import time
from datetime import datetime
from typing import Any

from wholesale.compliance import lists, service
from wholesale.customers.models import Customer
from wholesale.db.session import get_database
from wholesale.jobs import runtime
from wholesale.jobs.workflow import job, step

log = logging.getLogger("wholesale.compliance")


@runtime.on_launch
def warm_screener() -> None:
    """Build the screening index when workers launch, off the request path: the first screening would
    otherwise stall this process for seconds while every customer provisioning waits on the GIL."""
    started = time.monotonic()
    try:
        with get_database().session(write=False) as session:
            lists.get_screener(session)
        # A worker process has no /readyz of its own: this line says when its screenings stop stalling its jobs.
        log.info("screening index ready", extra={"fields": {"seconds": round(time.monotonic() - started, 2)}})
    except Exception:  # the first screening job will build it (and report) instead
        log.exception("screening index warm-up failed")
    finally:
        lists.screener_ready.set()


# Screening is asynchronous by design (R11): its retries may wait longer than provisioning's.
SCREENING_RETRY_INTERVAL = 0.5


@step(interval_seconds=SCREENING_RETRY_INTERVAL)
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


@step(interval_seconds=SCREENING_RETRY_INTERVAL)
def step_screen_batch(wanted: list[list[str]]) -> int:
    """Screen a provisioning batch's customers outside any write transaction, then record every result in one."""
    db = get_database()
    pairs = [(customer_id, trigger) for customer_id, trigger in wanted]
    with db.session(write=False) as session:
        screener = lists.get_screener(session)
        results, failed = service.screen_many(session, screener, pairs)
    return service.record_batch(db.transaction, results, screener.list_set.sha256, failed)


@job("compliance.screen_batch", queue="compliance")
def screen_batch(wanted: list[list[str]]) -> int:
    """Screen the customers a provisioning batch created or readdressed, [customer id, trigger] each (R10, R11)."""
    return step_screen_batch(wanted)


@step(interval_seconds=SCREENING_RETRY_INTERVAL)
def step_check_deadlines() -> list[str]:
    """Deprovision customers non-compliant for 30 days (R14)."""
    with get_database().transaction() as session:
        return service.check_deadlines(session)


@job("compliance.check_deadlines")
def check_deadlines(_scheduled: datetime, _context: Any) -> list[str]:
    """The daily R14 sweep; measured on the injectable clock, so a sandbox tick after moving it shows it happen."""
    return step_check_deadlines()


@step(interval_seconds=SCREENING_RETRY_INTERVAL)
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
    return service.record_rescreens(db.transaction, results, screener.list_set.sha256), last


@job("compliance.rescreen_all")
def rescreen_all(_list_set_id: str) -> int:
    """Re-screen every live customer after a new list version was loaded (R10), a chunk per step.

    In chunks inside this one job rather than a job per customer: the compliance queue runs a few jobs
    per poll, so 10,000 jobs would take about 20 minutes; the screener does thousands of names a second.
    """
    total = 0
    after: str | None = ""
    while after is not None:
        recorded, after = step_rescreen_chunk(after)
        total += recorded
    return total
