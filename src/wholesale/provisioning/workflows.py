"""Durable customer workflows: provisioning runs in batches (`converge_batch`, drained from the run queue by the
provisioning pump), a run that fails in its batch retried alone (`provision`, `update`), and deletions (`delete`);
each step is one transaction, idempotent, retried with backoff (docs/ARCHITECTURE.md, "Provisioning in batches")."""

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from dbos import DBOS, SetWorkflowID
from dbos._error import DBOSMaxStepRetriesExceeded
from sqlalchemy.orm import Session

from wholesale.config import get_settings
from wholesale.customers import provisioning as customer_steps
from wholesale.customers import repository, runs
from wholesale.customers import service as customers_service
from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.db.session import get_database
from wholesale.dialin import service as dialin
from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.jobs import pump
from wholesale.jobs.enqueue import enqueue
from wholesale.jobs.workflow import job, step
from wholesale.kit import faults
from wholesale.kit.context import set_actor
from wholesale.provisioning import steps
from wholesale.provisioning.steps import GrantResult

log = logging.getLogger("wholesale.customers")
T = TypeVar("T")


class Superseded(Exception):
    """The customer changed again or is being deleted; this run stops quietly."""


def _not_superseded(exc: BaseException) -> bool:
    return not isinstance(exc, Superseded)


def _with_customer(point: str, customer_id: str, revision: int, work: Callable[[Session, Customer], T]) -> T:
    """Run `work(session, customer)` in one transaction, between the fault points for tests and drills.

    `point` fires before the transaction; `point.committed` fires after it committed and before DBOS records
    the step's output, where a crash makes DBOS run the step again (so each `work` is idempotent: it finds
    its own result and returns it).
    """
    faults.check(point)
    with get_database().transaction() as session:
        customer = customer_steps.load_for_step(session, customer_id, revision)
        if customer is None:
            raise Superseded(customer_id)
        result = work(session, customer)
    faults.check(f"{point}.committed")
    return result


@step(should_retry=_not_superseded)
def step_converge(customer_id: str, revision: int, new: bool) -> GrantResult:
    """A whole run in one transaction (`steps.converge`).

    One step and one transaction for the whole run: under a burst, each extra step is another checkpoint
    and another turn at SQLite's single writer (docs/PERFORMANCE.md). Returns what `steps.grant` returns.
    """
    return _with_customer(
        "customers.prepare", customer_id, revision, lambda session, c: steps.converge(session, c, new=new)
    )


@step(should_retry=_not_superseded)
def step_grant(customer_id: str, revision: int, names: list[str]) -> GrantResult:
    """Grant the packages that failed before (again); settle the status when all granted."""

    def grant(session: Session, customer: Customer) -> GrantResult:
        held = repository.packages_of(session, [customer.id])[customer.id]
        return steps.grant(session, customer, [r for r in held if r.name in names], held)

    return _with_customer("customers.grant", customer_id, revision, grant)


@step(should_retry=_not_superseded)
def step_settle_with_failures(customer_id: str, revision: int, failed: dict[str, tuple[int, str]]) -> str:
    """Mark packages that never granted as errors and settle the status."""

    return _with_customer(
        "customers.settle",
        customer_id,
        revision,
        lambda session, c: steps.settle_with_failures(session, c, failed),
    )


@step(should_retry=_not_superseded)
def step_fail(customer_id: str, revision: int, error_code: int, description: str) -> str:
    """Mark the run failed with the error its step failed with; return the status it leaves (`error`, or the
    status the run settled on when it had settled before the failure)."""
    return _with_customer(
        "customers.fail",
        customer_id,
        revision,
        lambda session, c: customer_steps.fail(session, c, description, error_code),
    )


GRANT_ATTEMPTS = 5
GRANT_BACKOFF_SECONDS = 0.2


def _root(exc: BaseException) -> BaseException:
    """The error a step really failed with (DBOS wraps the last one after the retries run out)."""
    if isinstance(exc, DBOSMaxStepRetriesExceeded) and exc.errors:
        return exc.errors[-1]
    return exc


def _describe(exc: BaseException) -> tuple[int, str]:
    root = _root(exc)
    if isinstance(root, faults.InjectedFault):
        return root.error_code, root.description
    return 2500, f"Provisioning step failed after retries: {root.__class__.__name__}."


def _superseded(exc: BaseException) -> bool:
    return isinstance(_root(exc), Superseded)


def _converge(customer_id: str, revision: int, *, new: bool) -> str:
    """Make the platform match the customer record in one step, then retry packages that failed, then settle."""
    try:
        failed, status = step_converge(customer_id, revision, new)
        for attempt in range(GRANT_ATTEMPTS - 1):  # the converge step was the first attempt
            if status is not None:
                return status
            DBOS.sleep(GRANT_BACKOFF_SECONDS * 2**attempt)  # durable: a restart resumes the wait
            failed, status = step_grant(customer_id, revision, sorted(failed))
        if status is not None:
            return status
        # A package that will not grant is a per-package error, not a failed customer.
        return step_settle_with_failures(customer_id, revision, failed)
    except Exception as exc:
        if _superseded(exc):
            log.info(
                "customer workflow superseded", extra={"fields": {"customerId": customer_id, "revision": revision}}
            )
            return "superseded"
        error_code, description = _describe(exc)
        try:
            settled = step_fail(customer_id, revision, error_code, description)
        except Exception as fail_exc:
            if _superseded(fail_exc):
                return "superseded"
            raise
        return settled or "error"  # None: recorded by a release whose step_fail returned nothing


@job("customers.provision", queue="provisioning")
def provision(customer_id: str, revision: int) -> str:
    """Provision a new customer: org, admin, site, location, packages, status."""
    return _converge(customer_id, revision, new=True)


@job("customers.update", queue="provisioning")
def update(customer_id: str, revision: int) -> str:
    """Apply an accepted update: org country, removed and added packages, status."""
    return _converge(customer_id, revision, new=False)


def _retry_alone(session: Session, run: runs.Run) -> None:
    """Hand a run that did not finish in its batch to a workflow of its own, in the batch's transaction: it
    retries with backoff, then settles the packages that never granted or marks the customer failed."""
    workflow = "customers.provision" if run.new else "customers.update"
    enqueue(
        session,
        workflow,
        run.customer_id,
        run.revision,
        key=f"{workflow}:{run.customer_id}:{run.revision}",
        partition_key=run.customer_id,
    )


def converge_taken(session: Session, taken: list[runs.Run], *, isolated: bool) -> dict[str, int]:
    """Converge every run taken from the queue in the caller's transaction.

    One query loads (and on PostgreSQL locks, in id order) every customer of the batch and one their packages;
    the runs' audit rows and events are written together at the end (`events.deferred`), and nothing is flushed
    between runs unless `isolated`. A run whose revision is not the customer's any more, or whose customer is
    being deleted, was superseded and does nothing. A run that leaves packages ungranted keeps its work and is
    retried alone (`_retry_alone`). A run that raises fails the whole batch unless `isolated`: then each run has
    a savepoint of its own, and one that raises rolls back alone and is retried alone. Returns counts by outcome.
    """
    counts = {"settled": 0, "superseded": 0, "retried": 0}
    customers = repository.live_for_update(session, [r.customer_id for r in taken])
    packages = repository.packages_of(session, list(customers))
    # Kept until the batch ends, so each run's `session.get` of its template finds it without a query.
    _templates = repository.templates_of(session, list(customers.values()))
    identity.load_users(session, [c.primary_email for c in customers.values() if c.primary_email])  # their admins
    # Their meetings sites and calling locations, one statement each (not one per run).
    sites, locations = dialin.sites_read(session, list(customers)), repository.locations_read(session, list(customers))
    with events.deferred(session), session.no_autoflush, sites, locations:
        for run in taken:
            customer = customers.get(run.customer_id)
            if customer is None or customer_steps.current(customer, run.revision) is None:
                counts["superseded"] += 1
                continue
            # Its audit rows name the run, as a workflow of its own would (`job:customers.provision`).
            set_actor(f"job:{'customers.provision' if run.new else 'customers.update'}", role="job")
            if isolated:
                status = _converge_in_savepoint(session, customer, run, packages[customer.id])
            else:
                _failed, status = steps.converge(session, customer, new=run.new, packages=packages[customer.id])
            if status is None:
                _retry_alone(session, run)
                counts["retried"] += 1
            else:
                counts["settled"] += 1
    # R10: the screenings the runs asked for, whatever became of the runs (superseded ones too).
    customers_service.enqueue_screenings(
        session, [(run.customer_id, revision, trigger) for run in taken for revision, trigger in run.screens]
    )
    return counts


def _converge_in_savepoint(
    session: Session, customer: Customer, run: runs.Run, packages: list[CustomerPackageRow]
) -> str | None:
    """Converge one run in a savepoint (flushed when it ends); None when it raised (rolled back) or left packages
    ungranted."""
    try:
        with session.begin_nested():  # rolled back, it takes its audit rows with it (`events.deferred`)
            return steps.converge(session, customer, new=run.new, packages=packages)[1]
    except Exception as exc:
        log.warning(
            "provisioning run failed in its batch; retrying it alone",
            extra={"fields": {"customerId": run.customer_id, "revision": run.revision, "error": repr(exc)}},
        )
        return None


@step()
def step_converge_batch(limit: int) -> dict[str, int]:
    """Take up to `limit` queued runs and do them in one transaction (the rows go with the work they did).

    Runs share the transaction's flush (one INSERT per table for the whole batch); when one raises, the whole
    transaction rolls back and the batch is done again with a savepoint per run, so the others still settle.
    """
    faults.check("customers.batch")
    try:
        with get_database().transaction() as session:
            taken = runs.take(session, limit)
            counts = converge_taken(session, taken, isolated=False) if taken else {}
    except Exception as exc:
        log.info(
            "provisioning batch failed as one; each run again in a savepoint", extra={"fields": {"error": repr(exc)}}
        )
        with get_database().transaction() as session:
            taken = runs.take(session, limit)
            counts = converge_taken(session, taken, isolated=True) if taken else {}
    faults.check("customers.batch.committed")
    return {"taken": len(taken), **counts}


@job("customers.converge_batch", queue="provisioning")
def converge_batch(limit: int) -> dict[str, int]:
    """A batch of provisioning runs (creates and updates of any customers) as one workflow and one step."""
    return step_converge_batch(limit)


def drain_one_batch() -> int:
    """The provisioning pump's drain: when runs wait, do one batch of them; return how many it took."""
    with get_database().transaction(write=False) as session:
        if not runs.waiting(session):
            return 0
    with SetWorkflowID(f"customers.batch:{uuid.uuid4().hex}"):
        return converge_batch(get_settings().provisioning_batch_size)["taken"]


pump.register(runs.PUMP, drain_one_batch)


@step(should_retry=_not_superseded)
def step_remove_everything(customer_id: str) -> bool:
    """Remove the customer's resources and leave a tombstone."""
    faults.check("customers.delete")
    with get_database().transaction() as session:
        removed = steps.remove_everything(session, customer_id)
    faults.check("customers.delete.committed")
    return removed


@job("customers.delete", queue="provisioning")
def delete(customer_id: str, revision: int) -> bool:
    """Remove a customer (partner request or R14 deprovisioning)."""
    return step_remove_everything(customer_id)
