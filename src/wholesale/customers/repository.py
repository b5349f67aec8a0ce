"""Queries on customers, their packages, templates and calling locations."""

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow, CustomerTemplate
from wholesale.customers.states import SETTLED, CustomerStatus, PackageStatus
from wholesale.db.session import core
from wholesale.identity.models import User
from wholesale.kit.pagination import PageParams
from wholesale.kit.session_rows import SessionLookups
from wholesale.partners.tenancy import Tenant


def _owned_statement(by_partner: bool, by_org: bool, for_update: bool, packages: bool) -> sa.Select:
    query: sa.Select = sa.select(Customer)
    if packages:
        # One row per package (or one with no package): the customer comes with its package rows, read fresh.
        query = (
            sa.select(Customer, CustomerPackageRow)
            .outerjoin(CustomerPackageRow, CustomerPackageRow.customer_id == Customer.id)
            .execution_options(populate_existing=True)
        )
    query = query.where(Customer.id == sa.bindparam("id"), Customer.deleted_at.is_(None))
    if by_partner:
        query = query.where(Customer.partner_org_id == sa.bindparam("partner"))
    if by_org:
        query = query.where(Customer.org_id == sa.bindparam("org"))
    return query.with_for_update() if for_update else query


# Built once per shape (which of the tenant's columns apply, locked or not, with packages or not): every request on a
# customer asks, and a statement object keeps its cache key, so each ask skips building and keying it again.
_OWNED = {
    shape: _owned_statement(*shape)
    for shape in itertools.product((False, True), (False, True), (False, True), (False, True))
}


def _owned_params(tenant: Tenant, customer_id: str) -> dict[str, str | None]:
    return {"id": customer_id, "partner": tenant.partner_org_id, "org": tenant.org_id}


def get_owned(session: Session, tenant: Tenant, customer_id: str, *, for_update: bool = False) -> Customer | None:
    """Return a live customer the tenant may see (its partner's, or a customer admin's own org's), else None."""
    query = _OWNED[(tenant.partner_org_id is not None, tenant.org_id is not None, for_update, False)]
    return session.scalars(query, _owned_params(tenant, customer_id)).first()


def get_owned_with_packages(
    session: Session, tenant: Tenant, customer_id: str
) -> tuple[Customer | None, dict[str, CustomerPackageRow]]:
    """`get_owned` and the customer's package rows by name (read fresh), in one statement."""
    query = _OWNED[(tenant.partner_org_id is not None, tenant.org_id is not None, False, True)]
    result = session.execute(query, _owned_params(tenant, customer_id)).all()
    customer = result[0][0] if result else None
    return customer, {row.name: row for _customer, row in result if row is not None}


_INSERT_CUSTOMER = sa.insert(cast(sa.Table, Customer.__table__))
_INSERT_PACKAGES = sa.insert(cast(sa.Table, CustomerPackageRow.__table__))


def insert_new(
    session: Session, customer: dict[str, Any], packages: list[dict[str, Any]]
) -> tuple[Customer, list[CustomerPackageRow]]:
    """Write a new customer and its package rows now, from their column values, by Core inserts of statements built
    once (the unit of work's flush of the same objects costs more than the rows), and return them as the session's
    persistent objects, as if loaded (no second write)."""
    connection = core(session)
    connection.execute(_INSERT_CUSTOMER, customer)
    if packages:
        connection.execute(_INSERT_PACKAGES, packages)
    written = Customer(**customer)
    rows = [CustomerPackageRow(**values) for values in packages]
    for obj in (written, *rows):
        make_transient_to_detached(obj)
        session.add(obj)
    return written, rows


def get_live_unscoped(session: Session, customer_id: str, *, for_update: bool = False) -> Customer | None:
    """Return a live customer whoever owns it: for jobs and operator work only, never for a request's tenant."""
    query = sa.select(Customer).where(Customer.id == customer_id, Customer.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def live_for_update(session: Session, customer_ids: list[str]) -> dict[str, Customer]:
    """Live customers by id, whoever owns them (jobs only), locked in id order on PostgreSQL (so batches that
    share customers take their locks in one order and never deadlock)."""
    if not customer_ids:
        return {}
    query = sa.select(Customer).where(Customer.id.in_(customer_ids), Customer.deleted_at.is_(None))
    return {c.id: c for c in session.scalars(query.order_by(Customer.id).with_for_update())}


def external_id_taken(
    session: Session, partner_org_id: str, external_id: str, *, exclude_id: str | None = None
) -> bool:
    """True when a live customer of the partner already uses the external id."""
    query = sa.select(Customer.id).where(
        Customer.partner_org_id == partner_org_id, Customer.external_id == external_id, Customer.deleted_at.is_(None)
    )
    if exclude_id:
        query = query.where(Customer.id != exclude_id)
    return session.scalars(query.limit(1)).first() is not None


def _create_lookups_statement() -> sa.Select:
    email: sa.BindParameter[str] = sa.bindparam("email")
    in_use = sa.or_(
        sa.exists().where(User.email == sa.func.lower(email)),
        sa.exists().where(Customer.primary_email == email, Customer.deleted_at.is_(None)),
    )
    taken = sa.exists().where(
        Customer.partner_org_id == sa.bindparam("partner"),
        Customer.external_id == sa.bindparam("external_id"),
        Customer.deleted_at.is_(None),
    )
    template = sa.and_(
        CustomerTemplate.id == sa.bindparam("template"), CustomerTemplate.partner_org_id == sa.bindparam("partner")
    )
    one = sa.select(sa.literal_column("1").label("one")).subquery()
    return sa.select(CustomerTemplate, taken, in_use).select_from(one).outerjoin(CustomerTemplate, template)


# Built once: a statement object keeps its cache key, so each create skips building and keying it again.
_CREATE_LOOKUPS = _create_lookups_statement()


def create_lookups(
    session: Session, partner_org_id: str, template_id: str | None, external_id: str | None, email: str | None
) -> tuple[CustomerTemplate | None, bool, bool]:
    """What a create's rules read, in one statement: the partner's template (None when it is not one), whether a
    live customer of the partner has the external id (`external_id_taken`), and whether the email is a user's
    anywhere or a live customer's primary email (emails are unique platform-wide). A None value matches nothing."""
    params = {"partner": partner_org_id, "template": template_id, "external_id": external_id, "email": email}
    template, external_id_used, email_used = session.execute(_CREATE_LOOKUPS, params).one()
    return template, bool(external_id_used), bool(email_used)


def _email_holder_statement() -> sa.Select:
    email: sa.BindParameter[str] = sa.bindparam("email")
    pending = sa.exists().where(
        Customer.primary_email == email,
        Customer.status == CustomerStatus.PROVISIONING,
        Customer.deleted_at.is_(None),
    )
    one = sa.select(sa.literal_column("1").label("one")).subquery()
    return sa.select(User, pending).select_from(one).outerjoin(User, User.email == email)


_EMAIL_HOLDER = _email_holder_statement()


def email_holder(session: Session, email: str) -> tuple[User | None, bool]:
    """Who holds a (normalised) email, in one statement: its user in any org (None when nobody), and whether a
    customer still in its first provisioning run will give it to its full admin (`primary_emails_pending`)."""
    user, pending = session.execute(_EMAIL_HOLDER, {"email": email}).one()
    return user, bool(pending)


def primary_emails_pending(session: Session, emails: set[str]) -> set[str]:
    """Those of the emails that a customer still in its first provisioning run will give its full admin (the user
    does not exist yet, but the email is spoken for)."""
    if not emails:
        return set()
    query = sa.select(Customer.primary_email).where(
        Customer.primary_email.in_(emails),
        Customer.status == CustomerStatus.PROVISIONING,
        Customer.deleted_at.is_(None),
    )
    return {e for e in session.scalars(query) if e}


def email_taken_by_partner(session: Session, partner_org_id: str, email: str) -> bool:
    """True when the email is a user of the partner's own org or of one of its customers' orgs, or a live customer
    of the partner holds it as its primary email."""
    customer_orgs = sa.select(Customer.org_id).where(
        Customer.partner_org_id == partner_org_id, Customer.org_id.is_not(None)
    )
    user = sa.select(User.id).where(
        User.email == email, sa.or_(User.org_id == partner_org_id, User.org_id.in_(customer_orgs))
    )
    held = sa.select(Customer.id).where(
        Customer.partner_org_id == partner_org_id, Customer.primary_email == email, Customer.deleted_at.is_(None)
    )
    return session.scalar(sa.select(sa.or_(sa.exists(user), sa.exists(held)))) is True


def org_linked(session: Session, org_id: str) -> bool:
    """True when a live customer is linked to the org."""
    query = sa.select(Customer.id).where(Customer.org_id == org_id, Customer.deleted_at.is_(None)).limit(1)
    return session.scalars(query).first() is not None


def shown_status() -> sa.ColumnElement[str]:
    """The status a client sees (`service.displayed_status`) as SQL: pending_rpl_review over a settled status under a
    compliance hold."""
    held = sa.and_(Customer.status.in_(SETTLED), Customer.compliance_hold.is_(True))
    return sa.case((held, sa.literal(CustomerStatus.PENDING_RPL_REVIEW.value)), else_=Customer.status)


def _status_is(statuses: list[str]) -> sa.ColumnElement[bool]:
    """Customers whose shown status is one of `statuses`: pending_rpl_review is a settled customer under a
    compliance hold, and a settled status asked for by name excludes the held ones."""
    wanted = []
    for status in statuses:
        if status == CustomerStatus.PENDING_RPL_REVIEW:
            wanted.append(sa.and_(Customer.status.in_(SETTLED), Customer.compliance_hold.is_(True)))
        elif status in SETTLED:
            wanted.append(sa.and_(Customer.status == status, Customer.compliance_hold.is_(False)))
        else:
            wanted.append(Customer.status == status)
    return sa.or_(*wanted)


def list_live(
    session: Session,
    partner_org_id: str,
    params: PageParams,
    *,
    external_id: str | None = None,
    org_id: str | None = None,
    statuses: list[str] | None = None,
) -> list[Customer]:
    """Return max + 1 live customers of a partner, oldest first (stable: created, then id).

    `statuses` are the statuses a client sees (`service.displayed_status`), filtered in SQL, so every page is full
    and `Link: next` means another row exists."""
    query = sa.select(Customer).where(Customer.partner_org_id == partner_org_id, Customer.deleted_at.is_(None))
    if external_id is not None:
        query = query.where(Customer.external_id == external_id)
    if org_id is not None:
        query = query.where(Customer.org_id == org_id)
    if statuses:
        query = query.where(_status_is(statuses))
    query = query.order_by(Customer.created, Customer.id).offset(params.offset).limit(params.max + 1)
    return list(session.scalars(query))


# The orders a partner's customer list can take: name (as shown: the name, else the externalId), created, status.
SEARCH_SORTS = ("name", "created", "status")


def _matching(session: Session, partner_org_id: str, text: str, statuses: list[str]) -> list[sa.ColumnElement[bool]]:
    """The conditions of a search: live customers of the partner whose name, externalId or orgId contains `text`
    (any case; % and _ are plain characters), with one of the shown `statuses` (all when empty).

    SQLite's LIKE already ignores (ASCII) case, and lower() on every row of 10,000 cost more than the rest of
    the page (12 ms of a count's 15); PostgreSQL's ILIKE does the same there."""
    conditions = [Customer.partner_org_id == partner_org_id, Customer.deleted_at.is_(None)]
    if text:
        columns = (Customer.name, Customer.external_id, Customer.org_id)
        if session.get_bind().dialect.name == "sqlite":
            found = [column.contains(text, autoescape=True) for column in columns]
        else:
            found = [column.icontains(text, autoescape=True) for column in columns]
        conditions.append(sa.or_(*found))
    if statuses:
        conditions.append(_status_is(statuses))
    return conditions


def search_live(
    session: Session,
    partner_org_id: str,
    *,
    text: str,
    statuses: list[str],
    sort: str,
    descending: bool,
    offset: int = 0,
    limit: int | None = None,
) -> list[sa.Row[tuple[str, str | None, str, str | None, str, str, str, datetime]]]:
    """The matching customers in the asked order (ties by id), as rows of (id, name, external_id, org_id, stored
    status, shown status, country, created): `limit` of them from `offset`, or all. One query, no objects.

    The order and the page are chosen over ids alone and the rows joined to them after (a page deep in a list
    sorted by name then sorts 10,000 ids, not 10,000 rows: 26 -> 17 ms on SQLite); names sort case-blind (SQLite's
    NOCASE, elsewhere lower())."""
    shown_name = sa.func.coalesce(Customer.name, Customer.external_id)
    sqlite = session.get_bind().dialect.name == "sqlite"
    key = {
        "name": shown_name.collate("NOCASE") if sqlite else sa.func.lower(shown_name),
        "created": Customer.created,
        "status": shown_status(),
    }[sort]
    order = [key.desc(), Customer.id.desc()] if descending else [key.asc(), Customer.id.asc()]
    page = (
        sa.select(Customer.id)
        .where(*_matching(session, partner_org_id, text, statuses))
        .order_by(*order)
        .offset(offset)
    )
    if limit is not None:
        page = page.limit(limit)
    chosen = page.subquery()
    query = (
        sa.select(
            Customer.id,
            Customer.name,
            Customer.external_id,
            Customer.org_id,
            Customer.status,
            shown_status().label("shown"),
            Customer.country,
            Customer.created,
        )
        .join(chosen, chosen.c.id == Customer.id)
        .order_by(*order)
    )
    return list(session.execute(query))


def count_live(session: Session, partner_org_id: str, *, text: str, statuses: list[str]) -> int:
    """How many customers a search matches (the list's total)."""
    query = sa.select(sa.func.count()).select_from(Customer).where(*_matching(session, partner_org_id, text, statuses))
    return session.scalar(query) or 0


def package_names_of(session: Session, customer_ids: list[str]) -> dict[str, list[str]]:
    """Each customer's packages (those not being removed), by name: one query per 500 customers (a page is one,
    an export of 10,000 twenty)."""
    result: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(customer_ids), 500):  # within every database's limit on bound parameters
        rows = session.execute(
            sa.select(CustomerPackageRow.customer_id, CustomerPackageRow.name)
            .where(
                CustomerPackageRow.customer_id.in_(customer_ids[start : start + 500]),
                CustomerPackageRow.status != PackageStatus.DELETING,
            )
            .order_by(CustomerPackageRow.customer_id, CustomerPackageRow.name)
        )
        for customer_id, name in rows:
            result[customer_id].append(name)
    return result


def packages_of(session: Session, customer_ids: list[str]) -> dict[str, list[CustomerPackageRow]]:
    """Return each customer's package rows, by name, in one query."""
    result: dict[str, list[CustomerPackageRow]] = defaultdict(list)
    if not customer_ids:
        return result
    rows = session.scalars(
        sa.select(CustomerPackageRow)
        .where(CustomerPackageRow.customer_id.in_(customer_ids))
        .order_by(CustomerPackageRow.customer_id, CustomerPackageRow.name)
    )
    for row in rows:
        result[row.customer_id].append(row)
    return result


def templates_of(session: Session, customers: list[Customer]) -> list[CustomerTemplate]:
    """The templates these customers were provisioned with, in one query. A caller that keeps the list finds them
    in the session's identity map (`session.get`) for as long as it does: the map holds unchanged objects weakly."""
    ids = sorted({c.provisioning_id for c in customers})
    if not ids:
        return []
    return list(session.scalars(sa.select(CustomerTemplate).where(CustomerTemplate.id.in_(ids))))


def get_package(session: Session, customer_id: str, name: str) -> CustomerPackageRow | None:
    """Return one package row."""
    return session.get(CustomerPackageRow, (customer_id, name))


def get_template(session: Session, template_id: str, partner_org_id: str) -> CustomerTemplate | None:
    """Return a partner's template."""
    template = session.get(CustomerTemplate, template_id)
    return template if template is not None and template.partner_org_id == partner_org_id else None


def list_templates(session: Session, partner_org_id: str, params: PageParams) -> list[CustomerTemplate]:
    """Return max + 1 templates of a partner."""
    query = (
        sa.select(CustomerTemplate)
        .where(CustomerTemplate.partner_org_id == partner_org_id)
        .order_by(CustomerTemplate.created, CustomerTemplate.id)
        .offset(params.offset)
        .limit(params.max + 1)
    )
    return list(session.scalars(query))


def template_in_use(session: Session, template_id: str, *, removed: bool = False) -> int:
    """Count live customers provisioned with a template (`removed`: the tombstones of removed ones, which still
    name it)."""
    gone = Customer.deleted_at.is_not(None) if removed else Customer.deleted_at.is_(None)
    return (
        session.scalar(
            sa.select(sa.func.count()).select_from(Customer).where(Customer.provisioning_id == template_id, gone)
        )
        or 0
    )


_LOCATION = sa.select(CallingLocation).where(CallingLocation.customer_id == sa.bindparam("customer_id"))


_LOCATIONS_READ = SessionLookups("wholesale.customers.locations_read")


@contextmanager
def locations_read(session: Session, customer_ids: Sequence[str]) -> Iterator[None]:
    """For a block that converges many customers: read their calling locations in one statement, and let each
    `get_location` of one of them answer from it (`location_added` notes one the block creates)."""
    ids_ = sorted(set(customer_ids))
    locations: dict[str, CallingLocation | None] = dict.fromkeys(ids_)
    for location in session.scalars(sa.select(CallingLocation).where(CallingLocation.customer_id.in_(ids_))):
        locations[location.customer_id] = location
    with _LOCATIONS_READ.reading(session, locations):
        yield


def location_added(session: Session, location: CallingLocation) -> None:
    """Add a new calling location to the session (and to what `locations_read` read)."""
    session.add(location)
    _LOCATIONS_READ.note(session, location.customer_id, location)


def get_location(session: Session, customer_id: str) -> CallingLocation | None:
    """Return a customer's calling location (a statement built once: each calling subscriber asks)."""
    if _LOCATIONS_READ.known(session, customer_id):
        return cast(CallingLocation | None, _LOCATIONS_READ.get(session, customer_id))
    return session.scalars(_LOCATION, {"customer_id": customer_id}).first()
