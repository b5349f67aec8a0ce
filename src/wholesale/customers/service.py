"""Customers: create, update and delete (each a 202 and a workflow), precheck, and reads."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from wholesale.customers import repository, rules, runs, states, usage, validation
from wholesale.customers.models import Customer, CustomerPackageRow, CustomerTemplate
from wholesale.customers.schemas import (
    AddressIn,
    CustomerCreate,
    CustomerUpdate,
    CustomerValidate,
    LocationIn,
    drop_none,
)
from wholesale.customers.states import CustomerEvent, CustomerStatus, PackageStatus
from wholesale.events import service as events
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.errors import Conflict, NotFound, field_error
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.kit.problems import Checks
from wholesale.partners.tenancy import Tenant


def owned_customer(session: Session, tenant: Tenant, customer_id: str, *, for_update: bool = False) -> Customer:
    """Return a live customer the tenant may see (404 for anyone else's)."""
    customer = repository.get_owned(session, tenant, customer_id, for_update=for_update)
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found.")
    return customer


def create_customer(session: Session, tenant: Tenant, body: CustomerCreate) -> Customer:
    """Accept a new customer: write it as `provisioning` and enqueue its provisioning workflow (202)."""
    partner_org_id = tenant.partner
    plan = rules.plan_create(session, partner_org_id, body)
    now = clock.now()
    address = plan.address
    if plan.template is None:  # a create body requires provisioningId, and plan_create checks it names a template
        raise RuntimeError("plan_create returned a create plan without a customer template")
    values: dict[str, Any] = {
        "id": ids.new_id("ENTERPRISE"),
        "partner_org_id": partner_org_id,
        "org_id": plan.org.id if plan.org else None,
        "external_id": validation.check_external_id("externalId", body.externalId),
        "provisioning_id": plan.template.id,
        "name": plan.name or (plan.org.display_name if plan.org else None),
        "primary_email": plan.primary_email,
        "language": plan.language,
        "address_line1": address.addressLine1,
        "address_line2": address.addressLine2,
        "city": address.city,
        "state_or_province": address.stateOrProvince,
        "zip_or_postal_code": address.zipOrPostalCode,
        "country": address.country,
        "status": CustomerStatus.PROVISIONING,
        "errors": [],
        "package_limits": plan.limits,
        "meetings_timezone": plan.meetings_timezone,
        "calling_location": plan.location.model_dump() if plan.location else None,
        "sub_partner_admin_email": plan.sub_partner_admin_email,
        "is_partner_org": plan.is_partner_org,
        "compliance_hold": False,
        "revision": 1,
        "created": now,
        "updated": now,
    }
    package_values = [_package_values(values["id"], name, plan.limits, now) for name in plan.packages]
    # The customer, its packages and its queued run are Core inserts of statements built once: the ORM's unit of work
    # would cost more than the rows (issue 15).
    customer, new_rows = repository.insert_new(session, values, package_values)
    usage.created(session, customer, new_rows)  # R2: what its billing reports show, and its packages
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.created",
        partner_org_id=partner_org_id,
        data={"externalId": customer.external_id, "packages": plan.packages, "country": customer.country},
    )
    _enqueue_converge(session, customer, "customers.provision", screen="created")  # R10
    return customer


def update_customer(
    session: Session, tenant: Tenant, customer_id: str, body: CustomerUpdate, *, every_problem: bool = False
) -> Customer:
    """Accept a change to packages, address, limits or externalId; the workflow applies it (202). Every rule runs
    before anything changes: the first problem is raised, or with `every_problem` (the portal's form) all of them
    together (kit.problems.Problems)."""
    partner_org_id = tenant.partner
    customer = owned_customer(session, tenant, customer_id, for_update=True)
    new_status = states.apply(customer.status, CustomerEvent.UPDATE_REQUESTED)
    template = session.get(CustomerTemplate, customer.provisioning_id)
    rows = {r.name: r for r in repository.packages_of(session, [customer.id])[customer.id]}
    previous = _audited(customer, [n for n, r in rows.items() if r.status != PackageStatus.DELETING])
    checks = Checks(every_problem)
    wanted: list[str] | None = None
    with checks:
        wanted = rules.check_packages(body.packages, template)
    location: LocationIn | None = None
    meetings_tz: str | None = None
    limits: dict[str, int] = {}
    with checks:
        location, meetings_tz, limits = rules.check_parameters(
            body.provisioningParameters,
            wanted or [],
            stored_location=customer.calling_location is not None,
            checks=checks,
        )
    for name in sorted(set(rows) - set(wanted)) if wanted is not None else []:
        with checks:
            if rows[name].assigned > 0:
                raise Conflict(
                    f"packages: {name} cannot be removed while {rows[name].assigned} user(s) hold it; "
                    "move them to another package or delete them first.",
                    error_code=409300,
                )
    merged_limits = {**(customer.package_limits or {}), **limits}
    for name, limit in sorted(limits.items()):
        row = rows.get(name)
        with checks:
            if row is not None and wanted is not None and name in wanted and limit < row.assigned:
                raise Conflict(
                    f"provisioningParameters.packages.limits.{name}: {limit} is below the {row.assigned} already "
                    "assigned.",
                    error_code=409301,
                )
    external_id = None
    if body.externalId is not None:
        with checks:
            external_id = validation.check_external_id("externalId", body.externalId)
            if external_id != customer.external_id and repository.external_id_taken(
                session, partner_org_id, external_id, exclude_id=customer.id
            ):
                raise Conflict(
                    f"externalId: a customer with externalId '{external_id}' already exists.", error_code=409100
                )
    address = validation.check_address("address", body.address, checks) if body.address is not None else None
    sub_partner_admin_email = None
    if body.subPartnerAdminEmail is not None:
        with checks:
            sub_partner_admin_email = validation.check_email("subPartnerAdminEmail", body.subPartnerAdminEmail)
    checks.done()
    if wanted is None:  # only when a check failed, and checks.done() raised it
        raise RuntimeError("update_customer: the package check failed without raising")
    changes: dict[str, Any] = {}
    if external_id is not None and external_id != customer.external_id:
        changes["externalId"] = [customer.external_id, external_id]
        customer.external_id = external_id
        usage.details(session, customer)  # R2: reports show the new externalId from now on
    address_changed = False
    if address is not None:
        before = address_of(customer)
        _set_address(customer, address)
        address_changed = before != address_of(customer)
        if address_changed:
            changes["address"] = [before, address_of(customer)]
    if sub_partner_admin_email is not None:
        customer.sub_partner_admin_email = sub_partner_admin_email
    if location is not None:
        customer.calling_location = location.model_dump()
    if meetings_tz is not None:
        customer.meetings_timezone = meetings_tz
    now = clock.now()
    added, removed = sorted(set(wanted) - set(rows)), sorted(set(rows) - set(wanted))
    for name in removed:
        rows[name].status = states.apply_package(rows[name].status, "remove")
    new_rows = [_package_row(customer, name, now, merged_limits) for name in added]
    session.add_all(new_rows)
    usage.packages_added(session, customer, new_rows)  # R2
    capped = []
    for name in wanted:
        if name in rows:
            if rows[name].quantity_limit != merged_limits.get(name):
                rows[name].quantity_limit = merged_limits.get(name)
                capped.append(rows[name])
            if rows[name].status == PackageStatus.ERROR:
                rows[name].status = states.apply_package(rows[name].status, "retry")
    usage.limits_changed(session, customer, capped)  # R2
    customer.package_limits = merged_limits
    customer.status = new_status
    customer.errors = []
    customer.revision += 1
    customer.updated = now
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.update_requested",
        partner_org_id=partner_org_id,
        data={"added": added, "removed": removed, "limits": limits, **changes},
        before=previous,
        after=_audited(customer, list(wanted)),
    )
    _enqueue_converge(session, customer, "customers.update", screen="address_changed" if address_changed else None)
    return customer


def delete_customer(session: Session, tenant: Tenant, customer_id: str) -> Customer:
    """Accept a removal: status `deleting`, then the workflow removes everything and leaves a tombstone (202)."""
    customer = owned_customer(session, tenant, customer_id, for_update=True)
    return request_deletion(session, customer, reason="partner request")


def request_deletion(session: Session, customer: Customer, *, reason: str) -> Customer:
    """Move a customer to `deleting` and enqueue its removal (also used by compliance, R14)."""
    if customer.status == CustomerStatus.DELETING:
        return customer
    before = customer.status
    customer.status = states.apply(customer.status, CustomerEvent.DELETE_REQUESTED)
    customer.revision += 1
    customer.updated = clock.now()
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.delete_requested",
        partner_org_id=customer.partner_org_id,
        data={"reason": reason},
        before={"status": before},
        after={"status": customer.status},
    )
    enqueue(
        session,
        "customers.delete",
        customer.id,
        customer.revision,
        key=f"customers.delete:{customer.id}:{customer.revision}",
        partition_key=customer.id,
    )
    return customer


def _audited(customer: Customer, packages: list[str]) -> dict[str, Any]:
    """The fields of a customer an update may change, as its audit row's before and after show them."""
    return {
        "status": customer.status,
        "externalId": customer.external_id,
        "address": address_of(customer),
        "packages": sorted(packages),
        "limits": dict(sorted((customer.package_limits or {}).items())),
        "subPartnerAdminEmail": customer.sub_partner_admin_email,
        "meetingsTimezone": customer.meetings_timezone,
        "callingLocation": customer.calling_location,
    }


def precheck(session: Session, tenant: Tenant, body: CustomerValidate) -> dict[str, Any]:
    """Run the create rules without writing anything (POST /customers/validate)."""
    partner_org_id = tenant.partner
    rules.plan_create(session, partner_org_id, body, precheck=True)
    return {"message": "success", "info": rules.PRECHECK_OK}


def _package_row(customer: Customer, name: str, now: Any, limits: dict[str, int] | None = None) -> CustomerPackageRow:
    limits = customer.package_limits if limits is None else limits
    return CustomerPackageRow(**_package_values(customer.id, name, limits, now))


def _package_values(customer_id: str, name: str, limits: dict[str, int] | None, now: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": name,
        "status": PackageStatus.PROVISIONING,
        "quantity_limit": (limits or {}).get(name),
        "assigned": 0,
        "license_ids": [],
        "errors": [],
        "warnings": [],
        "created": now,
    }


def _enqueue_converge(session: Session, customer: Customer, workflow: str, *, screen: str | None) -> None:
    """Queue the run of the customer's new revision (`customers.runs`), in this transaction, and wake the
    provisioning pump when it commits: batches of runs go through one workflow each
    (`wholesale.provisioning.workflows.converge_batch`), and a run that fails in its batch is retried alone as
    the `workflow` job (`customers.provision` or `customers.update`).

    `screen` names why the customer must be screened (R10: its billing address was set or changed): the batch
    that takes the run enqueues the screening (`enqueue_screenings`) in its own transaction, whatever becomes of
    the run, so the queued row makes the screening as certain as enqueuing it here would, and the request does
    not pay for a workflow of its own."""
    runs.queue(session, customer, new=workflow == "customers.provision", screen=screen)


def request_screening(session: Session, customer: Customer, trigger: str) -> str:
    """Screen the customer (R10) in the caller's transaction, so it cannot be skipped: when compliance hands a
    re-screening to a job of its own (a create or an address change screens through its queued run)."""
    return enqueue_screening(session, customer.id, customer.revision, trigger)


def enqueue_screening(session: Session, customer_id: str, revision: int, trigger: str) -> str:
    """Enqueue the screening of a customer's revision for `trigger`, in the caller's transaction.

    A workflow of its own on the compliance queue, not a step of the provisioning run: screening must never
    delay provisioning (R11), and that queue is polled less often and yields the writer to requests. (Screening
    inside the run made a burst's runs wait for each other's screening: p50 3.6 s instead of 2.2-2.7 s.)

    Enqueued by name: customers do not import compliance (which sits above them); the key makes each create
    or address change screen exactly once.
    """
    return enqueue(
        session,
        "compliance.screen_customer",
        customer_id,
        trigger,
        key=f"compliance.screen:{customer_id}:{revision}:{trigger}",
    )


def enqueue_screenings(session: Session, wanted: list[tuple[str, int, str]]) -> str | None:
    """Enqueue the screenings a provisioning batch's runs asked for, (customer id, revision, trigger) each, as one
    workflow (`compliance.screen_batch`) in the caller's transaction; None when there are none.

    One workflow for the batch rather than one per customer: a workflow of its own costs its customer about 5 ms of
    the worker's interpreter (enqueue, dequeue, status and step rows, two transactions), several times the screening
    itself. The key is the set of screenings, so the batch's transaction, which commits once, enqueues it once."""
    if not wanted:
        return None
    keys = sorted(f"{customer_id}:{revision}:{trigger}" for customer_id, revision, trigger in wanted)
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
    return enqueue(
        session,
        "compliance.screen_batch",
        [[customer_id, trigger] for customer_id, _revision, trigger in wanted],
        key=f"compliance.screens:{digest}",
    )


def address_of(customer: Customer) -> dict[str, Any]:
    """The billing address as the spec's Address object (absent parts left out)."""
    return drop_none(
        {
            "addressLine1": customer.address_line1,
            "addressLine2": customer.address_line2,
            "city": customer.city,
            "stateOrProvince": customer.state_or_province,
            "zipOrPostalCode": customer.zip_or_postal_code,
            "country": customer.country,
        }
    )


def _set_address(customer: Customer, address: AddressIn) -> None:
    customer.address_line1 = address.addressLine1
    customer.address_line2 = address.addressLine2
    customer.city = address.city
    customer.state_or_province = address.stateOrProvince
    customer.zip_or_postal_code = address.zipOrPostalCode
    customer.country = address.country


# ---------------------------------------------------------------------------------------------- reads


def displayed_status(customer: Customer) -> str:
    """The status clients see: pending_rpl_review overlays a settled status while a compliance case is open."""
    if customer.status in states.SETTLED and customer.compliance_hold:
        return CustomerStatus.PENDING_RPL_REVIEW
    return customer.status


def to_read(
    customer: Customer, packages: list[CustomerPackageRow], *, include_licenses: bool = False
) -> dict[str, Any]:
    """Render a customer the way the spec's Customer schema has it."""
    details = []
    for row in packages:
        item: dict[str, Any] = {"name": row.name, "status": row.status}
        if row.warnings:
            item["warnings"] = row.warnings
        if row.errors:
            item["errors"] = row.errors
        if include_licenses:
            item["licenseIds"] = list(row.license_ids or [])
        if row.quantity_limit is not None:
            item["quantityLimit"] = row.quantity_limit
        item["assigned"] = row.assigned
        details.append(item)
    body: dict[str, Any] = {
        "id": customer.id,
        "externalId": customer.external_id,
        "address": address_of(customer),
        "status": displayed_status(customer),
        "packages": [r.name for r in packages if r.status != PackageStatus.DELETING],
        "resourceDetails": {"packages": details},
        "isPartnerOrg": customer.is_partner_org,
    }
    if customer.org_id and customer.status != CustomerStatus.PROVISIONING:
        body["orgId"] = customer.org_id
    if customer.errors:
        body["errors"] = customer.errors
    return body


def get_customer(session: Session, tenant: Tenant, customer_id: str, *, include_licenses: bool) -> dict[str, Any]:
    """Read one customer of the acting partner (another partner's id is a 404)."""
    customer = owned_customer(session, tenant, customer_id)
    return to_read(
        customer, repository.packages_of(session, [customer.id])[customer.id], include_licenses=include_licenses
    )


def customer_overview(session: Session, tenant: Tenant, customer_id: str) -> tuple[Customer, dict[str, Any]]:
    """A customer of the acting partner (404 for anyone else's) and its body as the API reads it: for pages that also
    show what the body leaves out (its name, primary admin, calling location)."""
    customer = owned_customer(session, tenant, customer_id)
    return customer, to_read(customer, repository.packages_of(session, [customer.id])[customer.id])


def list_customers(
    session: Session,
    tenant: Tenant,
    params: PageParams,
    *,
    external_id: str | None,
    org_id: str | None,
    statuses: list[str],
    include_licenses: bool,
) -> Page[dict[str, Any]]:
    """List the acting partner's live customers, filtered, oldest first."""
    partner_org_id = tenant.partner
    known = {s.value for s in CustomerStatus if s != CustomerStatus.DELETED}
    unknown = [s for s in statuses if s not in known]
    if unknown:
        raise field_error("status", f"unknown status {', '.join(unknown)}; use {', '.join(sorted(known))}.")
    # pending_rpl_review is an overlay on a settled status (a compliance hold): the query knows, so it filters
    # before paging (a filter after it gave short or empty pages that still said `Link: next`).
    rows = repository.list_live(
        session,
        partner_org_id,
        params,
        external_id=external_id,
        org_id=org_id,
        statuses=statuses or None,
    )
    page = page_from_rows(rows, params)
    packages = repository.packages_of(session, [c.id for c in page.items])
    items = [to_read(c, packages[c.id], include_licenses=include_licenses) for c in page.items]
    return Page(items=items, params=params, has_more=page.has_more)


@dataclass(frozen=True)
class Listed:
    """One customer as the partner's customer list and its CSV export show it."""

    id: str
    name: str | None
    external_id: str
    org_id: str | None  # once provisioning has made the org (as the API shows it)
    status: str  # as clients see it (pending_rpl_review under a compliance hold)
    country: str
    packages: list[str]
    created: datetime


SEARCH_SORTS = repository.SEARCH_SORTS
SEARCH_TEXT_MAX = 200


def find_customers(
    session: Session,
    tenant: Tenant,
    *,
    text: str = "",
    statuses: list[str] | None = None,
    sort: str = "created",
    descending: bool = False,
    params: PageParams | None = None,
) -> tuple[list[Listed], int]:
    """Search the acting partner's live customers: `text` in the name, externalId or orgId (any case), the
    shown `statuses`, in the `sort` order (name, created or status; ties by id); one page (`params`) with the total
    that match, or every match (`params` None: an export). Filter, count and page are SQL: no query per customer."""
    text = text.strip()
    if len(text) > SEARCH_TEXT_MAX:
        raise field_error("q", f"must be at most {SEARCH_TEXT_MAX} characters.")
    statuses = statuses or []
    known = {s.value for s in CustomerStatus if s != CustomerStatus.DELETED}
    unknown = [s for s in statuses if s not in known]
    if unknown:
        raise field_error("status", f"unknown status {', '.join(unknown)}; use {', '.join(sorted(known))}.")
    if sort not in SEARCH_SORTS:
        raise field_error("sort", f"unknown order {sort}; use {', '.join(SEARCH_SORTS)}.")
    partner_org_id = tenant.partner
    rows = repository.search_live(
        session,
        partner_org_id,
        text=text,
        statuses=statuses,
        sort=sort,
        descending=descending,
        offset=params.offset if params else 0,
        limit=params.max if params else None,
    )
    if params is None:
        total = len(rows)
    elif params.offset == 0 and len(rows) < params.max:
        total = len(rows)  # the first page holds them all: no count needed
    else:
        total = repository.count_live(session, partner_org_id, text=text, statuses=statuses)
    packages = repository.package_names_of(session, [r.id for r in rows])
    items = [
        Listed(
            id=r.id,
            name=r.name,
            external_id=r.external_id,
            org_id=r.org_id if r.status != CustomerStatus.PROVISIONING else None,
            status=r.shown,
            country=r.country,
            packages=packages.get(r.id, []),
            created=r.created,
        )
        for r in rows
    ]
    return items, total
