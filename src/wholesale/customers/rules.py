"""Customer rules: every check a create, precheck or update runs before anything is written (R6, R9, R15)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from sqlalchemy.orm import Session

from wholesale.customers import repository, validation
from wholesale.customers.models import CustomerTemplate
from wholesale.customers.schemas import (
    AddressIn,
    CustomerCreate,
    CustomerValidate,
    LocationIn,
    ProvisioningParametersIn,
)
from wholesale.db.session import serialize_on
from wholesale.identity import service as identity
from wholesale.identity.models import Org
from wholesale.kit.errors import BadRequest, Conflict, field_error
from wholesale.kit.problems import Checks
from wholesale.packages.catalog import CALLING_PACKAGES, missing_addon_dependencies

PRECHECK_OK = {"infoCode": 100, "description": "Provisioning preCheck validation successful."}
EMAIL_IN_USE = 10022


@dataclass
class Plan:
    """A customer request after every check: what to write."""

    template: CustomerTemplate | None
    packages: list[str]
    address: AddressIn
    name: str | None = None
    primary_email: str | None = None
    language: str | None = None
    org: Org | None = None
    is_partner_org: bool = False
    location: LocationIn | None = None
    meetings_timezone: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    sub_partner_admin_email: str | None = None


def _not_a_template(provisioning_id: str) -> NoReturn:
    raise field_error(
        "provisioningId",
        f"'{provisioning_id}' is not a customer template of this partner (see GET /v1/wholesale/customerTemplates).",
    )


@dataclass
class _LookedUp:
    """What the create rules read, read together (`repository.create_lookups`)."""

    template: CustomerTemplate | None
    external_id_taken: bool
    email_taken: bool


def _look_up(
    session: Session, partner_org_id: str, body: CustomerCreate | CustomerValidate, *, precheck: bool
) -> _LookedUp:
    """Read what the create rules need in one statement instead of one each; the rules still run (and fail) in
    their order. A value its own rule will refuse is not looked up. The email's turn is taken first (`serialize_on`),
    so two creates with one email still see each other.

    The email is taken anywhere for a create (emails are unique platform-wide), but for a precheck only by the
    partner's own users and customers, so a precheck never tells whom another partner serves (the create of such
    an email then fails with 10022 naming nobody; docs/API_DECISIONS.md)."""
    external_id = _quietly(validation.check_external_id, "externalId", body.externalId)
    info = body.customerInfo
    email = _quietly(validation.check_email, "customerInfo.primaryEmail", info.primaryEmail if info else None)
    if email is not None:
        serialize_on(session, f"email:{email}")
    template, external_id_taken, email_taken = repository.create_lookups(
        session, partner_org_id, body.provisioningId, external_id, None if precheck else email
    )
    if precheck and email is not None:
        email_taken = repository.email_taken_by_partner(session, partner_org_id, email)
    return _LookedUp(template, external_id_taken, email_taken)


def _quietly(check: Callable[[str, str], str], name: str, value: str | None) -> str | None:
    """The checked value, or None when there is none or the check refuses it (the rule says so later)."""
    if value is None:
        return None
    try:
        return check(name, value)
    except BadRequest:
        return None


def check_packages(
    packages: Sequence[str], template: CustomerTemplate | None, field_name: str = "packages"
) -> list[str]:
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


def check_parameters(
    params: ProvisioningParametersIn | None,
    packages: list[str],
    *,
    stored_location: bool = False,
    checks: Checks | None = None,
) -> tuple[LocationIn | None, str | None, dict[str, int]]:
    checks = checks or Checks()
    location = meetings_tz = None
    limits: dict[str, int] = {}
    if params is not None:
        if params.calling is not None:
            location = validation.check_location(
                "provisioningParameters.calling.location", params.calling.location, checks
            )
        if params.meetings is not None and params.meetings.timezone is not None:
            with checks:
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
    if org is None or not (partner_own or managed):
        raise field_error("orgId", f"'{org_id}' is not an organisation this partner manages.")
    if repository.org_linked(session, org_id):
        raise Conflict(f"orgId: organisation {org_id} is already a wholesale customer.", error_code=409200)
    return org


def plan_create(
    session: Session,
    partner_org_id: str,
    body: CustomerCreate | CustomerValidate,
    *,
    precheck: bool = False,
    every_problem: bool = False,
) -> Plan:
    """Run every create rule (shared by create and precheck); raise the first failure, or with `every_problem`
    (the portal's form) check on and raise them all together (kit.problems.Problems)."""
    checks = Checks(every_problem)
    looked_up = _look_up(session, partner_org_id, body, precheck=precheck)
    template = None
    with checks:
        if body.provisioningId is not None:
            template = looked_up.template or _not_a_template(body.provisioningId)
    packages: list[str] = []
    with checks:
        packages = check_packages(body.packages, template) if body.packages is not None else []
    address = validation.check_address("address", body.address, checks)  # R15
    plan = Plan(template=template, packages=packages, address=address)
    if body.externalId is not None:
        with checks:
            external_id = validation.check_external_id("externalId", body.externalId)
            if looked_up.external_id_taken:
                raise Conflict(
                    f"externalId: a customer with externalId '{external_id}' already exists.", error_code=409100
                )
    if body.orgId:
        with checks:
            plan.org = _check_existing_org(session, partner_org_id, body.orgId)
            plan.is_partner_org = plan.org.id == partner_org_id  # R6
    info = body.customerInfo
    if info is None and not body.orgId and not precheck:
        with checks:
            raise field_error(
                "customerInfo", "is required for a new customer (give orgId to onboard an existing organisation)."
            )
    if info is not None:
        if info.name is not None:
            with checks:
                plan.name = validation.check_name("customerInfo.name", info.name)
        with checks:
            plan.primary_email = validation.check_email("customerInfo.primaryEmail", info.primaryEmail)
            # The admin is created when the customer is provisioned: until then the email is held by the customer
            # row, so a second create with it must see that row, and two concurrent creates take turns (`_look_up`).
            if looked_up.email_taken:
                raise BadRequest(
                    f"customerInfo.primaryEmail: {plan.primary_email} already belongs to an existing user.",
                    errors=[
                        {"description": "The email already belongs to an existing user.", "errorCode": EMAIL_IN_USE}
                    ],
                )
        language = getattr(info, "language", None)
        if language:
            with checks:
                plan.language = validation.check_language("customerInfo.language", language)
    plan.language = plan.language or (template.language if template else None)
    with checks:
        plan.location, plan.meetings_timezone, plan.limits = check_parameters(
            body.provisioningParameters, packages, checks=checks
        )
    plan.meetings_timezone = plan.meetings_timezone or (template.meetings_timezone if template else None)
    # Only a create names a sub-partner admin (a precheck body has no such field).
    sub_partner_admin_email = body.subPartnerAdminEmail if isinstance(body, CustomerCreate) else None
    if sub_partner_admin_email:
        with checks:
            plan.sub_partner_admin_email = validation.check_email("subPartnerAdminEmail", sub_partner_admin_email)
    checks.done()
    return plan
