"""Durable customer workflows: provision, update and delete; each step is one transaction, idempotent, retried with backoff."""

import logging

from dbos import DBOS
from dbos._error import DBOSMaxStepRetriesExceeded

from wholesale.customers import repository, service
from wholesale.db.session import get_database
from wholesale.jobs.workflow import job
from wholesale.kit import faults

log = logging.getLogger("wholesale.customers")


class Superseded(Exception):
    """The customer changed again or is being deleted; this run stops quietly."""


RETRY = {
    "retries_allowed": True,
    "max_attempts": 5,
    "interval_seconds": 0.2,
    "backoff_rate": 2.0,
    "should_retry": lambda exc: not isinstance(exc, Superseded),
}


def _with_customer(point: str, customer_id: str, revision: int, work) -> object:
    """Run `work(session, customer)` in one transaction, after the fault point for tests and drills."""
    faults.check(point)
    with get_database().transaction() as session:
        customer = service.load_for_step(session, customer_id, revision)
        if customer is None:
            raise Superseded(customer_id)
        return work(session, customer)


def _grant(session, customer, rows, held) -> tuple[dict[str, tuple[int, str]], str | None]:
    """Grant each package row of `rows` still provisioning; settle the status from `held` (all the customer's
    rows) when all granted.

    The fault point fires before a package is touched, so a failed grant leaves nothing to undo and the
    others keep theirs. Returns the packages that failed, with their error, and the settled status (None
    while some failed).
    """
    failed: dict[str, tuple[int, str]] = {}
    for row in rows:
        if row.status != "provisioning":
            continue
        try:
            faults.check(f"customers.grant:{row.name}")
        except faults.InjectedFault as exc:
            failed[row.name] = (exc.error_code, exc.description)
            continue
        service.grant_package(session, customer, row)
    if failed:
        return failed, None
    faults.check("customers.finish")
    return {}, service.finish(session, customer, held)


@DBOS.step(**RETRY)
def step_converge(customer_id: str, revision: int, new: bool) -> tuple[dict[str, tuple[int, str]], str | None]:
    """In one transaction: identity org (R16), full admin (new customers), removed packages, meetings site
    (R17, R18), calling location, every package granted and the status settled.

    One step and one transaction for the whole run: under a burst, each extra step is another checkpoint
    and another turn at SQLite's single writer (docs/PERFORMANCE.md). Returns what `_grant` returns.
    """

    def converge(session, customer) -> tuple[dict[str, tuple[int, str]], str | None]:
        faults.check("customers.org")
        service.ensure_identity_org(session, customer)
        packages = repository.packages_of(session, [customer.id])[customer.id]  # read once for the whole run
        if new:
            faults.check("customers.admin")
            service.ensure_full_admin(session, customer, {r.name: r for r in packages})
        packages = service.remove_packages(session, customer, packages)
        faults.check("customers.site")
        service.ensure_site(session, customer, packages)
        faults.check("customers.location")
        service.ensure_location(session, customer, packages)
        return _grant(session, customer, packages, packages)

    return _with_customer("customers.prepare", customer_id, revision, converge)


@DBOS.step(**RETRY)
def step_grant(customer_id: str, revision: int, names: list[str]) -> tuple[dict[str, tuple[int, str]], str | None]:
    """Grant the packages that failed before (again); settle the status when all granted."""

    def grant(session, customer) -> tuple[dict[str, tuple[int, str]], str | None]:
        held = repository.packages_of(session, [customer.id])[customer.id]
        return _grant(session, customer, [r for r in held if r.name in names], held)

    return _with_customer("customers.grant", customer_id, revision, grant)


@DBOS.step(**RETRY)
def step_settle_with_failures(customer_id: str, revision: int, failed: dict[str, tuple[int, str]]) -> str:
    """Mark packages that never granted as errors and settle the status."""

    def settle(session, customer) -> str:
        for name, (code, description) in sorted(failed.items()):
            service.fail_package(session, customer, name, code, description)
        faults.check("customers.finish")
        return service.finish(session, customer)

    return _with_customer("customers.settle", customer_id, revision, settle)


@DBOS.step(**RETRY)
def step_fail(customer_id: str, revision: int, description: str) -> None:
    """Mark the run failed."""
    _with_customer("customers.fail", customer_id, revision, lambda s, c: service.fail(s, c, description))


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
        _code, description = _describe(exc)
        try:
            step_fail(customer_id, revision, description)
        except Exception as fail_exc:
            if _superseded(fail_exc):
                return "superseded"
            raise
        return "error"


@job("customers.provision", queue="provisioning")
def provision(customer_id: str, revision: int) -> str:
    """Provision a new customer: org, admin, site, location, packages, status."""
    return _converge(customer_id, revision, new=True)


@job("customers.update", queue="provisioning")
def update(customer_id: str, revision: int) -> str:
    """Apply an accepted update: org country, removed and added packages, status."""
    return _converge(customer_id, revision, new=False)


@DBOS.step(**RETRY)
def step_remove_everything(customer_id: str) -> bool:
    """Remove the customer's resources and leave a tombstone."""
    faults.check("customers.delete")
    with get_database().transaction() as session:
        return service.remove_everything(session, customer_id)


@job("customers.delete", queue="provisioning")
def delete(customer_id: str, revision: int) -> bool:
    """Remove a customer (partner request or R14 deprovisioning)."""
    return step_remove_everything(customer_id)
