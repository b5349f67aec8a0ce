"""Durable customer workflows: provision, update and delete; each step is one transaction, idempotent, retried."""

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


@DBOS.step(**RETRY)
def step_org(customer_id: str, revision: int) -> None:
    """Create or update the identity org (R16)."""
    _with_customer("customers.org", customer_id, revision, service.ensure_identity_org)


@DBOS.step(**RETRY)
def step_admin(customer_id: str, revision: int) -> None:
    """Create the full administrator."""
    _with_customer("customers.admin", customer_id, revision, service.ensure_full_admin)


@DBOS.step(**RETRY)
def step_site(customer_id: str, revision: int) -> None:
    """Create the meetings site with its default call-in number (R17, R18)."""
    _with_customer(
        "customers.site",
        customer_id,
        revision,
        lambda s, c: service.ensure_site(s, c, repository.packages_of(s, [c.id])[c.id]),
    )


@DBOS.step(**RETRY)
def step_location(customer_id: str, revision: int) -> None:
    """Create the calling location when a calling package is held."""
    _with_customer(
        "customers.location",
        customer_id,
        revision,
        lambda s, c: service.ensure_location(s, c, repository.packages_of(s, [c.id])[c.id]),
    )


@DBOS.step(**RETRY)
def step_remove_packages(customer_id: str, revision: int) -> list[str]:
    """Drop packages the update left out."""
    return _with_customer("customers.remove", customer_id, revision, service.remove_packages)


@DBOS.step(**RETRY)
def step_pending_packages(customer_id: str, revision: int) -> list[str]:
    """List packages still to grant."""
    return _with_customer(
        "customers.pending",
        customer_id,
        revision,
        lambda s, c: [r.name for r in repository.packages_of(s, [c.id])[c.id] if r.status == "provisioning"],
    )


@DBOS.step(**RETRY)
def step_grant(customer_id: str, revision: int, name: str) -> None:
    """Grant one package (licence ids)."""
    _with_customer(f"customers.grant:{name}", customer_id, revision, lambda s, c: service.grant_package(s, c, name))


@DBOS.step(**RETRY)
def step_fail_package(customer_id: str, revision: int, name: str, code: int, description: str) -> None:
    """Record a package that could not be granted."""
    _with_customer("customers.fail_package", customer_id, revision, lambda s, c: service.fail_package(s, c, name, code, description))


@DBOS.step(**RETRY)
def step_finish(customer_id: str, revision: int) -> str:
    """Settle the status from the packages."""
    return _with_customer("customers.finish", customer_id, revision, service.finish)


@DBOS.step(**RETRY)
def step_fail(customer_id: str, revision: int, description: str) -> None:
    """Mark the run failed."""
    _with_customer("customers.fail", customer_id, revision, lambda s, c: service.fail(s, c, description))


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
    """Make the platform match the customer record, one idempotent step at a time."""
    try:
        step_org(customer_id, revision)
        if new:
            step_admin(customer_id, revision)
        step_remove_packages(customer_id, revision)
        step_site(customer_id, revision)
        step_location(customer_id, revision)
        for name in step_pending_packages(customer_id, revision):
            try:
                step_grant(customer_id, revision, name)
            except Exception as exc:  # a package that will not grant is a per-package error, not a failed customer
                if _superseded(exc):
                    raise
                code, description = _describe(exc)
                step_fail_package(customer_id, revision, name, code, description)
        return step_finish(customer_id, revision)
    except Exception as exc:
        if _superseded(exc):
            log.info("customer workflow superseded", extra={"fields": {"customerId": customer_id, "revision": revision}})
            return "superseded"
        _code, description = _describe(exc)
        try:
            step_fail(customer_id, revision, description)
        except Exception as fail_exc:
            if _superseded(fail_exc):
                return "superseded"
            raise
        return "error"


@job("customers.provision")
def provision(customer_id: str, revision: int) -> str:
    """Provision a new customer: org, admin, site, location, packages, status."""
    return _converge(customer_id, revision, new=True)


@job("customers.update")
def update(customer_id: str, revision: int) -> str:
    """Apply an accepted update: org country, removed and added packages, status."""
    return _converge(customer_id, revision, new=False)


@DBOS.step(**RETRY)
def step_remove_everything(customer_id: str) -> bool:
    """Remove the customer's resources and leave a tombstone."""
    faults.check("customers.delete")
    with get_database().transaction() as session:
        return service.remove_everything(session, customer_id)


@job("customers.delete")
def delete(customer_id: str, revision: int) -> bool:
    """Remove a customer (partner request or R14 deprovisioning)."""
    return step_remove_everything(customer_id)
