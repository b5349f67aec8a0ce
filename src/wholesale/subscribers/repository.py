"""Queries on subscribers, their package units (R8), admin tiers and bulk imports."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.db.session import core
from wholesale.identity.models import Org, User
from wholesale.kit.pagination import PageParams
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers.models import BulkImport, CustomerAdminTier, Subscriber


class Units(NamedTuple):
    """A customer package's assigned units and cap right after a change (what the usage ledger records)."""

    assigned: int
    quantity_limit: int | None


_PACKAGES = cast(sa.Table, CustomerPackageRow.__table__)


def _take_units_statement() -> sa.Update:
    # On the table, not the ORM class: an ORM-enabled UPDATE goes through the ORM's bulk-update path (about 0.5 ms
    # of CPU a call here) for nothing, since it changes no object in the session (`take_units` flushes first as the
    # ORM would have).
    count: sa.BindParameter[int] = sa.bindparam("count")
    packages = _PACKAGES.c
    return (
        sa.update(_PACKAGES)
        .where(
            packages.customer_id == sa.bindparam("b_customer"),
            packages.name == sa.bindparam("b_package"),
            packages.status.in_(sa.bindparam("statuses", expanding=True)),
            sa.or_(packages.quantity_limit.is_(None), packages.assigned + count <= packages.quantity_limit),
        )
        .values(assigned=packages.assigned + count)
        .returning(packages.assigned, packages.quantity_limit)
    )


# Built once: every subscriber create takes a unit.
_TAKE_UNITS = _take_units_statement()
_INSERT_SUBSCRIBER = sa.insert(cast(sa.Table, Subscriber.__table__))


def insert_subscriber(session: Session, values: dict[str, Any]) -> None:
    """Insert one subscriber by a Core insert of a statement built once (values as `Subscriber`'s columns)."""
    core(session).execute(_INSERT_SUBSCRIBER, values)


def take_units(
    session: Session, customer_id: str, package: str, count: int, *, statuses: tuple[str, ...] = ("provisioned",)
) -> Units | None:
    """Assign `count` units of a customer's package if its cap leaves that many: the units assigned after it and
    the cap; None (nothing taken) when it does not (R8).

    One conditional UPDATE: SQLite serialises writers, PostgreSQL re-checks the condition under the row
    lock, so parallel requests never push `assigned` past `quantity_limit`.
    """
    params = {"b_customer": customer_id, "b_package": package, "count": count, "statuses": list(statuses)}
    row = core(session).execute(_TAKE_UNITS, params).first()
    return Units(row.assigned, row.quantity_limit) if row is not None else None


def release_units(session: Session, customer_id: str, package: str, count: int = 1) -> Units | None:
    """Give units back: a subscriber left the package, or a bulk chunk took an upper bound and used fewer.
    Returns the units assigned after it and the cap (None when the package row is gone)."""
    result = session.execute(
        sa.update(CustomerPackageRow)
        .where(
            CustomerPackageRow.customer_id == customer_id,
            CustomerPackageRow.name == package,
            CustomerPackageRow.assigned >= count,
        )
        .values(assigned=CustomerPackageRow.assigned - count)
        .returning(CustomerPackageRow.assigned, CustomerPackageRow.quantity_limit)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    return Units(row.assigned, row.quantity_limit) if row is not None else None


def package_row_locked(session: Session, customer_id: str, package: str) -> CustomerPackageRow | None:
    """Return a package row read fresh and locked until commit (PostgreSQL; SQLite writers already hold the lock)."""
    return session.scalars(
        sa.select(CustomerPackageRow)
        .where(CustomerPackageRow.customer_id == customer_id, CustomerPackageRow.name == package)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def package_row(session: Session, customer_id: str, package: str) -> CustomerPackageRow | None:
    """Return a customer's package row, read fresh (not from the identity map: take_units changed it in SQL)."""
    return session.scalars(
        sa.select(CustomerPackageRow)
        .where(CustomerPackageRow.customer_id == customer_id, CustomerPackageRow.name == package)
        .execution_options(populate_existing=True)
    ).first()


def package_rows(session: Session, customer_id: str) -> dict[str, CustomerPackageRow]:
    """Return a customer's package rows by name."""
    rows = session.scalars(
        sa.select(CustomerPackageRow)
        .where(CustomerPackageRow.customer_id == customer_id)
        .execution_options(populate_existing=True)
    )
    return {r.name: r for r in rows}


def _scoped(query: sa.Select[Subscriber], tenant: Tenant) -> sa.Select[Subscriber]:
    if tenant.partner_org_id is not None:
        query = query.where(Subscriber.partner_org_id == tenant.partner_org_id)
    if tenant.org_id is not None:
        query = query.where(Subscriber.org_id == tenant.org_id)
    return query


def get_owned(session: Session, tenant: Tenant, subscriber_id: str) -> Subscriber | None:
    """Return a subscriber the tenant may see (its partner's, or a customer admin's own org's), else None."""
    return session.scalars(_scoped(sa.select(Subscriber).where(Subscriber.id == subscriber_id), tenant)).first()


def get_unscoped(session: Session, subscriber_id: str, *, for_update: bool = False) -> Subscriber | None:
    """Return (`for_update`: and lock) a subscriber whoever owns it: for jobs only, never for a request's tenant."""
    return session.get(Subscriber, subscriber_id, with_for_update=for_update)


def by_email(session: Session, email: str) -> Subscriber | None:
    """Return the subscriber with this (normalised) email."""
    return session.scalars(sa.select(Subscriber).where(Subscriber.email == email)).first()


def by_user(session: Session, user_id: str) -> Subscriber | None:
    """Return the subscriber record of a user."""
    return session.scalars(sa.select(Subscriber).where(Subscriber.user_id == user_id)).first()


def by_consent_token_hash(session: Session, token_hash: str) -> Subscriber | None:
    """Return (and lock) the pending subscriber whose latest consent link has a token with this hash."""
    return session.scalars(
        sa.select(Subscriber).where(Subscriber.consent_token_hash == token_hash).with_for_update()
    ).first()


def user_visible(session: Session, tenant: Tenant, user: User) -> bool:
    """True when the tenant may know of the user: the subscriber it is (a pending move's free account too), a user
    of one of the tenant's customer orgs (deleted customers' too), or of the tenant's own org."""
    subscriber = by_user(session, user.id)
    if subscriber is not None and tenant.owns(subscriber.partner_org_id, subscriber.org_id):
        return True
    owners = session.execute(sa.select(Customer.partner_org_id, Customer.org_id).where(Customer.org_id == user.org_id))
    return any(tenant.owns(partner, org) for partner, org in owners) or tenant.owns(user.org_id, user.org_id)


def by_emails(session: Session, emails: set[str]) -> dict[str, Subscriber]:
    """Return the subscribers with these (normalised) emails, by email."""
    if not emails:
        return {}
    return {s.email: s for s in session.scalars(sa.select(Subscriber).where(Subscriber.email.in_(emails)))}


def users_by_emails(session: Session, emails: set[str]) -> dict[str, tuple[User, str | None]]:
    """Return the users with these (normalised) emails with their org's kind, by email."""
    if not emails:
        return {}
    rows = session.execute(
        sa.select(User, Org.kind).outerjoin(Org, Org.id == User.org_id).where(User.email.in_(emails))
    )
    return {user.email: (user, kind) for user, kind in rows}


def subscribed_users(session: Session, user_ids: set[str]) -> set[str]:
    """Return which of these users already have a subscriber record."""
    if not user_ids:
        return set()
    return set(session.scalars(sa.select(Subscriber.user_id).where(Subscriber.user_id.in_(user_ids))))


def phones_taken(session: Session, customer_id: str, numbers: set[str]) -> set[str]:
    """Return which of these numbers subscribers of the customer already have."""
    if not numbers:
        return set()
    query = sa.select(Subscriber.primary_phone_number).where(
        Subscriber.customer_id == customer_id, Subscriber.primary_phone_number.in_(numbers)
    )
    return {n for n in session.scalars(query) if n is not None}


def extensions_taken(session: Session, location_id: str, extensions: set[str]) -> set[str]:
    """Return which of these extensions subscribers of the location already have."""
    if not extensions:
        return set()
    query = sa.select(Subscriber.extension).where(
        Subscriber.location_id == location_id, Subscriber.extension.in_(extensions)
    )
    return {e for e in session.scalars(query) if e is not None}


def _taken_statement(scope: Any, value: Any) -> sa.Select[Any]:
    """Another subscriber with this value within this scope; built once. `exclude` is the subscriber being changed
    ('' on a create: no id is empty)."""
    return (
        sa.select(Subscriber.id)
        .where(scope == sa.bindparam("scope"), value == sa.bindparam("value"), Subscriber.id != sa.bindparam("exclude"))
        .limit(1)
    )


_PHONE_TAKEN = _taken_statement(Subscriber.customer_id, Subscriber.primary_phone_number)
_EXTENSION_TAKEN = _taken_statement(Subscriber.location_id, Subscriber.extension)


def _taken(session: Session, statement: sa.Select[Any], scope: str, value: str, exclude_id: str | None) -> bool:
    return session.scalar(statement, {"scope": scope, "value": value, "exclude": exclude_id or ""}) is not None


def phone_taken(session: Session, customer_id: str, number: str, *, exclude_id: str | None = None) -> bool:
    """True when another subscriber of the customer has this number."""
    return _taken(session, _PHONE_TAKEN, customer_id, number, exclude_id)


def extension_taken(session: Session, location_id: str, extension: str, *, exclude_id: str | None = None) -> bool:
    """True when another subscriber of the location has this extension."""
    return _taken(session, _EXTENSION_TAKEN, location_id, extension, exclude_id)


@dataclass(frozen=True)
class ListFilters:
    """The list filters of the spec."""

    customer_id: str | None = None
    person_id: str | None = None
    external_customer_id: str | None = None
    email: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    changed_after: datetime | None = None
    sort_by: str = "created"
    descending: bool = False


def list_page(session: Session, tenant: Tenant, params: PageParams, filters: ListFilters) -> list[Subscriber]:
    """Return max + 1 subscribers the tenant may see (a partner's, or one customer org's), filtered and in a
    stable order."""
    query = _scoped(sa.select(Subscriber), tenant)
    if filters.customer_id is not None:
        query = query.where(Subscriber.customer_id == filters.customer_id)
    if filters.person_id is not None:
        # personId is shown only once provisioned, so only provisioned subscribers match it.
        query = query.where(Subscriber.user_id == filters.person_id, Subscriber.status == "provisioned")
    if filters.external_customer_id is not None:
        live = sa.select(Customer.id).where(
            Customer.external_id == filters.external_customer_id, Customer.deleted_at.is_(None)
        )
        query = query.where(Subscriber.customer_id.in_(live))
    if filters.email is not None:
        query = query.where(Subscriber.email == filters.email)
    if filters.status is not None:
        query = query.where(Subscriber.status == filters.status)
    if filters.created_after is not None:
        query = query.where(Subscriber.created > filters.created_after)
    if filters.changed_after is not None:
        query = query.where(Subscriber.last_status_change > filters.changed_after)
    column = Subscriber.last_status_change if filters.sort_by == "lastStatusChange" else Subscriber.created
    order = (column.desc(), Subscriber.id.desc()) if filters.descending else (column, Subscriber.id)
    return list(session.scalars(query.order_by(*order).offset(params.offset).limit(params.max + 1)))


def external_ids(session: Session, customer_ids: set[str]) -> dict[str, str]:
    """Return each customer's externalId."""
    if not customer_ids:
        return {}
    rows = session.execute(sa.select(Customer.id, Customer.external_id).where(Customer.id.in_(customer_ids)))
    return dict(rows.tuples().all())


def of_customer(session: Session, customer_id: str) -> list[Subscriber]:
    """Return every subscriber of a customer."""
    return list(session.scalars(sa.select(Subscriber).where(Subscriber.customer_id == customer_id)))


def users(session: Session, user_ids: list[str]) -> dict[str, User]:
    """Return users by id."""
    if not user_ids:
        return {}
    return {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(user_ids)))}


def get_tier(session: Session, customer_id: str) -> CustomerAdminTier | None:
    """Return the customer's recorded admin tier."""
    return session.get(CustomerAdminTier, customer_id)


def get_bulk_owned(session: Session, tenant: Tenant, bulk_id: str) -> BulkImport | None:
    """Return a bulk import the tenant may see: its partner's, or (customer admins) one of its live customer's."""
    query = sa.select(BulkImport).where(BulkImport.id == bulk_id)
    if tenant.partner_org_id is not None:
        query = query.where(BulkImport.partner_org_id == tenant.partner_org_id)
    if tenant.org_id is not None:
        mine = sa.select(Customer.id).where(Customer.org_id == tenant.org_id, Customer.deleted_at.is_(None))
        query = query.where(BulkImport.customer_id.in_(mine))
    return session.scalars(query).first()


def get_bulk_for_update_unscoped(session: Session, bulk_id: str) -> BulkImport | None:
    """Return a bulk import locked until commit, whoever owns it: for its import job only."""
    return session.scalars(sa.select(BulkImport).where(BulkImport.id == bulk_id).with_for_update()).first()


def insert_subscribers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert many subscribers in one statement (a bulk chunk; values as `Subscriber`'s columns)."""
    if rows:
        session.execute(sa.insert(Subscriber), rows)


def delete_of_customer(session: Session, customer_id: str) -> None:
    """Delete every subscriber of a customer and its recorded admin tier."""
    session.execute(sa.delete(Subscriber).where(Subscriber.customer_id == customer_id))
    session.execute(sa.delete(CustomerAdminTier).where(CustomerAdminTier.customer_id == customer_id))
