"""Subscribers: one package each (R7) within the customer's caps (R8), add-on rules (R9), the admin tier (R5),
free-account moves with consent, customer-admin scope, and bulk imports."""

import re
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wholesale.customers import repository as customers_repo
from wholesale.customers import service as customers
from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.customers.validation import check_email, check_name
from wholesale.events import service as events
from wholesale.events.models import AuditEvent
from wholesale.identity import service as identity
from wholesale.identity.models import Org, User
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.context import current_actor, current_tracking_id
from wholesale.kit.errors import BadRequest, Conflict, DomainError, NotFound, field_error
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.packages.catalog import ADDON_DEPENDENCIES, DEFAULT_PERSON_TIERS, SubscriberPackage
from wholesale.subscribers import repository, states
from wholesale.subscribers.models import BulkImport, CustomerAdminTier, Subscriber
from wholesale.subscribers.repository import ListFilters
from wholesale.subscribers.schemas import (
    BulkImportCreate,
    BulkRowIn,
    SubscriberCreate,
    SubscriberUpdate,
    SubscriberValidate,
)
from wholesale.subscribers.states import BulkStatus, SubscriberEvent, SubscriberStatus

PRECHECK_OK = {"infoCode": 100, "description": "Provisioning preCheck validation successful."}
EMAIL_IN_USE = 10022
# The docs call every subscriber package except webex_meetings "calling-enabled".
CALLING_ENABLED = frozenset(p.value for p in SubscriberPackage) - {"webex_meetings"}
EXTENSION = re.compile(r"^\d{2,10}$")
ADMIN_ROLES = frozenset({"full_admin", "admin"})
FREE_ACCOUNTS_ORG = ids.encode_id("ORGANIZATION", "free-accounts")
BULK_CHUNK = 250


# ---------------------------------------------------------------------------------------------- tenancy


@dataclass(frozen=True)
class Tenant:
    """Whose subscribers a request may see: a partner's (partner admins) or one customer org's (customer admins)."""

    partner_org_id: str | None = None
    org_id: str | None = None

    def owns(self, partner_org_id: str, org_id: str | None) -> bool:
        """True when a record of this partner and org is visible to the tenant."""
        if self.org_id is not None:
            return org_id == self.org_id
        return partner_org_id == self.partner_org_id


def tenant_of(session: Session, principal: Principal, on_behalf_of: str | None, *, writing: bool) -> Tenant:
    """Resolve the caller's tenant; a customer admin is confined to its own org (R4)."""
    if principal.role == Role.CUSTOMER_ADMIN:
        return Tenant(org_id=principal.org_id)
    return Tenant(partner_org_id=customers.acting_partner(session, principal, on_behalf_of, writing=writing))


def _customer(session: Session, tenant: Tenant, customer_id: str) -> Customer:
    customer = customers_repo.get_live(session, customer_id, tenant.partner_org_id)
    if customer is None or not tenant.owns(customer.partner_org_id, customer.org_id):
        raise NotFound(f"Customer {customer_id} not found.")
    if customer.status == "deleting":
        raise Conflict(f"Customer {customer_id} is being deleted; its subscribers cannot change.", error_code=409600)
    if customer.org_id is None:
        raise Conflict(
            f"Customer {customer_id} is still being provisioned; retry when its status is provisioned.",
            error_code=409601,
        )
    return customer


def _owned(session: Session, tenant: Tenant, subscriber_id: str) -> Subscriber:
    subscriber = repository.get(session, subscriber_id)
    if subscriber is None or not tenant.owns(subscriber.partner_org_id, subscriber.org_id):
        raise NotFound(f"Subscriber {subscriber_id} not found.")
    return subscriber


# ---------------------------------------------------------------------------------------------- rules


def one_package(package: str | None, packages: list[Any] | None, *, required: bool = True) -> str | None:
    """R7: a subscriber has exactly one package, given as `packages: [x]` or the deprecated `package`."""
    if package is not None and packages is not None:
        raise field_error("packages", "send either packages or the deprecated package, not both.", 400301)
    if packages is not None:
        if len(packages) != 1:
            raise field_error(
                "packages",
                f"must list exactly one package (a subscriber holds exactly one); {len(packages)} given.",
                400302,
            )
        return str(packages[0])
    if package is not None:
        return str(package)
    if required:
        raise field_error("packages", "is required: list the subscriber's one package.", 400303)
    return None


def _held(rows: dict[str, CustomerPackageRow]) -> set[str]:
    return {name for name, row in rows.items() if row.status != "deleting"}


def check_package(customer: Customer, package: str, rows: dict[str, CustomerPackageRow]) -> None:
    """The package must be one the customer holds (R7); attendant_console also needs one of its base packages (R9)."""
    held = _held(rows)
    if package not in held:
        raise field_error(
            "packages",
            f"{package} is not a package of customer {customer.external_id} (it holds: {', '.join(sorted(held)) or 'none'}).",
            400310,
        )
    bases = ADDON_DEPENDENCIES.get(package)
    if bases is not None and not bases & held:
        raise field_error(
            "packages",
            f"{package} is an add-on that needs the customer to hold one of {', '.join(sorted(bases))}; it holds none.",
            400311,
        )


def assign(session: Session, customer: Customer, package: str, *, statuses: tuple[str, ...] = ("provisioned",)) -> None:
    """Take one unit of the package or refuse naming the cap and what is left (R8)."""
    if repository.take_unit(session, customer.id, package, statuses=statuses):
        return
    row = repository.package_row(session, customer.id, package)
    if row is None or row.status not in statuses:
        state = row.status if row is not None else "absent"
        raise Conflict(
            f"packages: {package} of customer {customer.external_id} is {state}; subscribers can get it once it is provisioned.",
            error_code=409510,
        )
    raise Conflict(
        f"packages: the cap for {package} is reached: limit {row.quantity_limit}, {row.assigned} assigned, 0 left.",
        error_code=409500,
    )


def person_tier(rows: dict[str, CustomerPackageRow]) -> str | None:
    """The highest person package among a customer's packages (R5)."""
    held = _held(rows)
    return next((p for p in DEFAULT_PERSON_TIERS if p in held), None)


def tier_of(session: Session, customer: Customer, rows: dict[str, CustomerPackageRow] | None = None) -> str | None:
    """The customer's admin package: recorded when its full admin was created, else its highest person package."""
    recorded = repository.get_tier(session, customer.id)
    if recorded is not None:
        return recorded.package
    return person_tier(rows if rows is not None else repository.package_rows(session, customer.id))


def _rank(package: str) -> int:
    return DEFAULT_PERSON_TIERS.index(package) if package in DEFAULT_PERSON_TIERS else len(DEFAULT_PERSON_TIERS)


def check_admin_package(session: Session, customer: Customer, user_roles: list[str], email: str, package: str) -> None:
    """R5: administrators hold the customer's tier package or a higher one; a downgrade is refused (409)."""
    if not ADMIN_ROLES & set(user_roles or []):
        return
    tier = tier_of(session, customer)
    if tier is not None and _rank(package) > _rank(tier):
        who = "full administrator" if "full_admin" in user_roles else "an administrator"
        raise Conflict(
            f"packages: {email} is the customer's {who} and must keep {tier} (the package the customer was created with) "
            f"or a higher one; {package} is lower. Nothing was changed.",
            error_code=409530,
        )


@dataclass
class Calling:
    """The calling details a subscriber ends up with."""

    phone: str | None = None
    extension: str | None = None
    location_id: str | None = None


def check_calling(
    session: Session,
    customer: Customer,
    package: str,
    phone: str | None,
    extension: str | None,
    location_id: str | None,
    *,
    current: Subscriber | None = None,
) -> Calling:
    """Calling-enabled packages need a number and/or an extension at the customer's calling location."""
    if package not in CALLING_ENABLED:
        return Calling()
    if current is not None and current.package in CALLING_ENABLED:
        # Already calling-entitled: the spec says the parameters are optional and ignored.
        return Calling(current.primary_phone_number, current.extension, current.location_id)
    phone = (phone or "").strip() or None
    extension = (extension or "").strip() or None
    if phone is None and extension is None:
        raise field_error(
            "provisioningParameters",
            f"primaryPhoneNumber and/or extension is required for the calling-enabled package {package}.",
            400320,
        )
    location = customers_repo.get_location(session, customer.id)
    if location is None:
        raise field_error(
            "provisioningParameters.locationId", f"customer {customer.external_id} has no calling location.", 400321
        )
    if location_id and location_id != location.id:
        raise field_error(
            "provisioningParameters.locationId",
            f"'{location_id}' is not the calling location of this customer ({location.id}).",
            400322,
        )
    exclude = current.id if current is not None else None
    e164 = None
    if phone is not None:
        e164 = normalise_phone(phone, customer.country)
        if repository.phone_taken(session, customer.id, e164, exclude_id=exclude):
            raise Conflict(
                f"provisioningParameters.primaryPhoneNumber: {e164} is already used by another subscriber of this customer.",
                error_code=409520,
            )
    if extension is not None:
        if not EXTENSION.match(extension):
            raise field_error("provisioningParameters.extension", f"'{extension}' must be 2 to 10 digits.", 400323)
        if repository.extension_taken(session, location.id, extension, exclude_id=exclude):
            raise Conflict(
                f"provisioningParameters.extension: {extension} is already used at location {location.name}.",
                error_code=409521,
            )
    return Calling(e164, extension, location.id)


def normalise_phone(value: str, country: str) -> str:
    """Return a valid number in E.164 (national numbers are read in the customer's country)."""
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise field_error(
            "provisioningParameters.primaryPhoneNumber", f"'{value}' is not a valid phone number.", 400324
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email_in_use() -> BadRequest:
    return BadRequest(
        "email: the email is already used by an existing user.",
        errors=[{"description": "The email is already associated with an existing user.", "errorCode": EMAIL_IN_USE}],
    )


def _integrity(exc: IntegrityError) -> DomainError:
    """Map a unique-constraint race (two requests between check and write) to the error the check gives."""
    text = str(exc.orig).lower()
    if "phone" in text:
        return Conflict(
            "provisioningParameters.primaryPhoneNumber: already used by another subscriber of this customer.",
            error_code=409520,
        )
    if "extension" in text:
        return Conflict("provisioningParameters.extension: already used at this location.", error_code=409521)
    if "email" in text or "user_id" in text:
        return _email_in_use()
    return Conflict("The request conflicts with a concurrent change; retry it.")


# ---------------------------------------------------------------------------------------------- provisioning


@dataclass
class Wanted:
    """A subscriber to provision, after parsing."""

    email: str
    package: str | None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    extension: str | None = None
    location_id: str | None = None
    administrator: bool = False


def _free_account(session: Session, email: str) -> User | None:
    """Return the active free account owning the email; raise 10022 when another org's user owns it."""
    user = identity.find_user(session, email)
    if user is None:
        return None
    org = session.get(Org, user.org_id)
    if org is not None and org.kind == "consumer" and repository.by_user(session, user.id) is None:
        return user
    raise _email_in_use()


def plan(
    session: Session, customer: Customer, wanted: Wanted, rows: dict[str, CustomerPackageRow] | None = None
) -> tuple[str, str, Calling, User | None]:
    """Run every create rule without writing; return (email, package, calling, free account or None).

    A batch passes the customer's package rows once (`rows`): which packages it holds does not change within it.
    """
    email = check_email("email", wanted.email)
    free = _free_account(session, email)
    rows = rows if rows is not None else repository.package_rows(session, customer.id)
    package = wanted.package
    if package is None and wanted.administrator:
        package = tier_of(session, customer, rows)  # R5: administrators get the customer's package
    if package is None:
        raise field_error("packages", "is required: list the subscriber's one package.", 400303)
    check_package(customer, package, rows)
    if wanted.administrator:
        check_admin_package(session, customer, ["admin"], email, package)
    for field, value in (("firstName", wanted.first_name), ("lastName", wanted.last_name)):
        if value is not None:
            check_name(f"provisioningParameters.{field}", value)
    calling = check_calling(session, customer, package, wanted.phone, wanted.extension, wanted.location_id)
    return email, package, calling, free


def provision(
    session: Session,
    customer: Customer,
    wanted: Wanted,
    rows: dict[str, CustomerPackageRow] | None = None,
    *,
    savepoint: bool = True,
) -> Subscriber:
    """Create a subscriber (200), or a pending move of a free account (202), taking one unit of its package.

    `savepoint=False` when a failure ends the caller's transaction anyway (one API request): two statements fewer.
    """
    email, package, calling, free = plan(session, customer, wanted, rows)
    now = clock.now()
    try:
        with session.begin_nested() if savepoint else nullcontext():
            assign(session, customer, package)  # R8
            if free is None:
                user = identity.create_user(
                    session,
                    org_id=customer.org_id,
                    email=email,
                    roles=["admin"] if wanted.administrator else [],
                    first_name=wanted.first_name.strip() if wanted.first_name else None,
                    last_name=wanted.last_name.strip() if wanted.last_name else None,
                )
                status = states.apply(SubscriberStatus.NEW, SubscriberEvent.CREATED)
            else:
                user = free
                status = states.apply(SubscriberStatus.NEW, SubscriberEvent.CONSENT_REQUIRED)
            subscriber = Subscriber(
                id=ids.new_id("SUBSCRIBER"),
                customer_id=customer.id,
                partner_org_id=customer.partner_org_id,
                org_id=customer.org_id,
                user_id=user.id,
                email=email,
                package=package,
                status=status,
                errors=[],
                primary_phone_number=calling.phone,
                extension=calling.extension,
                location_id=calling.location_id,
                consent_token=secrets.token_urlsafe(24) if free is not None else None,
                created=now,
                last_status_change=now,
            )
            session.add(subscriber)
            session.flush()
    except IntegrityError as exc:
        raise _integrity(exc) from None
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action="subscriber.created",
        partner_org_id=customer.partner_org_id,
        data={"customerId": customer.id, "package": package, "status": status},
    )
    if free is not None:
        _send_consent(session, subscriber, now)
    return subscriber


def _send_consent(session: Session, subscriber: Subscriber, now: datetime) -> None:
    subscriber.consent_sent_at = now
    stamp = int(now.timestamp() * 1000)
    enqueue(
        session, "subscribers.send_consent_email", subscriber.id, key=f"subscribers.consent:{subscriber.id}:{stamp}"
    )


def create_subscriber(
    session: Session, principal: Principal, on_behalf_of: str | None, body: SubscriberCreate
) -> tuple[Subscriber, dict[str, Any]]:
    """Provision a subscriber in a customer of the caller's tenant; return it and its rendering."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=True)
    package = one_package(body.package, body.packages, required=not body.administrator)
    customer = _customer(session, tenant, body.customerId)
    params = body.provisioningParameters
    subscriber = provision(
        session,
        customer,
        Wanted(
            email=body.email,
            package=package,
            first_name=params.firstName,
            last_name=params.lastName,
            phone=params.primaryPhoneNumber,
            extension=params.extension,
            location_id=params.locationId,
            administrator=body.administrator,
        ),
        # Any error fails the whole request and its transaction is rolled back: no savepoint needed.
        savepoint=False,
    )
    # Rendered here, with the customer at hand: the session's identity map holds it only weakly (no re-read).
    return subscriber, to_read(subscriber, customer.external_id)


def precheck(
    session: Session, principal: Principal, on_behalf_of: str | None, body: SubscriberValidate
) -> dict[str, Any]:
    """Run the create rules without writing anything (POST /subscribers/validate); the package may be left out."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=False)
    package = one_package(body.package, body.packages, required=False)
    email = check_email("email", body.email)
    if body.customerInfo is not None:
        check_email("customerInfo.primaryEmail", body.customerInfo.primaryEmail)
    if body.customerId is None:
        _free_account(session, email)
        return {"message": "success", "info": PRECHECK_OK}
    customer = _customer(session, tenant, body.customerId)
    params = body.provisioningParameters
    if package is None:
        _free_account(session, email)
        return {"message": "success", "info": PRECHECK_OK}
    plan(
        session,
        customer,
        Wanted(
            email=email,
            package=package,
            first_name=params.firstName if params else None,
            last_name=params.lastName if params else None,
            phone=params.primaryPhoneNumber if params else None,
            extension=params.extension if params else None,
            location_id=params.locationId if params else None,
        ),
    )
    row = repository.package_row(session, customer.id, package)
    if row.status != "provisioned":
        raise Conflict(f"packages: {package} of customer {customer.external_id} is {row.status}.", error_code=409510)
    if row.quantity_limit is not None and row.assigned >= row.quantity_limit:
        raise Conflict(
            f"packages: the cap for {package} is reached: limit {row.quantity_limit}, {row.assigned} assigned, 0 left.",
            error_code=409500,
        )
    return {"message": "success", "info": PRECHECK_OK}


def update_subscriber(
    session: Session, principal: Principal, on_behalf_of: str | None, subscriber_id: str, body: SubscriberUpdate
) -> Subscriber:
    """Change a subscriber's package: one unit moves from the old package to the new in this transaction (R8)."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=True)
    subscriber = _owned(session, tenant, subscriber_id)
    package = one_package(body.package, body.packages)
    customer = _customer(session, tenant, subscriber.customer_id)
    rows = repository.package_rows(session, customer.id)
    check_package(customer, package, rows)
    user = session.get(User, subscriber.user_id)
    if user is not None and user.org_id == subscriber.org_id:
        check_admin_package(session, customer, list(user.roles or []), subscriber.email, package)  # R5
    params = body.provisioningParameters
    calling = check_calling(
        session,
        customer,
        package,
        params.primaryPhoneNumber if params else None,
        params.extension if params else None,
        params.locationId if params else None,
        current=subscriber,
    )
    before = subscriber.package
    try:
        with session.begin_nested():
            if package != before:
                assign(session, customer, package)
                repository.release_unit(session, customer.id, before)
            subscriber.package = package
            subscriber.primary_phone_number = calling.phone
            subscriber.extension = calling.extension
            subscriber.location_id = calling.location_id
            subscriber.status = states.apply(subscriber.status, SubscriberEvent.PACKAGE_CHANGED)
            session.flush()
    except IntegrityError as exc:
        raise _integrity(exc) from None
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action="subscriber.updated",
        partner_org_id=subscriber.partner_org_id,
        data={"package": [before, package]},
    )
    return subscriber


def delete_subscriber(session: Session, principal: Principal, on_behalf_of: str | None, subscriber_id: str) -> None:
    """Remove a subscriber and its user; its unit is free at once."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=False)
    subscriber = _owned(session, tenant, subscriber_id)
    user = session.get(User, subscriber.user_id)
    if user is not None and "full_admin" in (user.roles or []) and user.org_id == subscriber.org_id:
        raise Conflict(
            f"{subscriber.email} is the customer's full administrator and cannot be removed while the customer exists.",
            error_code=409540,
        )
    _remove(session, subscriber, user)
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action="subscriber.deleted",
        partner_org_id=subscriber.partner_org_id,
        data={"customerId": subscriber.customer_id, "package": subscriber.package},
    )


def _remove(session: Session, subscriber: Subscriber, user: User | None) -> None:
    repository.release_unit(session, subscriber.customer_id, subscriber.package)
    session.delete(subscriber)
    session.flush()
    # A pending subscriber's user is still the owner's free account: it stays theirs.
    if user is not None and user.org_id == subscriber.org_id:
        session.delete(user)


def resend_consent(session: Session, principal: Principal, on_behalf_of: str | None, subscriber_id: str) -> None:
    """Send the consent-to-move email again (only while the move is pending)."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=True)
    subscriber = _owned(session, tenant, subscriber_id)
    subscriber.status = states.apply(subscriber.status, SubscriberEvent.CONSENT_RESENT)
    _send_consent(session, subscriber, clock.now())


def accept_consent(session: Session, token: str) -> Subscriber:
    """The free account's owner agreed: move the user into the customer's org; the subscriber is provisioned."""
    subscriber = repository.by_consent_token(session, token) if token else None
    if subscriber is None:
        raise NotFound("This consent link is unknown or was already used.")
    subscriber.status = states.apply(subscriber.status, SubscriberEvent.CONSENT_ACCEPTED)
    user = session.get(User, subscriber.user_id)
    user.org_id = subscriber.org_id
    subscriber.consent_token = None
    subscriber.last_status_change = clock.now()
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action="subscriber.consent_accepted",
        partner_org_id=subscriber.partner_org_id,
        data={"personId": user.id},
        actor=f"user:{user.id}",
    )
    return subscriber


def record_consent_email(session: Session, subscriber_id: str, link_base: str) -> bool:
    """The mailer's side of the consent email: record what was sent (False when the move is no longer pending)."""
    subscriber = repository.get(session, subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.PENDING_USER_MIGRATION:
        return False
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action="subscriber.consent_email_sent",
        partner_org_id=subscriber.partner_org_id,
        data={"to": subscriber.email, "link": f"{link_base}/v1/subscribers/consent/{subscriber.consent_token}"},
    )
    return True


def create_free_account(
    session: Session, email: str, *, first_name: str | None = None, last_name: str | None = None
) -> User:
    """Create an active free (consumer) account outside any customer org (tests, demo)."""
    org = session.get(Org, FREE_ACCOUNTS_ORG) or identity.create_org(
        session, kind="consumer", display_name="Free accounts", org_id=FREE_ACCOUNTS_ORG
    )
    session.flush()
    address = check_email("email", email)
    if identity.email_in_use(session, address):
        raise _email_in_use()
    return identity.create_user(session, org_id=org.id, email=address, first_name=first_name, last_name=last_name)


# ---------------------------------------------------------------------------------------------- the customer's side


def ensure_admin_subscriber(
    session: Session,
    customer: Customer,
    *,
    user: User | None = None,
    new_user: bool = False,
    rows: dict[str, CustomerPackageRow] | None = None,
) -> None:
    """Make the customer's full admin a subscriber of the customer's tier package (R5); a full cap is a package warning.

    Callers that hold the admin `user` (`new_user`: created in this transaction, so no subscriber yet) and the
    package `rows` pass them, saving the reads.
    """
    if user is None:
        user = identity.find_user(session, customer.primary_email) if customer.primary_email else None
    if (
        user is None
        or user.org_id != customer.org_id
        or (not new_user and repository.by_user(session, user.id) is not None)
    ):
        return
    rows = rows if rows is not None else repository.package_rows(session, customer.id)
    recorded = repository.get_tier(session, customer.id)
    tier = recorded.package if recorded is not None else person_tier(rows)
    if tier is None:
        return  # no person package: nothing to give
    if recorded is None:
        session.add(CustomerAdminTier(customer_id=customer.id, package=tier, created=clock.now()))
    # The customer's packages are still being granted in this workflow step.
    if not repository.take_unit(session, customer.id, tier, statuses=("provisioning", "provisioned")):
        row = rows[tier]
        row.warnings = [
            *(row.warnings or []),
            {
                "errorCode": 3200,
                "description": f"The full administrator {user.email} did not get {tier}: its cap of {row.quantity_limit} leaves 0.",
            },
        ]
        return
    now = clock.now()
    subscriber = Subscriber(
        id=ids.new_id("SUBSCRIBER"),
        customer_id=customer.id,
        partner_org_id=customer.partner_org_id,
        org_id=customer.org_id,
        user_id=user.id,
        email=user.email,
        package=tier,
        status=states.apply(SubscriberStatus.NEW, SubscriberEvent.CREATED),
        errors=[],
        created=now,
        last_status_change=now,
    )
    session.add(subscriber)
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action="subscriber.created",
        partner_org_id=customer.partner_org_id,
        data={"customerId": customer.id, "package": tier, "fullAdmin": True},
    )


def remove_customer_subscribers(session: Session, customer: Customer) -> int:
    """Delete every subscriber of a customer being removed, and the users of its org (a free account stays its owner's)."""
    subscribers = repository.of_customer(session, customer.id)
    session.execute(sa.delete(Subscriber).where(Subscriber.customer_id == customer.id))
    session.execute(sa.delete(CustomerAdminTier).where(CustomerAdminTier.customer_id == customer.id))
    org = session.get(Org, customer.org_id) if customer.org_id else None
    if org is not None and org.kind == "customer":
        session.execute(sa.delete(User).where(User.org_id == org.id))
    elif subscribers and customer.org_id:
        # The partner's own org (R6) keeps its other users; only subscribers' users go.
        session.execute(
            sa.delete(User).where(User.id.in_([s.user_id for s in subscribers]), User.org_id == customer.org_id)
        )
    for subscriber in subscribers:
        events.record(
            session,
            subject_type="subscriber",
            subject_id=subscriber.id,
            action="subscriber.deleted",
            partner_org_id=customer.partner_org_id,
            data={"customerId": customer.id, "package": subscriber.package, "reason": "customer removed"},
        )
    return len(subscribers)


# ---------------------------------------------------------------------------------------------- reads


def to_read(subscriber: Subscriber, external_customer_id: str | None) -> dict[str, Any]:
    """Render a subscriber the way the spec's Subscriber schema has it."""
    body: dict[str, Any] = {"id": subscriber.id}
    if subscriber.status == SubscriberStatus.PROVISIONED:
        body["personId"] = subscriber.user_id
    body |= {"email": subscriber.email, "customerId": subscriber.customer_id}
    if external_customer_id is not None:
        body["externalCustomerId"] = external_customer_id
    if subscriber.package in (
        "webex_calling",
        "webex_meetings",
        "webex_suite",
        "webex_voice",
        "cx_essentials",
        "webex_calling_standard",
    ):
        body["package"] = subscriber.package
    body["packages"] = [subscriber.package]
    body["status"] = subscriber.status
    if subscriber.errors:
        body["errors"] = subscriber.errors
    body["created"] = clock.isoformat(subscriber.created)
    body["lastStatusChange"] = clock.isoformat(subscriber.last_status_change)
    return body


def read(session: Session, subscriber: Subscriber) -> dict[str, Any]:
    """Render one subscriber."""
    # After a create or update the customer is in the session's identity map: no query.
    customer = session.get(Customer, subscriber.customer_id)
    return to_read(subscriber, customer.external_id if customer is not None else None)


def get_subscriber(
    session: Session, principal: Principal, on_behalf_of: str | None, subscriber_id: str
) -> dict[str, Any]:
    """Read one subscriber of the caller's tenant (anyone else's is a 404)."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=False)
    return read(session, _owned(session, tenant, subscriber_id))


def parse_instant(field: str, value: str | None) -> datetime | None:
    """Read epoch milliseconds or ISO-8601 (naive = UTC)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"-?\d+", text):
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise field_error(field, f"'{value}' is neither epoch milliseconds nor an ISO-8601 instant.") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def list_filters(
    *,
    customer_id: str | None,
    person_id: str | None,
    external_customer_id: str | None,
    email: str | None,
    status: str | None,
    after: str | None,
    last_status_change: str | None,
    sort_by: str | None,
    sort_order: str | None,
) -> ListFilters:
    """Check and parse the list query."""
    if status is not None and status not in (SubscriberStatus.PROVISIONED, SubscriberStatus.PENDING_USER_MIGRATION):
        raise field_error("status", f"unknown status '{status}'; use provisioned or pending_user_migration.")
    sort = sort_by or "created"
    if sort == "userCreationTimestamp":  # the spec's own example value
        sort = "created"
    if sort not in ("created", "lastStatusChange"):
        raise field_error("sortBy", f"'{sort_by}' is not sortable; use created or lastStatusChange.")
    order = (sort_order or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise field_error("sortOrder", f"'{sort_order}' must be ASC or DESC.")
    return ListFilters(
        customer_id=customer_id or None,
        person_id=person_id or None,
        external_customer_id=external_customer_id or None,
        email=email.strip().lower() if email else None,
        status=status,
        created_after=parse_instant("after", after),
        changed_after=parse_instant("lastStatusChange", last_status_change),
        sort_by=sort,
        descending=order == "DESC",
    )


def list_subscribers(
    session: Session, principal: Principal, on_behalf_of: str | None, params: PageParams, filters: ListFilters
) -> Page[dict[str, Any]]:
    """List the tenant's subscribers, filtered and sorted."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=False)
    rows = repository.list_page(session, params, filters, partner_org_id=tenant.partner_org_id, org_id=tenant.org_id)
    page = page_from_rows(rows, params)
    external = repository.external_ids(session, {s.customer_id for s in page.items})
    return Page(
        items=[to_read(s, external.get(s.customer_id)) for s in page.items], params=params, has_more=page.has_more
    )


# ---------------------------------------------------------------------------------------------- bulk


def import_row(
    session: Session,
    customer: Customer,
    number: int,
    row: dict[str, Any],
    rows: dict[str, CustomerPackageRow] | None = None,
) -> dict[str, Any]:
    """Provision one bulk row (its writes sit in a savepoint); a row already done (its email is this customer's
    subscriber) counts as done, so re-running an import is harmless."""
    email = str(row.get("email") or "").strip()
    result: dict[str, Any] = {"row": number, "email": email}
    try:
        parsed = BulkRowIn.model_validate({k: (v if v != "" else None) for k, v in row.items()})
        existing = repository.by_email(session, check_email("email", parsed.email))
        if existing is not None and existing.customer_id == customer.id:
            return result | {"status": existing.status, "subscriberId": existing.id}
        subscriber = provision(
            session,
            customer,
            Wanted(
                email=parsed.email,
                package=str(parsed.package),
                first_name=parsed.firstName,
                last_name=parsed.lastName,
                phone=parsed.primaryPhoneNumber,
                extension=parsed.extension,
            ),
            rows,
        )
        return result | {"status": subscriber.status, "subscriberId": subscriber.id}
    except DomainError as exc:
        return result | {"status": "error", "errors": exc.errors}
    except ValueError as exc:  # pydantic's ValidationError
        text = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in getattr(exc, "errors", list)()
        ) or str(exc)
        return result | {"status": "error", "errors": [{"description": text, "errorCode": 400100}]}


@dataclass
class _Row:
    """One bulk row after the checks that need no database: its parse and its normalised email, or its error."""

    number: int
    result: dict[str, Any]
    parsed: BulkRowIn | None = None
    email: str | None = None
    error: list[dict[str, Any]] | None = None


def _parse_row(number: int, row: dict[str, Any]) -> _Row:
    """Parse a bulk row and normalise its email, exactly as import_row does first."""
    item = _Row(number, {"row": number, "email": str(row.get("email") or "").strip()})
    try:
        item.parsed = BulkRowIn.model_validate({k: (v if v != "" else None) for k, v in row.items()})
        item.email = check_email("email", item.parsed.email)
    except DomainError as exc:
        item.error = exc.errors
    except ValueError as exc:  # pydantic's ValidationError
        text = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in getattr(exc, "errors", list)()
        ) or str(exc)
        item.error = [{"description": text, "errorCode": 400100}]
    return item


class _ChunkPlan:
    """What a chunk's rows are checked against: the database read once for all rows, plus the rows planned so far."""

    def __init__(self, session: Session, customer: Customer, items: list[_Row], rows: dict[str, CustomerPackageRow]):
        self.customer = customer
        self.rows = rows
        self._phones: dict[str, str | DomainError] = {}
        emails = {i.email for i in items if i.email is not None}
        self.subscribers = repository.by_emails(session, emails)
        self.users = repository.users_by_emails(session, emails)
        consumers = {user.id for user, kind in self.users.values() if kind == "consumer"}
        self.subscribed = repository.subscribed_users(session, consumers)
        calling = [i.parsed for i in items if i.parsed is not None and str(i.parsed.package) in CALLING_ENABLED]
        self.location = customers_repo.get_location(session, customer.id) if calling else None
        numbers = {
            n for p in calling if (n := self.phone(p.primaryPhoneNumber)) is not None and not isinstance(n, DomainError)
        }
        self.phones_taken = repository.phones_taken(session, customer.id, numbers)
        extensions = {e for p in calling if (e := (p.extension or "").strip()) and EXTENSION.match(e)}
        self.extensions_taken = (
            repository.extensions_taken(session, self.location.id, extensions) if self.location is not None else set()
        )
        # Rows of this chunk that succeeded, by email: a later row with the same email is that subscriber's (import_row).
        self.done: dict[str, dict[str, Any]] = {}

    def phone(self, value: str | None) -> str | DomainError | None:
        """The E.164 form of a number, or the error normalise_phone gives (memoised: phonenumbers is slow)."""
        value = (value or "").strip() or None
        if value is None:
            return None
        if value not in self._phones:
            try:
                self._phones[value] = normalise_phone(value, self.customer.country)
            except DomainError as exc:
                self._phones[value] = exc
        return self._phones[value]

    def check(self, item: _Row) -> tuple[str, Calling, User | None] | dict[str, Any]:
        """Run plan()'s rules in plan()'s order on one row; return (package, calling, free account) or a done result."""
        email, parsed, customer = item.email, item.parsed, self.customer
        earlier = self.done.get(email)
        if earlier is not None:
            return earlier
        existing = self.subscribers.get(email)
        if existing is not None and existing.customer_id == customer.id:
            return {"status": existing.status, "subscriberId": existing.id}
        free = None
        if email in self.users:
            user, kind = self.users[email]
            if kind != "consumer" or user.id in self.subscribed:
                raise _email_in_use()
            free = user
        package = str(parsed.package)
        check_package(customer, package, self.rows)
        for field, value in (("firstName", parsed.firstName), ("lastName", parsed.lastName)):
            if value is not None:
                check_name(f"provisioningParameters.{field}", value)
        return package, self._calling(package, parsed), free

    def _calling(self, package: str, parsed: BulkRowIn) -> Calling:
        """check_calling against the numbers and extensions read for the chunk and those the chunk took."""
        if package not in CALLING_ENABLED:
            return Calling()
        extension = (parsed.extension or "").strip() or None
        if (parsed.primaryPhoneNumber or "").strip() == "" and extension is None:
            raise field_error(
                "provisioningParameters",
                f"primaryPhoneNumber and/or extension is required for the calling-enabled package {package}.",
                400320,
            )
        location = self.location
        if location is None:
            raise field_error(
                "provisioningParameters.locationId",
                f"customer {self.customer.external_id} has no calling location.",
                400321,
            )
        e164 = self.phone(parsed.primaryPhoneNumber)
        if isinstance(e164, DomainError):
            raise e164
        if e164 is not None and e164 in self.phones_taken:
            raise Conflict(
                f"provisioningParameters.primaryPhoneNumber: {e164} is already used by another subscriber of this customer.",
                error_code=409520,
            )
        if extension is not None:
            if not EXTENSION.match(extension):
                raise field_error("provisioningParameters.extension", f"'{extension}' must be 2 to 10 digits.", 400323)
            if extension in self.extensions_taken:
                raise Conflict(
                    f"provisioningParameters.extension: {extension} is already used at location {location.name}.",
                    error_code=409521,
                )
        return Calling(e164, extension, location.id)


@dataclass(frozen=True)
class _Short:
    """A package whose cap (or state) left fewer units than a chunk wanted, as a fresh read would show it after the take."""

    status: str | None
    quantity_limit: int | None = None
    assigned: int = 0


def _take_for_chunk(session: Session, customer: Customer, package: str, wanted: int) -> tuple[int, _Short | None]:
    """Take up to `wanted` units of a package: all at once when the cap allows, else what it leaves (R8)."""
    if repository.take_units(session, customer.id, package, wanted):
        return wanted, None
    # Locked (PostgreSQL) or under the single writer (SQLite): what is left cannot change before the take below.
    row = repository.package_row_locked(session, customer.id, package)
    if row is None or row.status != "provisioned":
        return 0, _Short(row.status if row is not None else None)
    left = wanted if row.quantity_limit is None else max(0, min(wanted, row.quantity_limit - row.assigned))
    if left and not repository.take_units(session, customer.id, package, left):
        left = 0
    return left, _Short(row.status, row.quantity_limit, row.assigned + left)


def _cap_error(customer: Customer, package: str, short: _Short | None) -> Conflict:
    """The error assign() gives when no unit is left or the package is not provisioned (R8)."""
    if short is None or short.status != "provisioned":
        state = short.status if short is not None and short.status is not None else "absent"
        return Conflict(
            f"packages: {package} of customer {customer.external_id} is {state}; subscribers can get it once it is provisioned.",
            error_code=409510,
        )
    return Conflict(
        f"packages: the cap for {package} is reached: limit {short.quantity_limit}, {short.assigned} assigned, 0 left.",
        error_code=409500,
    )


def import_chunk(
    session: Session,
    customer: Customer,
    numbered: list[tuple[int, dict[str, Any]]],
    rows: dict[str, CustomerPackageRow] | None = None,
) -> list[dict[str, Any]]:
    """Provision many bulk rows set-based: the same per-row results as import_row row after row, in a few queries.

    Reads are batched for the chunk, each package's units are taken with one conditional UPDATE (R8), and users,
    subscribers and audit rows are inserted in bulk. Should a concurrent writer win a unique value in between
    (PostgreSQL), the chunk's writes are undone and its rows go through import_row one by one.
    """
    rows = rows if rows is not None else repository.package_rows(session, customer.id)
    items = [_parse_row(number, row) for number, row in numbered]
    try:
        with session.begin_nested():
            return _import_items(session, customer, items, rows)
    except IntegrityError:
        return [import_row(session, customer, number, row, rows) for number, row in numbered]


def _import_items(
    session: Session, customer: Customer, items: list[_Row], rows: dict[str, CustomerPackageRow]
) -> list[dict[str, Any]]:
    plan_ = _ChunkPlan(session, customer, items, rows)
    # An upper bound of the units each package needs; what is not used goes back before the chunk commits.
    wanted: dict[str, int] = {}
    for item in items:
        if item.parsed is not None and item.email is not None:
            wanted[str(item.parsed.package)] = wanted.get(str(item.parsed.package), 0) + 1
    taken: dict[str, int] = {}
    short: dict[str, _Short | None] = {}
    for package, count in wanted.items():
        if package in _held(rows):
            taken[package], shortfall = _take_for_chunk(session, customer, package, count)
            if shortfall is not None:
                short[package] = shortfall
    left = dict(taken)
    now = clock.now()
    created = states.apply(SubscriberStatus.NEW, SubscriberEvent.CREATED)
    pending = states.apply(SubscriberStatus.NEW, SubscriberEvent.CONSENT_REQUIRED)
    users: list[dict[str, Any]] = []
    subscribers: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for item in items:
        if item.error is not None:
            results.append(item.result | {"status": "error", "errors": item.error})
            continue
        try:
            checked = plan_.check(item)
            if isinstance(checked, dict):
                results.append(item.result | checked)
                continue
            package, calling, free = checked
            if left.get(package, 0) == 0:
                raise _cap_error(customer, package, short.get(package))  # R8: row order decides who gets the last units
        except DomainError as exc:
            results.append(item.result | {"status": "error", "errors": exc.errors})
            continue
        left[package] -= 1
        parsed = item.parsed
        if free is None:
            user_id = ids.new_id("PEOPLE")
            users.append(
                {
                    "id": user_id,
                    "org_id": customer.org_id,
                    "email": item.email,
                    "first_name": parsed.firstName.strip() if parsed.firstName else None,
                    "last_name": parsed.lastName.strip() if parsed.lastName else None,
                    "roles": [],
                    "created": now,
                }
            )
        else:
            user_id = free.id
        subscriber_id = ids.new_id("SUBSCRIBER")
        subscribers.append(
            {
                "id": subscriber_id,
                "customer_id": customer.id,
                "partner_org_id": customer.partner_org_id,
                "org_id": customer.org_id,
                "user_id": user_id,
                "email": item.email,
                "package": package,
                "status": pending if free is not None else created,
                "errors": [],
                "primary_phone_number": calling.phone,
                "extension": calling.extension,
                "location_id": calling.location_id,
                "consent_token": secrets.token_urlsafe(24) if free is not None else None,
                "consent_sent_at": now if free is not None else None,
                "created": now,
                "last_status_change": now,
            }
        )
        done = {"status": subscribers[-1]["status"], "subscriberId": subscriber_id}
        plan_.done[item.email] = done
        if calling.phone is not None:
            plan_.phones_taken.add(calling.phone)
        if calling.extension is not None:
            plan_.extensions_taken.add(calling.extension)
        results.append(item.result | done)
    for package, count in left.items():
        if count:
            repository.release_units(session, customer.id, package, count)
    if users:
        session.execute(sa.insert(User), users)
    if subscribers:
        session.execute(sa.insert(Subscriber), subscribers)
        actor, tracking = current_actor(), current_tracking_id()
        session.execute(
            sa.insert(AuditEvent),
            [
                {
                    "occurred_at": now,
                    "actor": actor,
                    "partner_org_id": customer.partner_org_id,
                    "subject_type": "subscriber",
                    "subject_id": s["id"],
                    "action": "subscriber.created",
                    "data": {"customerId": customer.id, "package": s["package"], "status": s["status"]},
                    "tracking_id": tracking,
                }
                for s in subscribers
            ],
        )
    for s in subscribers:
        if s["consent_token"] is not None:
            stamp = int(now.timestamp() * 1000)
            enqueue(session, "subscribers.send_consent_email", s["id"], key=f"subscribers.consent:{s['id']}:{stamp}")
    return results


def customer_for_import(session: Session, customer_id: str) -> Customer:
    """The customer a CLI import works on (operators act for its partner)."""
    customer = customers_repo.get_live(session, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found.")
    return _customer(session, Tenant(partner_org_id=customer.partner_org_id), customer_id)


def start_bulk(session: Session, principal: Principal, on_behalf_of: str | None, body: BulkImportCreate) -> BulkImport:
    """Accept up to 1,000 rows and enqueue their import (202; poll the import for per-row results)."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=True)
    customer = _customer(session, tenant, body.customerId)
    bulk = BulkImport(
        id=ids.new_id("SUBSCRIBER_IMPORT"),
        partner_org_id=customer.partner_org_id,
        customer_id=customer.id,
        status=BulkStatus.QUEUED,
        rows=[r.model_dump(exclude_none=True) for r in body.rows],
        results=[],
        created=clock.now(),
    )
    session.add(bulk)
    events.record(
        session,
        subject_type="subscriber_import",
        subject_id=bulk.id,
        action="subscribers.import_requested",
        partner_org_id=customer.partner_org_id,
        data={"customerId": customer.id, "rows": len(body.rows)},
    )
    enqueue(session, "subscribers.bulk_import", bulk.id, key=f"subscribers.bulk_import:{bulk.id}")
    return bulk


def process_bulk_chunk(session: Session, bulk_id: str, chunk: int = BULK_CHUNK) -> bool:
    """Import the next rows of a bulk job and store their results with them; True when every row is done."""
    bulk = session.scalars(sa.select(BulkImport).where(BulkImport.id == bulk_id).with_for_update()).first()
    if bulk is None or bulk.status == BulkStatus.COMPLETED:
        return True
    bulk.status = states.apply_bulk(bulk.status, "started")
    done = len(bulk.results)
    customer = customers_repo.get_live(session, bulk.customer_id)
    todo = bulk.rows[done : done + chunk]
    if customer is None or customer.status == "deleting":
        new = [
            {
                "row": done + i + 1,
                "email": r.get("email", ""),
                "status": "error",
                "errors": [{"description": "The customer no longer exists.", "errorCode": 404000}],
            }
            for i, r in enumerate(bulk.rows[done:])
        ]
    else:
        new = import_chunk(session, customer, [(done + i + 1, r) for i, r in enumerate(todo)])
    bulk.results = [*bulk.results, *new]
    if len(bulk.results) >= len(bulk.rows):
        bulk.status = states.apply_bulk(bulk.status, "finished")
        bulk.finished = clock.now()
        events.record(
            session,
            subject_type="subscriber_import",
            subject_id=bulk.id,
            action="subscribers.import_finished",
            partner_org_id=bulk.partner_org_id,
            data={"rows": len(bulk.rows), "failed": sum(1 for r in bulk.results if r["status"] == "error")},
        )
        return True
    return False


def get_bulk(session: Session, principal: Principal, on_behalf_of: str | None, bulk_id: str) -> dict[str, Any]:
    """Read a bulk import's progress and per-row results."""
    tenant = tenant_of(session, principal, on_behalf_of, writing=False)
    bulk = repository.get_bulk(session, bulk_id)
    customer = customers_repo.get_live(session, bulk.customer_id) if bulk is not None else None
    org_id = customer.org_id if customer is not None else None
    if bulk is None or not tenant.owns(bulk.partner_org_id, org_id):
        raise NotFound(f"Subscriber import {bulk_id} not found.")
    failed = sum(1 for r in bulk.results if r["status"] == "error")
    return {
        "id": bulk.id,
        "customerId": bulk.customer_id,
        "status": bulk.status,
        "total": len(bulk.rows),
        "processed": len(bulk.results),
        "succeeded": len(bulk.results) - failed,
        "failed": failed,
        "created": clock.isoformat(bulk.created),
        **({"finished": clock.isoformat(bulk.finished)} if bulk.finished else {}),
        "results": bulk.results,
    }
