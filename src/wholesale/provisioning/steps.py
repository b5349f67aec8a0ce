"""Provisioning steps that span domains, each inside the caller's transaction; `converge` is a whole run.

A workflow may run each step again after the step committed (`customers.provisioning.settled` says why): a step
that finds the run settled returns what it settled on and writes nothing; one that finds it unsettled does again
only what is still undone.
"""

from sqlalchemy.orm import Session

from wholesale.customers import provisioning as customer_steps
from wholesale.customers import repository as customers_repo
from wholesale.customers.models import Customer, CustomerPackageRow, CustomerTemplate
from wholesale.customers.rules import EMAIL_IN_USE
from wholesale.customers.states import PackageStatus
from wholesale.dialin import service as dialin
from wholesale.identity import service as identity
from wholesale.kit import faults
from wholesale.packages.catalog import MEETINGS_PACKAGES
from wholesale.subscribers import admins as subscriber_admins

GrantResult = tuple[dict[str, tuple[int, str]], str | None]
ADMIN_NOT_GRANTED = 3200  # the package warning `subscribers.admins.ensure_admin_subscriber` leaves


def ensure_full_admin(session: Session, customer: Customer, rows: dict[str, CustomerPackageRow] | None = None) -> None:
    """Create the customer's full administrator from customerInfo.primaryEmail (new orgs only); `rows` are
    the customer's package rows by name when the caller already holds them."""
    if not customer.primary_email or customer.org_id is None:
        return
    existing = identity.find_user(session, customer.primary_email)
    if existing is None:
        user = identity.create_user(session, org_id=customer.org_id, email=customer.primary_email, roles=["full_admin"])
    elif existing.org_id != customer.org_id:
        # Taken by someone else between acceptance and now: the customer exists, without its admin.
        customer.errors = [
            {"errorCode": EMAIL_IN_USE, "description": f"{customer.primary_email} already belongs to an existing user."}
        ]
        return
    else:
        user = existing
    if rows is not None:
        # A run again after its commit tries the tier package again: its earlier warning goes, or comes back.
        for row in rows.values():
            if any(w.get("errorCode") == ADMIN_NOT_GRANTED for w in row.warnings or []):
                row.warnings = [w for w in row.warnings if w.get("errorCode") != ADMIN_NOT_GRANTED]
    # R5: the admin holds the customer's tier package.
    subscriber_admins.ensure_admin_subscriber(session, customer, user=user, new_user=existing is None, rows=rows)


def ensure_site(session: Session, customer: Customer, packages: list[CustomerPackageRow]) -> None:
    """Create the meetings site when a meetings package is held; a missing call-in number is a package warning (R18)."""
    meetings = [r for r in packages if r.name in MEETINGS_PACKAGES and r.status != PackageStatus.DELETING]
    if not meetings or customer.org_id is None:
        return
    template = session.get(CustomerTemplate, customer.provisioning_id)
    pstn_enabled = template.pstn_enabled if template else True
    # An existing site follows a changed org country (R16, R17) unless an operator pinned its number.
    site = dialin.rederive_site(session, customer.id, customer.country, pstn_enabled) or dialin.ensure_site(
        session,
        absent=True,  # rederive_site just looked for it in this transaction
        customer_id=customer.id,
        org_id=customer.org_id,
        name=customer.name or customer.external_id or customer.id,
        country=customer.country,
        pstn_enabled=pstn_enabled,
    )
    warning = [{"errorCode": 3100, "description": site.warning}] if site.warning else []
    for row in meetings:
        # Keep other warnings (e.g. the full admin's package did not fit the cap).
        row.warnings = [w for w in (row.warnings or []) if w.get("errorCode") != 3100] + warning


def remove_packages(session: Session, customer: Customer, rows: list[CustomerPackageRow]) -> list[CustomerPackageRow]:
    """Drop the customer's package rows marked for removal (and the site when no meetings package is left);
    return the rows that stay."""
    removed, kept = customer_steps.split_removed(rows)
    customer_steps.delete_rows(session, customer, removed)
    if any(r.name in MEETINGS_PACKAGES for r in removed) and not {r.name for r in kept} & MEETINGS_PACKAGES:
        dialin.remove_site(session, customer.id)
    return kept


def grant(
    session: Session, customer: Customer, rows: list[CustomerPackageRow], held: list[CustomerPackageRow]
) -> GrantResult:
    """Grant each package row of `rows` still provisioning; settle the status from `held` (all the customer's
    rows) when all granted.

    The fault point fires before a package is touched, so a failed grant leaves nothing to undo and the
    others keep theirs. Returns the packages that failed, with their error, and the settled status (None
    while some failed).
    """
    if customer_steps.settled(customer):
        return {}, customer.status
    failed: dict[str, tuple[int, str]] = {}
    for row in rows:
        if row.status != PackageStatus.PROVISIONING:
            continue
        try:
            faults.check(f"customers.grant:{row.name}")
        except faults.InjectedFault as exc:
            failed[row.name] = (exc.error_code, exc.description)
            continue
        customer_steps.grant_package(session, customer, row)
    if failed:
        return failed, None
    faults.check("customers.finish")
    return {}, customer_steps.finish(session, customer, held)


def settle_with_failures(session: Session, customer: Customer, failed: dict[str, tuple[int, str]]) -> str:
    """Mark the packages that never granted as errors and settle the status; return it."""
    if customer_steps.settled(customer):
        return customer.status
    for name, (code, description) in sorted(failed.items()):
        customer_steps.fail_package(session, customer, name, code, description)
    faults.check("customers.finish")
    return customer_steps.finish(session, customer)


def converge(
    session: Session, customer: Customer, *, new: bool, packages: list[CustomerPackageRow] | None = None
) -> GrantResult:
    """A whole run in the caller's transaction: identity org (R16), full admin (new customers), removed
    packages, meetings site (R17, R18), calling location, every package granted and the status settled.
    `packages` are the customer's package rows when the caller loaded them (a batch loads all at once)."""
    if customer_steps.settled(customer):
        return {}, customer.status
    faults.check("customers.org")
    customer_steps.ensure_identity_org(session, customer)
    if packages is None:
        packages = customers_repo.packages_of(session, [customer.id])[customer.id]  # read once for the whole run
    if new:
        faults.check("customers.admin")
        ensure_full_admin(session, customer, {r.name: r for r in packages})
    packages = remove_packages(session, customer, packages)
    faults.check("customers.site")
    ensure_site(session, customer, packages)
    faults.check("customers.location")
    customer_steps.ensure_location(session, customer, packages)
    return grant(session, customer, packages, packages)


def remove_everything(session: Session, customer_id: str) -> bool:
    """Delete a customer's subscribers, site, location, packages and org link; leave a tombstone (idempotent)."""
    customer = customer_steps.load_for_removal(session, customer_id)
    if customer is None:
        return customer_steps.tombstoned(session, customer_id)  # True when this run removed it before
    subscriber_admins.remove_customer_subscribers(session, customer)
    dialin.remove_site(session, customer.id)
    customer_steps.leave_tombstone(session, customer)
    return True
