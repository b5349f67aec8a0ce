"""Subscribers as people read them (the portal): a customer's users with their names, its licences against their
caps, one user with what it may change to, and a bulk import's progress with its failed rows in plain words.

Reads only, in the caller's tenant: a partner admin sees its (or its acting sub-partner's) customers, a customer
admin its own org (R4); anyone else's customer or subscriber is a 404.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.customers import repository as customers_repo
from wholesale.customers.models import Customer
from wholesale.identity.models import User
from wholesale.kit.errors import Forbidden, NotFound
from wholesale.kit.pagination import PageParams
from wholesale.packages.catalog import SubscriberPackage
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers import plain, repository, rules
from wholesale.subscribers.models import Subscriber
from wholesale.subscribers.states import BulkStatus

SUBSCRIBER_PACKAGES = tuple(p.value for p in SubscriberPackage)


@dataclass(frozen=True)
class Allowance:
    """One package of the customer: how many are assigned against its cap (R8)."""

    package: str
    status: str
    limit: int | None
    assigned: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.assigned, 0)

    @property
    def percent(self) -> int:
        return 0 if not self.limit else min(100, self.assigned * 100 // self.limit)


@dataclass(frozen=True)
class CustomerCard:
    """The customer whose users are shown: its name, state and licences."""

    id: str
    name: str
    external_id: str
    status: str
    ready: bool  # provisioned and not being removed: its users may change
    allowances: list[Allowance]
    tier: str | None  # the package its administrators hold at least (R5)

    @property
    def choices(self) -> list[Allowance]:
        """The packages a user of this customer may be given (held, provisioned, a subscriber package)."""
        return [a for a in self.allowances if a.status == "provisioned" and a.package in SUBSCRIBER_PACKAGES]


@dataclass(frozen=True)
class Person:
    """A subscriber with the person behind it."""

    id: str
    email: str
    first_name: str | None
    last_name: str | None
    package: str
    status: str
    created: datetime
    phone: str | None
    extension: str | None
    full_admin: bool
    admin: bool

    @property
    def name(self) -> str:
        return " ".join(n for n in (self.first_name, self.last_name) if n)


@dataclass(frozen=True)
class Roster:
    """A page of a customer's users."""

    customer: CustomerCard
    people: list[Person]
    total: int
    offset: int
    has_more: bool


@dataclass(frozen=True)
class Member:
    """One user of a customer, for its change page."""

    customer: CustomerCard
    person: Person


@dataclass(frozen=True)
class Failure:
    """A bulk row that was not imported, and why in plain words."""

    row: int
    email: str
    reasons: list[str]


@dataclass(frozen=True)
class Progress:
    """A bulk import as its progress page shows it."""

    id: str
    customer_id: str
    customer_name: str
    status: str
    total: int
    processed: int
    created: int
    waiting: int  # free accounts whose owners must consent to the move
    failed: int
    failures: list[Failure]

    @property
    def done(self) -> bool:
        return self.status == BulkStatus.COMPLETED

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.processed * 100 // self.total


# ---------------------------------------------------------------------------------------------- reads


def _customer(session: Session, tenant: Tenant, customer_id: str | None) -> Customer:
    """The tenant's live customer (404 for anyone else's); without an id, a customer admin's own."""
    if customer_id is not None:
        customer = customers_repo.get_owned(session, tenant, customer_id)
        if customer is None:
            raise NotFound(f"Customer {customer_id} not found.")
        return customer
    if tenant.org_id is None:
        raise Forbidden("Only a customer's own administrators have a users page of their organisation.")
    found = session.scalars(
        sa.select(Customer).where(Customer.org_id == tenant.org_id, Customer.deleted_at.is_(None))
    ).first()
    if found is None:
        raise NotFound("Your organisation is not a customer any more.")
    return found


def _card(session: Session, customer: Customer) -> CustomerCard:
    rows = repository.package_rows(session, customer.id)
    allowances = [
        Allowance(name, row.status, row.quantity_limit, row.assigned)
        for name, row in sorted(rows.items())
        if row.status != "deleting"
    ]
    return CustomerCard(
        id=customer.id,
        name=customer.name or customer.external_id,
        external_id=customer.external_id,
        status=customer.status,
        ready=customer.org_id is not None and customer.status != "deleting",
        allowances=allowances,
        tier=rules.tier_of(session, customer, rows),
    )


def _person(subscriber: Subscriber, user: User | None) -> Person:
    roles = set(user.roles or []) if user is not None and user.org_id == subscriber.org_id else set()
    return Person(
        id=subscriber.id,
        email=subscriber.email,
        first_name=user.first_name if user is not None else None,
        last_name=user.last_name if user is not None else None,
        package=subscriber.package,
        status=subscriber.status,
        created=subscriber.created,
        phone=subscriber.primary_phone_number,
        extension=subscriber.extension,
        full_admin="full_admin" in roles,
        admin=bool(rules.ADMIN_ROLES & roles),
    )


def roster(session: Session, tenant: Tenant, customer_id: str | None, params: PageParams) -> Roster:
    """A page of a customer's users, newest first, with names and their total; its licences against the caps.
    `customer_id` None: a customer admin's own organisation."""
    customer = _customer(session, tenant, customer_id)
    mine = Subscriber.customer_id == customer.id
    total = session.scalar(sa.select(sa.func.count()).select_from(Subscriber).where(mine)) or 0
    rows = session.execute(
        sa.select(Subscriber, User)
        .outerjoin(User, User.id == Subscriber.user_id)
        .where(mine)
        .order_by(Subscriber.created.desc(), Subscriber.id.desc())
        .offset(params.offset)
        .limit(params.max + 1)
    ).all()
    people = [_person(s, u) for s, u in rows[: params.max]]
    return Roster(_card(session, customer), people, total, params.offset, len(rows) > params.max)


def member(session: Session, tenant: Tenant, customer_id: str | None, subscriber_id: str) -> Member:
    """One user of the customer (a customer admin's own org when `customer_id` is None); 404 for anyone else's."""
    customer = _customer(session, tenant, customer_id)
    subscriber = repository.get_owned(session, tenant, subscriber_id)
    if subscriber is None or subscriber.customer_id != customer.id:
        raise NotFound(f"Subscriber {subscriber_id} not found.")
    return Member(_card(session, customer), _person(subscriber, session.get(User, subscriber.user_id)))


def progress(session: Session, tenant: Tenant, customer_id: str | None, bulk_id: str) -> Progress:
    """A bulk import of the customer: how far it got, what it created, and each failed row's reasons in plain words."""
    customer = _customer(session, tenant, customer_id)
    bulk = repository.get_bulk_owned(session, tenant, bulk_id)
    if bulk is None or bulk.customer_id != customer.id:
        raise NotFound(f"Subscriber import {bulk_id} not found.")
    failures = []
    created = waiting = 0
    for result in bulk.results:
        if result["status"] == "provisioned":
            created += 1
        elif result["status"] == "pending_user_migration":
            waiting += 1
        else:
            number = int(result["row"])
            row = bulk.rows[number - 1] if 0 < number <= len(bulk.rows) else {}
            package = str(row.get("package") or "") or None
            reasons = list(plain.explain_all(result.get("errors") or [], package=package).values())
            failures.append(Failure(number, str(result.get("email") or ""), reasons))
    return Progress(
        id=bulk.id,
        customer_id=bulk.customer_id,
        customer_name=customer.name or customer.external_id,
        status=bulk.status,
        total=len(bulk.rows),
        processed=len(bulk.results),
        created=created,
        waiting=waiting,
        failed=len(failures),
        failures=failures,
    )
