"""Subscribers, one request at a time: create (or a pending move of a free account), precheck, package change,
delete, the consent move and reads, all inside the caller's tenant (R4).

The rules themselves are in `rules` (R5, R7, R8, R9), the customer's full admin in `admins`, bulk imports in
`bulk`.
"""

import hashlib
import re
import secrets
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wholesale.customers import repository as customers_repo
from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.customers.validation import check_email
from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.identity.models import Org, User
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.errors import NotFound, field_error
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers import mailer, repository, rules, states, usage
from wholesale.subscribers.models import Subscriber
from wholesale.subscribers.repository import ListFilters
from wholesale.subscribers.rules import CALLING_ENABLED, Calling, Planned, Wanted
from wholesale.subscribers.schemas import SubscriberCreate, SubscriberUpdate, SubscriberValidate
from wholesale.subscribers.states import SubscriberEvent, SubscriberStatus

PRECHECK_OK = {"infoCode": 100, "description": "Provisioning preCheck validation successful."}
FREE_ACCOUNTS_ORG = ids.encode_id("ORGANIZATION", "free-accounts")
# The packages the spec's deprecated single `package` field can show.
LEGACY_PACKAGES = frozenset(
    {"webex_calling", "webex_meetings", "webex_suite", "webex_voice", "cx_essentials", "webex_calling_standard"}
)


# ---------------------------------------------------------------------------------------------- tenancy


def customer_of(session: Session, tenant: Tenant, customer_id: str) -> Customer:
    """The tenant's customer whose subscribers may change now (404 for anyone else's)."""
    return _open(customers_repo.get_owned(session, tenant, customer_id), customer_id)


def customer_with_packages(
    session: Session, tenant: Tenant, customer_id: str
) -> tuple[Customer, dict[str, CustomerPackageRow]]:
    """`customer_of` and its package rows by name, read in one statement."""
    customer, rows = customers_repo.get_owned_with_packages(session, tenant, customer_id)
    return _open(customer, customer_id), rows


def _open(customer: Customer | None, customer_id: str) -> Customer:
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found.")
    rules.check_open(customer)
    return customer


def _owned(session: Session, tenant: Tenant, subscriber_id: str) -> Subscriber:
    subscriber = repository.get_owned(session, tenant, subscriber_id)
    if subscriber is None:
        raise NotFound(f"Subscriber {subscriber_id} not found.")
    return subscriber


# ---------------------------------------------------------------------------------------------- create


def plan(
    session: Session, customer: Customer, wanted: Wanted, rows: dict[str, CustomerPackageRow] | None = None
) -> Planned:
    """Run every create rule without writing.

    A batch passes the customer's package rows once (`rows`): which packages it holds does not change within it.
    """
    email = check_email("email", wanted.email)
    rows = rows if rows is not None else repository.package_rows(session, customer.id)
    return rules.check_create(rules.Lookup(session, customer), email, wanted, rows)


def subscriber_values(
    customer: Customer, planned: Planned, *, subscriber_id: str, user_id: str, now: datetime
) -> dict[str, Any]:
    """A new subscriber's columns: provisioned, or pending its free account's consent to move (the consent email's
    job makes its link)."""
    pending = planned.free is not None
    event = SubscriberEvent.CONSENT_REQUIRED if pending else SubscriberEvent.CREATED
    return {
        "id": subscriber_id,
        "customer_id": customer.id,
        "partner_org_id": customer.partner_org_id,
        "org_id": customer.org_id,
        "user_id": user_id,
        "email": planned.email,
        "package": planned.package,
        "status": states.apply(SubscriberStatus.NEW, event),
        "errors": [],
        "primary_phone_number": planned.calling.phone,
        "extension": planned.calling.extension,
        "location_id": planned.calling.location_id,
        "consent_token_hash": None,
        "consent_sent_at": now if pending else None,
        "created": now,
        "last_status_change": now,
    }


def provision(
    session: Session,
    customer: Customer,
    wanted: Wanted,
    rows: dict[str, CustomerPackageRow] | None = None,
    *,
    savepoint: bool = True,
) -> Subscriber:
    """Create a subscriber (200), or a pending move of a free account (202), taking one unit of its package.

    `savepoint=False` when a failure ends the caller's transaction anyway (one API request): two statements fewer,
    and the user and subscriber rows are written by Core inserts instead of the unit of work's flush.
    """
    planned = plan(session, customer, wanted, rows)
    org_id = customer.org_id
    assert org_id is not None  # the caller's customer passed rules.check_open
    now = clock.now()
    try:
        with session.begin_nested() if savepoint else nullcontext():
            units = rules.assign(session, customer, planned.package)  # R8
            if planned.free is None:
                user_id = identity.create_user(
                    session,
                    org_id=org_id,
                    email=planned.email,
                    roles=["admin"] if wanted.administrator else [],
                    first_name=stripped_name(wanted.first_name),
                    last_name=stripped_name(wanted.last_name),
                    # A bulk row (savepoint): the chunk's later rows look for its user in the session. One
                    # request's transaction looks for it nowhere else: a Core insert (issue 15).
                    in_session=savepoint,
                ).id
            else:
                user_id = planned.free.id
            values = subscriber_values(
                customer, planned, subscriber_id=ids.new_id("SUBSCRIBER"), user_id=user_id, now=now
            )
            subscriber = Subscriber(**values)
            if savepoint:
                session.add(subscriber)
                session.flush()
            else:  # written now, as a flush would; the request renders the object, which stays out of the session
                repository.insert_subscriber(session, values)
    except IntegrityError as exc:
        raise rules.integrity_error(exc) from None
    usage.assigned(
        session, customer.partner_org_id, customer.id, subscriber.id, planned.package, units, subscriber.email
    )  # R2
    audit(
        session,
        subscriber,
        "subscriber.created",
        {"customerId": customer.id, "package": planned.package, "status": subscriber.status},
    )
    if planned.free is not None:
        send_consent(session, subscriber.id, now)
    return subscriber


def stripped_name(name: str | None) -> str | None:
    """A person's name as stored."""
    return name.strip() if name else None


def audit(
    session: Session, subscriber: Subscriber, action: str, data: dict[str, Any], *, actor: str | None = None
) -> None:
    """Add a subscriber's audit row to the caller's transaction."""
    events.record(
        session,
        subject_type="subscriber",
        subject_id=subscriber.id,
        action=action,
        partner_org_id=subscriber.partner_org_id,
        data=data,
        actor=actor,
    )


def audit_many(session: Session, customer: Customer, action: str, subjects: list[tuple[str, dict[str, Any]]]) -> None:
    """Add the audit rows of many subscribers of a customer, (subscriber id, data) each, in one INSERT."""
    events.record_many(
        session, subject_type="subscriber", action=action, partner_org_id=customer.partner_org_id, subjects=subjects
    )


def send_consent(session: Session, subscriber_id: str, now: datetime) -> None:
    """Enqueue the consent-to-move email (each sending is a job of its own)."""
    stamp = int(now.timestamp() * 1000)
    enqueue(
        session, "subscribers.send_consent_email", subscriber_id, key=f"subscribers.consent:{subscriber_id}:{stamp}"
    )


def create_subscriber(session: Session, tenant: Tenant, body: SubscriberCreate) -> tuple[Subscriber, dict[str, Any]]:
    """Provision a subscriber in a customer of the caller's tenant; return it and its rendering."""
    package = rules.one_package(body.package, body.packages, required=not body.administrator)
    customer, rows = customer_with_packages(session, tenant, body.customerId)
    subscriber = provision(
        session,
        customer,
        rules.wanted(body.email, package, body.provisioningParameters, administrator=body.administrator),
        rows,
        # Any error fails the whole request and its transaction is rolled back: no savepoint needed.
        savepoint=False,
    )
    # Rendered here, with the customer at hand: the session's identity map holds it only weakly (no re-read).
    return subscriber, to_read(subscriber, customer.external_id)


def precheck(session: Session, tenant: Tenant, body: SubscriberValidate) -> dict[str, Any]:
    """Run the create rules without writing anything (POST /subscribers/validate); the package may be left out.
    Another tenant's user's email answers as a free one (`rules.precheck_free_account`)."""
    package = rules.one_package(body.package, body.packages, required=False)
    email = check_email("email", body.email)
    if body.customerInfo is not None:
        check_email("customerInfo.primaryEmail", body.customerInfo.primaryEmail)
    customer = customer_of(session, tenant, body.customerId) if body.customerId is not None else None
    if customer is None or package is None:
        rules.precheck_free_account(session, tenant, email)
        return {"message": "success", "info": PRECHECK_OK}
    wanted = rules.wanted(email, package, body.provisioningParameters)
    rows = repository.package_rows(session, customer.id)
    rules.check_create(rules.PrecheckLookup(session, customer, tenant), email, wanted, rows)
    rules.check_unit_left(customer, package, repository.package_row(session, customer.id, package))  # R8
    return {"message": "success", "info": PRECHECK_OK}


# ---------------------------------------------------------------------------------------------- change, delete


def update_subscriber(session: Session, tenant: Tenant, subscriber_id: str, body: SubscriberUpdate) -> dict[str, Any]:
    """Change a subscriber's package: one unit moves from the old package to the new in this transaction (R8).
    Return the subscriber's rendering."""
    subscriber = _owned(session, tenant, subscriber_id)
    package = str(rules.one_package(body.package, body.packages))
    customer = customer_of(session, tenant, subscriber.customer_id)
    rows = repository.package_rows(session, customer.id)
    rules.check_package(customer, package, rows)
    lookup = rules.Lookup(session, customer, exclude_id=subscriber.id)
    user = session.get(User, subscriber.user_id)
    if user is not None and user.org_id == subscriber.org_id:
        rules.check_admin_package(lookup, rows, list(user.roles or []), subscriber.email, package)  # R5
    if package in CALLING_ENABLED and subscriber.package in CALLING_ENABLED:
        # Already calling-entitled: the spec says the parameters are optional and ignored.
        calling = Calling(subscriber.primary_phone_number, subscriber.extension, subscriber.location_id)
    else:
        params = body.provisioningParameters
        calling = rules.check_calling(
            lookup,
            package,
            params.primaryPhoneNumber if params else None,
            params.extension if params else None,
            params.locationId if params else None,
        )
    before = subscriber.package
    try:
        with session.begin_nested():
            if package != before:
                taken = rules.assign(session, customer, package)
                given_back = repository.release_units(session, customer.id, before)
                usage.released(session, customer.partner_org_id, customer.id, subscriber.id, before, given_back)
                usage.assigned(
                    session, customer.partner_org_id, customer.id, subscriber.id, package, taken, subscriber.email
                )
            subscriber.package = package
            subscriber.primary_phone_number = calling.phone
            subscriber.extension = calling.extension
            subscriber.location_id = calling.location_id
            subscriber.status = states.apply(subscriber.status, SubscriberEvent.PACKAGE_CHANGED)
            session.flush()
    except IntegrityError as exc:
        raise rules.integrity_error(exc) from None
    audit(
        session,
        subscriber,
        "subscriber.updated",
        {
            "customerId": subscriber.customer_id,
            "package": package,
            "previousPackage": before,
            "status": subscriber.status,
        },
    )
    return to_read(subscriber, customer.external_id)


def delete_subscriber(session: Session, tenant: Tenant, subscriber_id: str) -> None:
    """Remove a subscriber and its user; its unit is free at once."""
    subscriber = _owned(session, tenant, subscriber_id)
    user = session.get(User, subscriber.user_id)
    if user is not None and "full_admin" in (user.roles or []) and user.org_id == subscriber.org_id:
        raise rules.full_admin_stays(subscriber.email)
    given_back = repository.release_units(session, subscriber.customer_id, subscriber.package)
    usage.released(
        session, subscriber.partner_org_id, subscriber.customer_id, subscriber.id, subscriber.package, given_back
    )  # R2
    session.delete(subscriber)
    session.flush()
    # A pending subscriber's user is still the owner's free account: it stays theirs.
    if user is not None and user.org_id == subscriber.org_id:
        session.delete(user)
    audit(
        session, subscriber, "subscriber.deleted", {"customerId": subscriber.customer_id, "package": subscriber.package}
    )


# ---------------------------------------------------------------------------------------------- consent move


def consent_token_hash(token: str) -> str:
    """What the database keeps of a consent link's token: its SHA-256, hex (the token is 192 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def resend_consent(session: Session, tenant: Tenant, subscriber_id: str) -> None:
    """Send the consent-to-move email again (only while the move is pending): the link sent before stops working
    now, the new email brings a new one."""
    subscriber = _owned(session, tenant, subscriber_id)
    subscriber.status = states.apply(subscriber.status, SubscriberEvent.CONSENT_RESENT)
    subscriber.consent_token_hash = None
    subscriber.consent_sent_at = clock.now()
    send_consent(session, subscriber.id, subscriber.consent_sent_at)
    audit(session, subscriber, "subscriber.consent_resent", {"customerId": subscriber.customer_id})


def accept_consent(session: Session, token: str) -> Subscriber:
    """The free account's owner agreed: move the user into the customer's org; the subscriber is provisioned."""
    subscriber = repository.by_consent_token_hash(session, consent_token_hash(token)) if token else None
    if subscriber is None:
        raise NotFound("This consent link is unknown or was already used.")
    subscriber.status = states.apply(subscriber.status, SubscriberEvent.CONSENT_ACCEPTED)
    user = session.get(User, subscriber.user_id)
    if user is None:  # the user row goes only with its subscriber
        raise NotFound("This consent link is unknown or was already used.")
    user.org_id = subscriber.org_id
    subscriber.consent_token_hash = None
    subscriber.last_status_change = clock.now()
    audit(session, subscriber, "subscriber.consent_accepted", {"personId": user.id}, actor=f"user:{user.id}")
    return subscriber


def send_consent_email(session: Session, subscriber_id: str, link_base: str) -> bool:
    """The mailer job's side: send the consent email with a new link (False when the move is no longer pending).

    Only the token's hash is kept; it replaces the one of any link sent before, which stops working. The email
    goes out while the subscriber's row is locked, so emails go out in the order their hashes are stored: the
    latest email's link is the one that works (a retry after a failed commit sends another). The audit row says
    to whom, never the link."""
    subscriber = repository.get_unscoped(session, subscriber_id, for_update=True)
    if subscriber is None or subscriber.status != SubscriberStatus.PENDING_USER_MIGRATION:
        return False
    token = secrets.token_urlsafe(24)
    subscriber.consent_token_hash = consent_token_hash(token)
    audit(session, subscriber, "subscriber.consent_email_sent", {"to": subscriber.email})
    session.flush()
    link = f"{link_base}/v1/subscribers/consent/{token}"
    mailer.send(mailer.ConsentEmail(subscriber_id=subscriber.id, to=subscriber.email, link=link, sent=clock.now()))
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
        raise rules.email_in_use()
    return identity.create_user(session, org_id=org.id, email=address, first_name=first_name, last_name=last_name)


# ---------------------------------------------------------------------------------------------- reads


def to_read(subscriber: Subscriber, external_customer_id: str | None) -> dict[str, Any]:
    """Render a subscriber the way the spec's Subscriber schema has it."""
    body: dict[str, Any] = {"id": subscriber.id}
    if subscriber.status == SubscriberStatus.PROVISIONED:
        body["personId"] = subscriber.user_id
    body |= {"email": subscriber.email, "customerId": subscriber.customer_id}
    if external_customer_id is not None:
        body["externalCustomerId"] = external_customer_id
    if subscriber.package in LEGACY_PACKAGES:
        body["package"] = subscriber.package
    body["packages"] = [subscriber.package]
    body["status"] = subscriber.status
    if subscriber.errors:
        body["errors"] = subscriber.errors
    body["created"] = clock.isoformat(subscriber.created)
    body["lastStatusChange"] = clock.isoformat(subscriber.last_status_change)
    return body


def get_subscriber(session: Session, tenant: Tenant, subscriber_id: str) -> dict[str, Any]:
    """Read one subscriber of the caller's tenant (anyone else's is a 404)."""
    subscriber = _owned(session, tenant, subscriber_id)
    # After a create or update the customer is in the session's identity map: no query.
    customer = session.get(Customer, subscriber.customer_id)
    return to_read(subscriber, customer.external_id if customer is not None else None)


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
    customer_id: str | None = None,
    person_id: str | None = None,
    external_customer_id: str | None = None,
    email: str | None = None,
    status: str | None = None,
    after: str | None = None,
    last_status_change: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
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
    session: Session, tenant: Tenant, params: PageParams, filters: ListFilters
) -> Page[dict[str, Any]]:
    """List the tenant's subscribers, filtered and sorted."""
    rows = repository.list_page(session, tenant, params, filters)
    page = page_from_rows(rows, params)
    external = repository.external_ids(session, {s.customer_id for s in page.items})
    return Page(
        items=[to_read(s, external.get(s.customer_id)) for s in page.items], params=params, has_more=page.has_more
    )
