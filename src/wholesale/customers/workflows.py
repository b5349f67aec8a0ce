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


def _with_customer(point: str, customer_id: str, revision: int, work) -> object:  # noqa: ANN001
    """Run `work(session, customer)` in one transaction, after the fault point for tests and drills."""
    faults.check(point)
    with get_database().transaction() as session:
        customer = service.load_for_step(session, customer_id, revision)
        if customer is None:
            raise Superseded(customer_id)
        return work(session, customer)


def _grant(session, customer, rows, held) -> tuple[dict[str, tuple[int, str]], str | None]:  # noqa: ANN001
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


def _screen_inline(customer_id: str, trigger: str | None) -> object:
    """Screen the customer before the run's transaction opens (R10); None when not wanted or it failed."""
    if not trigger:
        return None
    from wholesale.compliance.workflows import screen_outside

    try:
        return screen_outside(customer_id)
    except Exception:  # R11: screening never holds provisioning up; the workflow screens again afterwards
        log.exception("inline screening failed", extra={"fields": {"customerId": customer_id}})
        return None


def _record_screening(session, customer_id: str, trigger: str, screened) -> bool:  # noqa: ANN001
    """Record an inline screening in the run's transaction, in a savepoint: if recording fails, the run
    still commits (R11) and the workflow screens again afterwards."""
    from wholesale.compliance import service as compliance

    try:
        with session.begin_nested():
            compliance.screen_customer(session, customer_id, trigger, *screened)
        return True
    except Exception:
        log.exception("recording the inline screening failed", extra={"fields": {"customerId": customer_id}})
        return False


@DBOS.step(**RETRY)
def step_converge(
    customer_id: str, revision: int, new: bool, screen: str | None = None
) -> tuple[dict[str, tuple[int, str]], str | None, bool]:
    """In one transaction: identity org (R16), full admin (new customers), removed packages, meetings site
    (R17, R18), calling location, every package granted, the status settled, and the screening `screen`
    asks for (R10) recorded.

    One step and one transaction for the whole run: under a burst, each extra step is another checkpoint
    and another turn at SQLite's single writer (docs/PERFORMANCE.md). Returns what `_grant` returns and
    whether the screening was recorded.
    """
    screened = _screen_inline(customer_id, screen)

    def converge(session, customer) -> tuple[dict[str, tuple[int, str]], str | None, bool]:  # noqa: ANN001
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
        failed, status = _grant(session, customer, packages, packages)
        recorded = screened is not None and _record_screening(session, customer_id, screen, screened)
        return failed, status, recorded

    return _with_customer("customers.prepare", customer_id, revision, converge)


@DBOS.step(**RETRY)
def step_grant(customer_id: str, revision: int, names: list[str]) -> tuple[dict[str, tuple[int, str]], str | None]:
    """Grant the packages that failed before (again); settle the status when all granted."""

    def grant(session, customer) -> tuple[dict[str, tuple[int, str]], str | None]:  # noqa: ANN001
        held = repository.packages_of(session, [customer.id])[customer.id]
        return _grant(session, customer, [r for r in held if r.name in names], held)

    return _with_customer("customers.grant", customer_id, revision, grant)


@DBOS.step(**RETRY)
def step_settle_with_failures(customer_id: str, revision: int, failed: dict[str, tuple[int, str]]) -> str:
    """Mark packages that never granted as errors and settle the status."""

    def settle(session, customer) -> str:  # noqa: ANN001
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


def _converge(customer_id: str, revision: int, *, new: bool, screen: str | None) -> tuple[str, bool]:
    """Make the platform match the customer record in one step, then retry packages that failed, then settle.

    Returns the outcome and whether the run's step recorded the screening `screen` asked for.
    """
    screened = False
    try:
        failed, status, screened = step_converge(customer_id, revision, new, screen)
        if status is not None:
            return status, screened
        for attempt in range(GRANT_ATTEMPTS - 1):  # the converge step was the first attempt
            DBOS.sleep(GRANT_BACKOFF_SECONDS * 2**attempt)  # durable: a restart resumes the wait
            failed, status = step_grant(customer_id, revision, sorted(failed))
            if status is not None:
                return status, screened
        # A package that will not grant is a per-package error, not a failed customer.
        return step_settle_with_failures(customer_id, revision, failed), screened
    except Exception as exc:
        if _superseded(exc):
            log.info("customer workflow superseded", extra={"fields": {"customerId": customer_id, "revision": revision}})
            return "superseded", screened
        _code, description = _describe(exc)
        try:
            step_fail(customer_id, revision, description)
        except Exception as fail_exc:
            if _superseded(fail_exc):
                return "superseded", screened
            raise
        return "error", screened


def _run(customer_id: str, revision: int, *, new: bool, screen: str | None) -> str:
    """Converge, then screen (R10) if the run's own step did not: the run was superseded or failed, or
    screening inline failed (R11: it never holds provisioning up).

    Screening rides in this workflow rather than a workflow of its own: one workflow per customer instead
    of two halves the queue and checkpoint work a create costs.
    """
    status, screened = _converge(customer_id, revision, new=new, screen=screen)
    if screen and not screened:
        from wholesale.compliance.workflows import step_screen

        step_screen(customer_id, screen)
    return status


@job("customers.provision", queue="provisioning")
def provision(customer_id: str, revision: int, screen: str | None = None) -> str:
    """Provision a new customer: org, admin, site, location, packages, status; then screen it (`screen` = trigger)."""
    return _run(customer_id, revision, new=True, screen=screen)


@job("customers.update", queue="provisioning")
def update(customer_id: str, revision: int, screen: str | None = None) -> str:
    """Apply an accepted update: org country, removed and added packages, status; re-screen a changed address."""
    return _run(customer_id, revision, new=False, screen=screen)


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
