"""Customers: validation, create/update/delete (202 + workflow), reads, templates, and the workflow steps."""

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.customers import repository, states, validation
from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow, CustomerTemplate
from wholesale.customers.schemas import (
    AddressIn,
    CustomerCreate,
    CustomerUpdate,
    CustomerValidate,
    LocationIn,
    ProvisioningParametersIn,
    TemplateIn,
    drop_none,
)
from wholesale.customers.states import CustomerEvent, CustomerStatus, PackageStatus
from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.identity.models import Org
from wholesale.identity.schemas import Principal
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.errors import BadRequest, Conflict, Forbidden, NotFound, field_error
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.packages.catalog import CALLING_PACKAGES, MEETINGS_PACKAGES, SKUS, missing_addon_dependencies
from wholesale.partners import repository as partners_repo
from wholesale.partners.service import resolve_acting_partner

PRECHECK_OK = {"infoCode": 100, "description": "Provisioning preCheck validation successful."}
EMAIL_IN_USE = 10022


# ---------------------------------------------------------------------------------------------- tenancy


def acting_partner(session: Session, principal: Principal, on_behalf_of: str | None, *, writing: bool) -> str:
    """Return the partner a request acts for; a suspended sub-partner may read and delete only."""
    partner_org_id = resolve_acting_partner(session, principal, on_behalf_of)
    if writing:
        partner = partners_repo.get_partner(session, partner_org_id)
        if partner is not None and partner.provisioning_state == "suspended":
            raise Forbidden("The partner is suspended: it may delete customers but not create or change them.")
    return partner_org_id


def _get_owned(session: Session, partner_org_id: str, customer_id: str, *, for_update: bool = False) -> Customer:
    customer = repository.get_live(session, customer_id, partner_org_id, for_update=for_update)
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found.")
    return customer


def owned_customer(session: Session, principal: Principal, on_behalf_of: str | None, customer_id: str) -> Customer:
    """Return a live customer of the partner the request acts for (404 for anyone else's)."""
    return _get_owned(session, acting_partner(session, principal, on_behalf_of, writing=False), customer_id)


# ---------------------------------------------------------------------------------------------- checks


@dataclass
class Plan:
    """A customer request after every check: what to write."""

    template: CustomerTemplate | None
    packages: list[str]
    address: AddressIn | None
    name: str | None = None
    primary_email: str | None = None
    language: str | None = None
    org: Org | None = None
    is_partner_org: bool = False
    location: LocationIn | None = None
    meetings_timezone: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    sub_partner_admin_email: str | None = None


def _check_template(session: Session, partner_org_id: str, provisioning_id: str | None) -> CustomerTemplate | None:
    if provisioning_id is None:
        return None
    template = repository.get_template(session, provisioning_id, partner_org_id)
    if template is None:
        raise field_error(
            "provisioningId",
            f"'{provisioning_id}' is not a customer template of this partner (see GET /v1/wholesale/customerTemplates).",
        )
    return template


def _check_packages(packages: list[str], template: CustomerTemplate | None, field_name: str = "packages") -> list[str]:
    names = sorted({str(p) for p in packages})
    if not names:
        raise field_error(field_name, "must list at least one package.")
    if template is not None and template.allowed_packages is not None:
        refused = [p for p in names if p not in template.allowed_packages]
        if refused:
            raise field_error(
                field_name,
                f"template '{template.name}' does not allow {', '.join(refused)} "
                f"(allowed: {', '.join(template.allowed_packages)}).",
            )
    # R9: add-ons are paid extras that need a base package.
    missing = missing_addon_dependencies(set(names))
    if missing:
        addon, bases = missing[0]
        raise field_error(
            field_name,
            f"{addon} is an add-on that needs one of these base packages: {', '.join(sorted(bases))}; none is listed.",
            400200,
        )
    return names


def _check_parameters(
    params: ProvisioningParametersIn | None, packages: list[str], *, stored_location: bool = False
) -> tuple[LocationIn | None, str | None, dict[str, int]]:
    location = meetings_tz = None
    limits: dict[str, int] = {}
    if params is not None:
        if params.calling is not None:
            location = validation.check_location("provisioningParameters.calling.location", params.calling.location)
        if params.meetings is not None and params.meetings.timezone is not None:
            meetings_tz = validation.check_timezone(
                "provisioningParameters.meetings.timezone", params.meetings.timezone
            )
        if params.packages is not None and params.packages.limits:
            limits = {str(k): v for k, v in params.packages.limits.items()}
    calling = sorted(set(packages) & CALLING_PACKAGES)
    if calling and location is None and not stored_location:
        raise field_error(
            "provisioningParameters.calling.location",
            f"is required when a calling package is provisioned ({', '.join(calling)}).",
        )
    return location, meetings_tz, limits


def _check_existing_org(session: Session, partner_org_id: str, org_id: str) -> Org:
    org = identity.repository.get_org(session, org_id)
    partner_own = org is not None and org.id == partner_org_id
    managed = org is not None and org.kind == "customer" and org.managed_by_org_id == partner_org_id
    if not (partner_own or managed):
        raise field_error("orgId", f"'{org_id}' is not an organisation this partner manages.")
    if repository.org_linked(session, org_id):
        raise Conflict(f"orgId: organisation {org_id} is already a wholesale customer.", error_code=409200)
    return org


def plan_create(
    session: Session, partner_org_id: str, body: CustomerCreate | CustomerValidate, *, precheck: bool = False
) -> Plan:
    """Run every create rule (shared by create and precheck); raise the first failure."""
    template = _check_template(session, partner_org_id, body.provisioningId)
    packages = _check_packages(body.packages, template) if body.packages is not None else []
    address = validation.check_address("address", body.address)  # R15
    plan = Plan(template=template, packages=packages, address=address)
    if body.externalId is not None:
        external_id = validation.check_external_id("externalId", body.externalId)
        if repository.external_id_taken(session, partner_org_id, external_id):
            raise Conflict(f"externalId: a customer with externalId '{external_id}' already exists.", error_code=409100)
    if body.orgId:
        plan.org = _check_existing_org(session, partner_org_id, body.orgId)
        plan.is_partner_org = plan.org.id == partner_org_id  # R6
    info = body.customerInfo
    if info is None and not body.orgId and not precheck:
        raise field_error(
            "customerInfo", "is required for a new customer (give orgId to onboard an existing organisation)."
        )
    if info is not None:
        if info.name is not None:
            plan.name = validation.check_name("customerInfo.name", info.name)
        plan.primary_email = validation.check_email("customerInfo.primaryEmail", info.primaryEmail)
        if identity.email_in_use(session, plan.primary_email):
            raise BadRequest(
                f"customerInfo.primaryEmail: {plan.primary_email} already belongs to an existing user.",
                errors=[{"description": "The email already belongs to an existing user.", "errorCode": EMAIL_IN_USE}],
            )
        language = getattr(info, "language", None)
        if language:
            plan.language = validation.check_language("customerInfo.language", language)
    plan.language = plan.language or (template.language if template else None)
    plan.location, plan.meetings_timezone, plan.limits = _check_parameters(body.provisioningParameters, packages)
    plan.meetings_timezone = plan.meetings_timezone or (template.meetings_timezone if template else None)
    if getattr(body, "subPartnerAdminEmail", None):
        plan.sub_partner_admin_email = validation.check_email("subPartnerAdminEmail", body.subPartnerAdminEmail)
    return plan


# ---------------------------------------------------------------------------------------------- commands


def create_customer(session: Session, principal: Principal, on_behalf_of: str | None, body: CustomerCreate) -> Customer:
    """Accept a new customer: write it as `provisioning` and enqueue its provisioning workflow (202)."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=True)
    plan = plan_create(session, partner_org_id, body)
    now = clock.now()
    address = plan.address
    customer = Customer(
        id=ids.new_id("ENTERPRISE"),
        partner_org_id=partner_org_id,
        org_id=plan.org.id if plan.org else None,
        external_id=validation.check_external_id("externalId", body.externalId),
        provisioning_id=plan.template.id,
        name=plan.name or (plan.org.display_name if plan.org else None),
        primary_email=plan.primary_email,
        language=plan.language,
        address_line1=address.addressLine1,
        address_line2=address.addressLine2,
        city=address.city,
        state_or_province=address.stateOrProvince,
        zip_or_postal_code=address.zipOrPostalCode,
        country=address.country,
        status=CustomerStatus.PROVISIONING,
        errors=[],
        package_limits=plan.limits,
        meetings_timezone=plan.meetings_timezone,
        calling_location=plan.location.model_dump() if plan.location else None,
        sub_partner_admin_email=plan.sub_partner_admin_email,
        is_partner_org=plan.is_partner_org,
        revision=1,
        created=now,
        updated=now,
    )
    session.add(customer)
    for name in plan.packages:
        session.add(_package_row(customer, name, now))
    events.record(
        session,
        subject_type="customer",
        subject_id=customer.id,
        action="customer.created",
        partner_org_id=partner_org_id,
        data={"externalId": customer.external_id, "packages": plan.packages, "country": customer.country},
    )
    _enqueue_converge(session, customer, "customers.provision")
    _after_address_set(session, customer, "created")
    return customer


def update_customer(
    session: Session, principal: Principal, on_behalf_of: str | None, customer_id: str, body: CustomerUpdate
) -> Customer:
    """Accept a change to packages, address, limits or externalId; the workflow applies it (202)."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=True)
    customer = _get_owned(session, partner_org_id, customer_id, for_update=True)
    new_status = states.apply(customer.status, CustomerEvent.UPDATE_REQUESTED)
    template = session.get(CustomerTemplate, customer.provisioning_id)
    wanted = _check_packages(body.packages, template)
    rows = {r.name: r for r in repository.packages_of(session, [customer.id])[customer.id]}
    location, meetings_tz, limits = _check_parameters(
        body.provisioningParameters, wanted, stored_location=customer.calling_location is not None
    )
    for name in sorted(set(rows) - set(wanted)):
        if rows[name].assigned > 0:
            raise Conflict(
                f"packages: {name} cannot be removed while {rows[name].assigned} user(s) hold it; "
                "move them to another package or delete them first.",
                error_code=409300,
            )
    merged_limits = {**(customer.package_limits or {}), **limits}
    for name, limit in sorted(limits.items()):
        row = rows.get(name)
        if row is not None and name in wanted and limit < row.assigned:
            raise Conflict(
                f"provisioningParameters.packages.limits.{name}: {limit} is below the {row.assigned} already assigned.",
                error_code=409301,
            )
    changes: dict[str, Any] = {}
    if body.externalId is not None:
        external_id = validation.check_external_id("externalId", body.externalId)
        if external_id != customer.external_id:
            if repository.external_id_taken(session, partner_org_id, external_id, exclude_id=customer.id):
                raise Conflict(
                    f"externalId: a customer with externalId '{external_id}' already exists.", error_code=409100
                )
            changes["externalId"] = [customer.external_id, external_id]
            customer.external_id = external_id
    address_changed = False
    if body.address is not None:
        address = validation.check_address("address", body.address)
        before = address_of(customer)
        _set_address(customer, address)
        address_changed = before != address_of(customer)
        if address_changed:
            changes["address"] = [before, address_of(customer)]
    if body.subPartnerAdminEmail is not None:
        customer.sub_partner_admin_email = validation.check_email("subPartnerAdminEmail", body.subPartnerAdminEmail)
    if location is not None:
        customer.calling_location = location.model_dump()
    if meetings_tz is not None:
        customer.meetings_timezone = meetings_tz
    now = clock.now()
    added, removed = sorted(set(wanted) - set(rows)), sorted(set(rows) - set(wanted))
    for name in removed:
        rows[name].status = states.apply_package(rows[name].status, "remove")
    for name in added:
        session.add(_package_row(customer, name, now, merged_limits))
    for name in wanted:
        if name in rows:
            rows[name].quantity_limit = merged_limits.get(name)
            if rows[name].status == PackageStatus.ERROR:
                rows[name].status = states.apply_package(rows[name].status, "retry")
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
    )
    _enqueue_converge(session, customer, "customers.update")
    if address_changed:
        _after_address_set(session, customer, "address_changed")
    return customer


def delete_customer(session: Session, principal: Principal, on_behalf_of: str | None, customer_id: str) -> Customer:
    """Accept a removal: status `deleting`, then the workflow removes everything and leaves a tombstone (202)."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=False)
    customer = _get_owned(session, partner_org_id, customer_id, for_update=True)
    return request_deletion(session, customer, reason="partner request")


def request_deletion(session: Session, customer: Customer, *, reason: str) -> Customer:
    """Move a customer to `deleting` and enqueue its removal (also used by compliance, R14)."""
    if customer.status == CustomerStatus.DELETING:
        return customer
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


def precheck(
    session: Session, principal: Principal, on_behalf_of: str | None, body: CustomerValidate
) -> dict[str, Any]:
    """Run the create rules without writing anything (POST /customers/validate)."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=False)
    plan_create(session, partner_org_id, body, precheck=True)
    return {"message": "success", "info": PRECHECK_OK}


def _package_row(customer: Customer, name: str, now: Any, limits: dict[str, int] | None = None) -> CustomerPackageRow:
    limits = customer.package_limits if limits is None else limits
    return CustomerPackageRow(
        customer_id=customer.id,
        name=name,
        status=PackageStatus.PROVISIONING,
        quantity_limit=(limits or {}).get(name),
        assigned=0,
        license_ids=[],
        errors=[],
        warnings=[],
        created=now,
    )


def _enqueue_converge(session: Session, customer: Customer, workflow: str) -> None:
    enqueue(
        session,
        workflow,
        customer.id,
        customer.revision,
        key=f"{workflow}:{customer.id}:{customer.revision}",
        partition_key=customer.id,
    )


def _after_address_set(session: Session, customer: Customer, trigger: str) -> None:
    """A billing address was set or changed: screen it (R10), in this transaction, so it cannot be skipped.

    A workflow of its own on the compliance queue, not a step of the provisioning run: screening must never
    delay provisioning (R11), and that queue is polled less often and yields the writer to requests. (Screening
    inside the run made a burst's runs wait for each other's screening: p50 3.6 s instead of 2.2-2.7 s.)
    """
    from wholesale.compliance.service import request_screening

    request_screening(session, customer, trigger)


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


def get_customer(
    session: Session, principal: Principal, on_behalf_of: str | None, customer_id: str, *, include_licenses: bool
) -> dict[str, Any]:
    """Read one customer of the acting partner (another partner's id is a 404)."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=False)
    customer = _get_owned(session, partner_org_id, customer_id)
    return to_read(
        customer, repository.packages_of(session, [customer.id])[customer.id], include_licenses=include_licenses
    )


def list_customers(
    session: Session,
    principal: Principal,
    on_behalf_of: str | None,
    params: PageParams,
    *,
    external_id: str | None,
    org_id: str | None,
    statuses: list[str],
    include_licenses: bool,
) -> Page[dict[str, Any]]:
    """List the acting partner's live customers, filtered, oldest first."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=False)
    known = {s.value for s in CustomerStatus if s != CustomerStatus.DELETED}
    unknown = [s for s in statuses if s not in known]
    if unknown:
        raise field_error("status", f"unknown status {', '.join(unknown)}; use {', '.join(sorted(known))}.")
    # pending_rpl_review is an overlay, not a stored status: filter it after loading.
    stored = [s for s in statuses if s != CustomerStatus.PENDING_RPL_REVIEW]
    if CustomerStatus.PENDING_RPL_REVIEW in statuses:
        stored += list(states.SETTLED)
    rows = repository.list_live(
        session, partner_org_id, params, external_id=external_id, org_id=org_id, statuses=stored or None
    )
    page = page_from_rows(rows, params)
    packages = repository.packages_of(session, [c.id for c in page.items])
    items = [to_read(c, packages[c.id], include_licenses=include_licenses) for c in page.items]
    if statuses:
        items = [i for i in items if i["status"] in statuses]
    return Page(items=items, params=params, has_more=page.has_more)


# ---------------------------------------------------------------------------------------------- templates


def _template_read(t: CustomerTemplate) -> dict[str, Any]:
    return drop_none(
        {
            "id": t.id,
            "name": t.name,
            "language": t.language,
            "meetingsTimezone": t.meetings_timezone,
            "pstnEnabled": t.pstn_enabled,
            "allowedPackages": t.allowed_packages,
            "created": clock.isoformat(t.created),
            "updated": clock.isoformat(t.updated),
        }
    )


def _apply_template(t: CustomerTemplate, body: TemplateIn) -> None:
    t.name = validation.check_name("name", body.name)
    t.language = validation.check_language("language", body.language)
    t.meetings_timezone = (
        validation.check_timezone("meetingsTimezone", body.meetingsTimezone) if body.meetingsTimezone else None
    )
    t.pstn_enabled = body.pstnEnabled
    if body.allowedPackages is not None:
        allowed = sorted({str(p) for p in body.allowedPackages})
        if not allowed:
            raise field_error("allowedPackages", "must list at least one package (omit it to allow all).")
        t.allowed_packages = allowed
    else:
        t.allowed_packages = None


def create_template(
    session: Session, principal: Principal, on_behalf_of: str | None, body: TemplateIn
) -> dict[str, Any]:
    """Create a customer template for the acting partner; its id is a provisioningId."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=True)
    return _template_read(add_template(session, partner_org_id, body))


def add_template(session: Session, partner_org_id: str, body: TemplateIn) -> CustomerTemplate:
    """Insert a template for a partner (also used by the demo seed)."""
    now = clock.now()
    template = CustomerTemplate(
        id=ids.encode_id("PROVISIONING", ids.new_id("X")[-22:]), partner_org_id=partner_org_id, created=now, updated=now
    )
    _apply_template(template, body)
    session.add(template)
    events.record(
        session,
        subject_type="template",
        subject_id=template.id,
        action="template.created",
        partner_org_id=partner_org_id,
    )
    return template


def _owned_template(session: Session, partner_org_id: str, template_id: str) -> CustomerTemplate:
    template = repository.get_template(session, template_id, partner_org_id)
    if template is None:
        raise NotFound(f"Customer template {template_id} not found.")
    return template


def get_template(session: Session, principal: Principal, on_behalf_of: str | None, template_id: str) -> dict[str, Any]:
    """Read a template."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=False)
    return _template_read(_owned_template(session, partner_org_id, template_id))


def list_templates(
    session: Session, principal: Principal, on_behalf_of: str | None, params: PageParams
) -> Page[dict[str, Any]]:
    """List the acting partner's templates."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=False)
    page = page_from_rows(repository.list_templates(session, partner_org_id, params), params)
    return Page(items=[_template_read(t) for t in page.items], params=params, has_more=page.has_more)


def replace_template(
    session: Session, principal: Principal, on_behalf_of: str | None, template_id: str, body: TemplateIn
) -> dict[str, Any]:
    """Replace a template's settings (customers already provisioned keep what they got)."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=True)
    template = _owned_template(session, partner_org_id, template_id)
    _apply_template(template, body)
    template.updated = clock.now()
    events.record(
        session,
        subject_type="template",
        subject_id=template.id,
        action="template.updated",
        partner_org_id=partner_org_id,
    )
    return _template_read(template)


def delete_template(session: Session, principal: Principal, on_behalf_of: str | None, template_id: str) -> None:
    """Delete a template that no live customer uses."""
    partner_org_id = acting_partner(session, principal, on_behalf_of, writing=True)
    template = _owned_template(session, partner_org_id, template_id)
    in_use = repository.template_in_use(session, template.id)
    if in_use:
        raise Conflict(
            f"Customer template {template_id} is used by {in_use} customer(s); it cannot be deleted.", error_code=409400
        )
    session.delete(template)
    events.record(
        session,
        subject_type="template",
        subject_id=template_id,
        action="template.deleted",
        partner_org_id=partner_org_id,
    )


# ---------------------------------------------------------------------------------------------- workflow steps


def load_for_step(session: Session, customer_id: str, revision: int) -> Customer | None:
    """Return the customer a workflow step works on, or None when a newer change or a deletion superseded it."""
    customer = repository.get_live(session, customer_id, for_update=True)
    if (
        customer is None
        or customer.revision != revision
        or customer.status in (CustomerStatus.DELETING, CustomerStatus.DELETED)
    ):
        return None
    return customer


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
        events.record(
            session,
            subject_type="customer",
            subject_id=customer.id,
            action="org.created",
            partner_org_id=customer.partner_org_id,
            data={"orgId": org.id, "countryCode": customer.country},
        )
        return
    org = identity.repository.get_org(session, customer.org_id)
    if org is not None and org.kind == "customer" and org.country_code != customer.country:
        events.record(
            session,
            subject_type="customer",
            subject_id=customer.id,
            action="org.country_changed",
            partner_org_id=customer.partner_org_id,
            data={"orgId": org.id, "from": org.country_code, "to": customer.country},
        )
        org.country_code = customer.country  # R16: the org country follows the billing country


def ensure_full_admin(session: Session, customer: Customer, rows: dict[str, CustomerPackageRow] | None = None) -> None:
    """Create the customer's full administrator from customerInfo.primaryEmail (new orgs only); `rows` are
    the customer's package rows by name when the caller already holds them."""
    if not customer.primary_email:
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
    from wholesale.subscribers import service as subscribers

    # R5: the admin holds the customer's tier package.
    subscribers.ensure_admin_subscriber(session, customer, user=user, new_user=existing is None, rows=rows)


def ensure_site(session: Session, customer: Customer, packages: list[CustomerPackageRow]) -> None:
    """Create the meetings site when a meetings package is held; a missing call-in number is a package warning (R18)."""
    from wholesale.dialin import service as dialin

    meetings = [r for r in packages if r.name in MEETINGS_PACKAGES and r.status != PackageStatus.DELETING]
    if not meetings:
        return
    template = session.get(CustomerTemplate, customer.provisioning_id)
    pstn_enabled = template.pstn_enabled if template else True
    # An existing site follows a changed org country (R16, R17) unless an operator pinned its number.
    site = dialin.rederive_site(session, customer.id, customer.country, pstn_enabled) or dialin.ensure_site(
        session,
        absent=True,  # rederive_site just looked for it in this transaction
        customer_id=customer.id,
        org_id=customer.org_id,
        name=customer.name or customer.external_id,
        country=customer.country,
        pstn_enabled=pstn_enabled,
    )
    warning = [{"errorCode": 3100, "description": site.warning}] if site.warning else []
    for row in meetings:
        # Keep other warnings (e.g. the full admin's package did not fit the cap).
        row.warnings = [w for w in (row.warnings or []) if w.get("errorCode") != 3100] + warning


def ensure_location(session: Session, customer: Customer, packages: list[CustomerPackageRow]) -> None:
    """Create the calling location when a calling package is held."""
    if not any(r.name in CALLING_PACKAGES and r.status != PackageStatus.DELETING for r in packages):
        return
    if customer.calling_location is None or repository.get_location(session, customer.id) is not None:
        return
    spec = customer.calling_location
    session.add(
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
        )
    )


def grant_package(session: Session, customer: Customer, row: CustomerPackageRow) -> None:
    """Grant one package: its licence id appears and it becomes provisioned."""
    if row.status != PackageStatus.PROVISIONING:
        return
    name = row.name
    if not row.license_ids:
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


def remove_packages(session: Session, customer: Customer, rows: list[CustomerPackageRow]) -> list[CustomerPackageRow]:
    """Drop the customer's package rows marked for removal (and the site when no meetings package is left);
    return the rows that stay."""
    from wholesale.dialin.models import MeetingsSite

    removed = [r for r in rows if r.status == PackageStatus.DELETING]
    kept = [r for r in rows if r.status != PackageStatus.DELETING]
    for row in removed:
        session.delete(row)
    if any(r.name in MEETINGS_PACKAGES for r in removed) and not {r.name for r in kept} & MEETINGS_PACKAGES:
        session.execute(sa.delete(MeetingsSite).where(MeetingsSite.customer_id == customer.id))
    return kept


def finish(session: Session, customer: Customer, rows: list[CustomerPackageRow] | None = None) -> str:
    """Settle the customer's status from its packages (pure table; `rows` when the caller holds them) and record it."""
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
    )
    return customer.status


def fail(session: Session, customer: Customer, description: str, error_code: int = 2500) -> None:
    """Mark a provisioning run failed after a step ran out of retries."""
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
    )


def remove_everything(session: Session, customer_id: str) -> bool:
    """Delete a customer's subscribers, site, location, packages and org link; leave a tombstone (idempotent)."""
    from wholesale.customers import hooks
    from wholesale.dialin.models import MeetingsSite

    customer = repository.get_live(session, customer_id, for_update=True)
    if customer is None or customer.status != CustomerStatus.DELETING:
        return False
    hooks.customer_removing(session, customer)
    session.execute(sa.delete(MeetingsSite).where(MeetingsSite.customer_id == customer.id))
    session.execute(sa.delete(CallingLocation).where(CallingLocation.customer_id == customer.id))
    session.execute(sa.delete(CustomerPackageRow).where(CustomerPackageRow.customer_id == customer.id))
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
    )
    return True
