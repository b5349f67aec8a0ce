"""The customer's own provisioning steps, called only from the lifecycle workflows (`wholesale.provisioning`).

Each works inside the caller's transaction on a customer the step loaded for update. Steps that reach into
other domains (the full admin's subscriber, the meetings site) live in `wholesale.provisioning.steps`.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.customers import repository, states, usage
from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow
from wholesale.customers.schemas import drop_none
from wholesale.customers.states import CustomerEvent, CustomerStatus, PackageStatus
from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.kit import clock, ids
from wholesale.packages.catalog import CALLING_PACKAGES, SKUS


def load_for_step(session: Session, customer_id: str, revision: int) -> Customer | None:
    """Return the customer a workflow step works on, or None when a newer change or a deletion superseded it."""
    return current(repository.get_live_unscoped(session, customer_id, for_update=True), revision)


def current(customer: Customer | None, revision: int) -> Customer | None:
    """The customer when a run of `revision` still applies to it; None when a newer change or a deletion
    superseded the run."""
    if (
        customer is None
        or customer.revision != revision
        or customer.status in (CustomerStatus.DELETING, CustomerStatus.DELETED)
    ):
        return None
    return customer


def settled(customer: Customer) -> bool:
    """True when the run of the customer's revision has settled it already, so a step finding it so is running
    again after its own commit and returns what the run settled on.

    DBOS records a step's output only after the step returns: a process that dies between the step's commit and
    that record runs the step again on recovery. Every change that starts a run (create, update, delete) moves the
    customer to provisioning, updating or deleting and bumps its revision, and only that run's steps settle it.
    """
    return customer.status in states.SETTLED


def ensure_identity_org(session: Session, customer: Customer) -> None:
    """Create the customer's identity org (country = billing country, R16), or make an existing one follow it."""
    if customer.org_id is None:
        org = identity.create_org(
            session,
            kind="customer",
            display_name=customer.name or customer.external_id,
            country_code=customer.country,
            language=customer.language,
            managed_by_org_id=customer.partner_org_id,
        )
        customer.org_id = org.id
        usage.details(session, customer)  # R2: reports show the org id from now on
        events.record(
            session,
            subject_type="customer",
            subject_id=customer.id,
            action="org.created",
            partner_org_id=customer.partner_org_id,
            data={"orgId": org.id, "countryCode": customer.country},
        )
        return
    linked = identity.repository.get_org(session, customer.org_id)
    if linked is not None and linked.kind == "customer" and linked.country_code != customer.country:
        events.record(
            session,
            subject_type="customer",
            subject_id=customer.id,
            action="org.country_changed",
            partner_org_id=customer.partner_org_id,
            data={"orgId": linked.id, "from": linked.country_code, "to": customer.country},
        )
        linked.country_code = customer.country  # R16: the org country follows the billing country


def ensure_location(session: Session, customer: Customer, packages: list[CustomerPackageRow]) -> None:
    """Create the calling location when a calling package is held."""
    if not any(r.name in CALLING_PACKAGES and r.status != PackageStatus.DELETING for r in packages):
        return
    if customer.calling_location is None or repository.get_location(session, customer.id) is not None:
        return
    spec = customer.calling_location
    repository.location_added(
        session,
        CallingLocation(
            id=ids.new_id("LOCATION"),
            customer_id=customer.id,
            org_id=customer.org_id,
            name=spec["name"],
            address=drop_none(spec["address"]),
            timezone=spec["timezone"],
            language=spec["language"],
            emergency_location_identifier=spec.get("emergencyLocationIdentifier"),
            created=clock.now(),
        ),
    )


def grant_package(session: Session, customer: Customer, row: CustomerPackageRow) -> None:
    """Grant one package: its licence id appears and it becomes provisioned."""
    if row.status != PackageStatus.PROVISIONING:
        return
    name = row.name
    if not row.license_ids:
        if customer.org_id is None:  # ensure_org runs before any package is granted
            raise RuntimeError(f"customer {customer.id} has no org to grant {name} in")
        row.license_ids = [
            ids.encode_id("LICENSE", f"{customer.org_id.split('/')[-1][-12:]}:{SKUS[name]}_{ids.new_id('L')[-12:]}")
        ]
    row.status = states.apply_package(row.status, "granted")
    row.errors = []


def fail_package(session: Session, customer: Customer, name: str, error_code: int, description: str) -> None:
    """Record that a package could not be granted."""
    row = repository.get_package(session, customer.id, name)
    if row is None or row.status != PackageStatus.PROVISIONING:
        return
    row.status = states.apply_package(row.status, "failed")
    row.errors = [{"errorCode": error_code, "description": description}]


def finish(session: Session, customer: Customer, rows: list[CustomerPackageRow] | None = None) -> str:
    """Settle the customer's status from its packages (pure table; `rows` when the caller holds them) and record it;
    return it (the status it settled on before, when the run settled it already)."""
    if settled(customer):
        return customer.status
    if rows is None:
        rows = repository.packages_of(session, [customer.id])[customer.id]
    rows = [r for r in rows if r.status != PackageStatus.DELETING]
    event = states.outcome_event([r.status for r in rows])
    if customer.errors and event == CustomerEvent.SUCCEEDED:
        event = CustomerEvent.PARTIALLY_SUCCEEDED
    before = customer.status
    customer.status = states.apply(customer.status, event)
    customer.updated = clock.now()
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.settled",
        partner_org_id=customer.partner_org_id,
        data={"from": before, "to": customer.status, "revision": customer.revision},
        before={"status": before},
        after={"status": customer.status},
    )
    return customer.status


def fail(session: Session, customer: Customer, description: str, error_code: int = 2500) -> str:
    """Mark a provisioning run failed after a step ran out of retries; return the status it leaves.

    A run that settled already keeps its status: this step ran before and committed, or the step that failed
    had committed the settled status and failed after it (its output unrecorded).
    """
    if settled(customer):
        return customer.status
    before = {"status": customer.status, "errors": customer.errors}
    customer.errors = [{"errorCode": error_code, "description": description}]
    for row in repository.packages_of(session, [customer.id])[customer.id]:
        if row.status == PackageStatus.PROVISIONING:
            row.status = states.apply_package(row.status, "failed")
            row.errors = [{"errorCode": error_code, "description": description}]
    customer.status = states.apply(customer.status, CustomerEvent.FAILED)
    customer.updated = clock.now()
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.failed",
        partner_org_id=customer.partner_org_id,
        data={"error": description},
        before=before,
        after={"status": customer.status, "errors": customer.errors},
    )
    return customer.status


def load_for_removal(session: Session, customer_id: str) -> Customer | None:
    """Return the customer a delete run removes, or None when it is gone already (the run is idempotent)."""
    customer = repository.get_live_unscoped(session, customer_id, for_update=True)
    if customer is None or customer.status != CustomerStatus.DELETING:
        return None
    return customer


def tombstoned(session: Session, customer_id: str) -> bool:
    """True when the customer is a tombstone: a delete run removed it."""
    customer = session.get(Customer, customer_id)
    return customer is not None and customer.status == CustomerStatus.DELETED


def split_removed(rows: list[CustomerPackageRow]) -> tuple[list[CustomerPackageRow], list[CustomerPackageRow]]:
    """The package rows marked for removal, and those that stay."""
    removed = [r for r in rows if r.status == PackageStatus.DELETING]
    return removed, [r for r in rows if r.status != PackageStatus.DELETING]


def delete_rows(session: Session, customer: Customer, rows: list[CustomerPackageRow]) -> None:
    """Drop package rows (those marked for removal): the customer no longer holds them (R2: the ledger says so)."""
    usage.packages_removed(session, customer, rows)
    for row in rows:
        session.delete(row)


def leave_tombstone(session: Session, customer: Customer) -> None:
    """Delete the customer's location and packages and mark it deleted (its row stays as a tombstone)."""
    session.execute(sa.delete(CallingLocation).where(CallingLocation.customer_id == customer.id))
    usage.packages_removed(session, customer, repository.packages_of(session, [customer.id])[customer.id])  # R2
    session.execute(sa.delete(CustomerPackageRow).where(CustomerPackageRow.customer_id == customer.id))
    before = customer.status
    customer.status = states.apply(customer.status, CustomerEvent.DELETED)
    now = clock.now()
    customer.deleted_at = now
    customer.updated = now
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.deleted",
        partner_org_id=customer.partner_org_id,
        data={"orgId": customer.org_id, "externalId": customer.external_id},
        before={"status": before},
        after={"status": customer.status},
    )
