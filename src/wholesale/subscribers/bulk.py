"""Bulk imports (the API's background job and `wholesale subscribers import`): many rows, set-based.

A chunk of rows runs the single path's rules (`rules.check_create`) row after row, against reads batched once for
the chunk (`_ChunkLookup`), takes each package's units with one conditional UPDATE (R8) and writes users,
subscribers and audit rows with one INSERT each. The per-row results are exactly those of `import_row`, the row
by row path the chunk falls back to when a concurrent writer wins a unique value.
"""

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wholesale.customers import repository as customers_repo
from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow
from wholesale.customers.validation import check_email
from wholesale.events import service as events
from wholesale.identity import service as identity
from wholesale.identity.models import User
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.errors import DomainError, NotFound, field_error
from wholesale.ledger import service as ledger
from wholesale.ledger.service import Kind
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers import repository, rules, service, states, usage
from wholesale.subscribers.models import BulkImport
from wholesale.subscribers.repository import Units
from wholesale.subscribers.rules import CALLING_ENABLED, EXTENSION, Planned, UnitState
from wholesale.subscribers.schemas import MAX_BULK_ROWS, BulkImportCreate, BulkRowIn
from wholesale.subscribers.states import BulkStatus, SubscriberEvent, SubscriberStatus

BULK_CHUNK = 250
# A bulk import's CSV columns: the bulk rows' fields (BulkRowIn), as `wholesale subscribers import` reads them.
CSV_COLUMNS = ("email", "firstName", "lastName", "package", "primaryPhoneNumber", "extension")


def customer_for_import(session: Session, customer_id: str) -> Customer:
    """The customer a CLI import works on (operators act for its partner, whoever that is)."""
    customer = customers_repo.get_live_unscoped(session, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found.")
    rules.check_open(customer)
    return customer


# ---------------------------------------------------------------------------------------------- one row


@dataclass
class _Row:
    """One bulk row after the checks that need no database: its parse and its normalised email, or its error."""

    number: int
    result: dict[str, Any]
    parsed: BulkRowIn | None = None
    email: str | None = None
    error: list[dict[str, Any]] | None = None


def _parse_row(number: int, row: dict[str, Any]) -> _Row:
    """Parse a bulk row (an empty cell is a missing value) and normalise its email."""
    item = _Row(number, {"row": number, "email": str(row.get("email") or "").strip()})
    try:
        item.parsed = BulkRowIn.model_validate({k: (v if v != "" else None) for k, v in row.items()})
        item.email = check_email("email", item.parsed.email)
    except (DomainError, ValueError) as exc:  # ValueError: pydantic's ValidationError
        item.error = rules.row_errors(exc)
    return item


def import_row(
    session: Session,
    customer: Customer,
    number: int,
    row: dict[str, Any],
    rows: dict[str, CustomerPackageRow] | None = None,
) -> dict[str, Any]:
    """Provision one bulk row through the single path (its writes sit in a savepoint); a row already done (its
    email is this customer's subscriber) counts as done, so re-running an import is harmless."""
    item = _parse_row(number, row)
    if item.parsed is None or item.email is None:
        return item.result | {"status": "error", "errors": item.error}
    existing = repository.by_email(session, item.email)
    if existing is not None and existing.customer_id == customer.id:
        return item.result | {"status": existing.status, "subscriberId": existing.id}
    try:
        subscriber = service.provision(session, customer, rules.wanted_from_row(item.parsed), rows)
    except DomainError as exc:
        return item.result | {"status": "error", "errors": exc.errors}
    return item.result | {"status": subscriber.status, "subscriberId": subscriber.id}


# ---------------------------------------------------------------------------------------------- a chunk


class _ChunkLookup(rules.Lookup):
    """The reads the rules make, done once for all the chunk's rows, plus what the rows planned so far took."""

    def __init__(
        self, session: Session, customer: Customer, items: list[_Row], rows: dict[str, CustomerPackageRow]
    ) -> None:
        super().__init__(session, customer)
        self.rows = rows
        self._numbers: dict[str, str | DomainError] = {}
        emails = {i.email for i in items if i.email is not None}
        self.subscribers = repository.by_emails(session, emails)
        self.users = repository.users_by_emails(session, emails)
        self.pending_admins = customers_repo.primary_emails_pending(session, emails - set(self.users))
        consumers = {user.id for user, kind in self.users.values() if kind == "consumer"}
        self.subscribed = repository.subscribed_users(session, consumers)
        calling = [i.parsed for i in items if i.parsed is not None and str(i.parsed.package) in CALLING_ENABLED]
        self._location = customers_repo.get_location(session, customer.id) if calling else None
        numbers = {n for p in calling if (n := self._try_e164(p.primaryPhoneNumber)) is not None}
        self.phones = repository.phones_taken(session, customer.id, numbers)
        extensions = {e for p in calling if (e := (p.extension or "").strip()) and EXTENSION.match(e)}
        self.extensions = (
            repository.extensions_taken(session, self._location.id, extensions) if self._location is not None else set()
        )
        # Rows of this chunk that succeeded, by email: a later row with the same email is that subscriber's (import_row).
        self.done: dict[str, dict[str, Any]] = {}

    def free_account(self, email: str) -> User | None:
        if email in self.pending_admins:
            raise rules.email_in_use()
        if email not in self.users:
            return None
        user, kind = self.users[email]
        return rules.free_account(user, kind, user.id in self.subscribed)

    def location(self) -> CallingLocation | None:
        return self._location

    def e164(self, value: str) -> str:
        # Memoised: phonenumbers is slow, and a chunk reads each number twice (its reads, then its row).
        if value not in self._numbers:
            try:
                self._numbers[value] = super().e164(value)
            except DomainError as exc:
                self._numbers[value] = exc
        number = self._numbers[value]
        if isinstance(number, DomainError):
            raise number
        return number

    def _try_e164(self, value: str | None) -> str | None:
        value = (value or "").strip()
        try:
            return self.e164(value) if value else None
        except DomainError:
            return None

    def phone_taken(self, e164: str) -> bool:
        return e164 in self.phones

    def extension_taken(self, location: CallingLocation, extension: str) -> bool:
        return extension in self.extensions

    def check(self, item: _Row) -> Planned | dict[str, Any]:
        """The single path's rules on one row; a row whose email is already this customer's subscriber is done."""
        assert item.email is not None and item.parsed is not None
        earlier = self.done.get(item.email)
        if earlier is not None:
            return earlier
        existing = self.subscribers.get(item.email)
        if existing is not None and existing.customer_id == self.customer.id:
            return {"status": existing.status, "subscriberId": existing.id}
        return rules.check_create(self, item.email, rules.wanted_from_row(item.parsed), self.rows)

    def took(self, planned: Planned, done: dict[str, Any]) -> None:
        """A row got its subscriber: later rows see its email, number and extension as taken."""
        self.done[planned.email] = done
        if planned.calling.phone is not None:
            self.phones.add(planned.calling.phone)
        if planned.calling.extension is not None:
            self.extensions.add(planned.calling.extension)


@dataclass(frozen=True)
class _Units:
    """A package's units as a fresh read would show them after a chunk's take (rules.UnitState)."""

    status: str
    quantity_limit: int | None
    assigned: int


def _take_for_chunk(
    session: Session, customer: Customer, package: str, wanted: int
) -> tuple[int, UnitState | None, Units | None]:
    """Take up to `wanted` units of a package: all at once when the cap allows, else what it leaves (R8).
    Return how many were taken, when fewer than wanted the package's units as they now are, and the units
    assigned after the take (None when nothing was taken)."""
    units = repository.take_units(session, customer.id, package, wanted)
    if units is not None:
        return wanted, None, units
    # Locked (PostgreSQL) or under the single writer (SQLite): what is left cannot change before the take below.
    row = repository.package_row_locked(session, customer.id, package)
    if row is None or row.status != "provisioned":
        return 0, row, None
    left = wanted if row.quantity_limit is None else max(0, min(wanted, row.quantity_limit - row.assigned))
    units = repository.take_units(session, customer.id, package, left) if left else None
    if units is None:
        left = 0
    return left, _Units(row.status, row.quantity_limit, row.assigned + left), units


def import_chunk(
    session: Session,
    customer: Customer,
    numbered: list[tuple[int, dict[str, Any]]],
    rows: dict[str, CustomerPackageRow] | None = None,
) -> list[dict[str, Any]]:
    """Provision many bulk rows set-based: the same per-row results as import_row row after row, in a few queries.

    Should a concurrent writer win a unique value in between (PostgreSQL), the chunk's writes are undone and its
    rows go through import_row one by one.
    """
    rows = rows if rows is not None else repository.package_rows(session, customer.id)
    items = [_parse_row(number, row) for number, row in numbered]
    try:
        with session.begin_nested():
            return _import_items(session, customer, items, rows)
    except IntegrityError:
        return [import_row(session, customer, number, row, rows) for number, row in numbered]


@dataclass
class _Accepted:
    """A row that passed every rule and got a unit: what to write."""

    planned: Planned
    subscriber_id: str
    first_name: str | None
    last_name: str | None


def _import_items(
    session: Session, customer: Customer, items: list[_Row], rows: dict[str, CustomerPackageRow]
) -> list[dict[str, Any]]:
    lookup = _ChunkLookup(session, customer, items, rows)
    # An upper bound of the units each package needs; what is not used goes back before the chunk commits.
    wanted: dict[str, int] = {}
    for item in items:
        if item.parsed is not None and item.email is not None:
            wanted[str(item.parsed.package)] = wanted.get(str(item.parsed.package), 0) + 1
    left: dict[str, int] = {}
    short: dict[str, UnitState | None] = {}
    after: dict[str, Units] = {}  # each package's units once the chunk is written (R2: the ledger's units)
    for package, count in wanted.items():
        if package in rules.held(rows):
            left[package], state, taken = _take_for_chunk(session, customer, package, count)
            if taken is not None:
                after[package] = taken
            if left[package] < count:
                short[package] = state
    created = states.apply(SubscriberStatus.NEW, SubscriberEvent.CREATED)
    pending = states.apply(SubscriberStatus.NEW, SubscriberEvent.CONSENT_REQUIRED)
    accepted: list[_Accepted] = []
    results: list[dict[str, Any]] = []
    for item in items:
        if item.error is not None or item.parsed is None:
            results.append(item.result | {"status": "error", "errors": item.error})
            continue
        try:
            checked = lookup.check(item)
            if isinstance(checked, dict):
                results.append(item.result | checked)
                continue
            if left.get(checked.package, 0) == 0:
                # R8: row order decides who gets the last units.
                raise rules.cap_error(customer, checked.package, short.get(checked.package))
        except DomainError as exc:
            results.append(item.result | {"status": "error", "errors": exc.errors})
            continue
        left[checked.package] -= 1
        row = _Accepted(checked, ids.new_id("SUBSCRIBER"), item.parsed.firstName, item.parsed.lastName)
        accepted.append(row)
        done = {"status": pending if checked.free is not None else created, "subscriberId": row.subscriber_id}
        lookup.took(checked, done)
        results.append(item.result | done)
    for package, count in left.items():
        if count:
            given_back = repository.release_units(session, customer.id, package, count)
            if given_back is not None:
                after[package] = given_back
    _write(session, customer, accepted, after)
    return results


def _write(session: Session, customer: Customer, accepted: list[_Accepted], after: dict[str, Units]) -> None:
    """Users, subscribers, their ledger rows (R2) and audit rows of a chunk, one INSERT each; then the consent
    emails' jobs."""
    people = [
        (a.planned.email, service.stripped_name(a.first_name), service.stripped_name(a.last_name))
        for a in accepted
        if a.planned.free is None
    ]
    assert customer.org_id is not None  # rules.check_open
    new_users = iter(identity.create_users(session, org_id=customer.org_id, people=people))
    now = clock.now()
    values = [
        service.subscriber_values(
            customer,
            a.planned,
            subscriber_id=a.subscriber_id,
            user_id=a.planned.free.id if a.planned.free is not None else next(new_users),
            now=now,
        )
        for a in accepted
    ]
    repository.insert_subscribers(session, values)
    ledger.append(
        session,
        usage.in_order(
            customer.partner_org_id,
            customer.id,
            Kind.SUBSCRIBER_ASSIGNED,
            [(v["id"], v["package"]) for v in values],
            after,
            {v["id"]: v["email"] for v in values},
        ),
    )
    service.audit_many(
        session,
        customer,
        "subscriber.created",
        [(v["id"], {"customerId": customer.id, "package": v["package"], "status": v["status"]}) for v in values],
    )
    for v in values:
        if v["status"] == SubscriberStatus.PENDING_USER_MIGRATION:
            service.send_consent(session, v["id"], now)


# ---------------------------------------------------------------------------------------------- the API's job


def start_bulk(session: Session, tenant: Tenant, body: BulkImportCreate) -> BulkImport:
    """Accept up to 1,000 rows and enqueue their import (202; poll the import for per-row results)."""
    return _start(session, tenant, body.customerId, [r.model_dump(exclude_none=True) for r in body.rows])


def start_bulk_csv(session: Session, tenant: Tenant, customer_id: str, data: bytes) -> BulkImport:
    """Accept a CSV file of up to 1,000 rows (the bulk rows' columns) and enqueue their import as start_bulk does.
    A file that cannot be read as such is refused whole (400, saying why) and nothing is imported; a row that breaks
    a rule (an unknown package, a bad email ...) is a failed row of the import, as the API's rows are."""
    rows = rows_from_csv(data)
    return _start(session, tenant, customer_id, rows)


def _start(session: Session, tenant: Tenant, customer_id: str, rows: list[dict[str, Any]]) -> BulkImport:
    customer = service.customer_of(session, tenant, customer_id)
    bulk = BulkImport(
        id=ids.new_id("SUBSCRIBER_IMPORT"),
        partner_org_id=customer.partner_org_id,
        customer_id=customer.id,
        status=BulkStatus.QUEUED,
        rows=rows,
        results=[],
        created=clock.now(),
    )
    session.add(bulk)
    _audit(session, bulk, "subscribers.import_requested", {"customerId": customer.id, "rows": len(rows)})
    enqueue(session, "subscribers.bulk_import", bulk.id, key=f"subscribers.bulk_import:{bulk.id}")
    return bulk


def rows_from_csv(data: bytes) -> list[dict[str, str]]:
    """Read a bulk import's CSV: UTF-8 (a byte-order mark is fine), a header naming the bulk rows' columns (email and
    package needed, in any order and case), then 1 to 1,000 rows; empty cells are left out. Anything else is a 400
    that says what to fix."""
    if not data.strip():
        raise field_error("file", "The file is empty: it needs a header line and at least one row.", 400410)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise field_error(
            "file", "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.", 400411
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = [line for line in reader if any(cell.strip() for cell in line)]
    except csv.Error as exc:
        raise field_error("file", f"The file is not a readable CSV ({exc}).", 400412) from None
    if not lines:
        raise field_error("file", "The file is empty: it needs a header line and at least one row.", 400410)
    by_lower = {c.lower(): c for c in CSV_COLUMNS}
    header = [by_lower.get(cell.strip().lower(), cell.strip()) for cell in lines[0]]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in ("email", "package") if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = [f"unknown column {', '.join(repr(u) for u in unknown)}"] if unknown else []
        problems += [f"no {' or '.join(missing)} column"] if missing else []
        problems += ["a column named twice"] if len(set(header)) != len(header) else []
        raise field_error(
            "file",
            f"The first line must name the columns, from: {', '.join(CSV_COLUMNS)} (email and package are needed); "
            f"this file has {'; '.join(problems)}.",
            400413,
        )
    body = lines[1:]
    if not body:
        raise field_error("file", "The file has a header line but no rows to import.", 400410)
    if len(body) > MAX_BULK_ROWS:
        raise field_error(
            "file", f"The file has {len(body):,} rows; one import takes up to {MAX_BULK_ROWS:,}. Split it.", 400414
        )
    rows = []
    for number, line in enumerate(body, start=1):
        if len(line) > len(header):
            raise field_error(
                "file", f"Row {number} has {len(line)} cells but the header names {len(header)} columns.", 400415
            )
        rows.append({column: cell.strip() for column, cell in zip(header, line, strict=False) if cell.strip()})
    return rows


def _audit(session: Session, bulk: BulkImport, action: str, data: dict[str, Any]) -> None:
    events.record(
        session,
        subject_type="subscriber_import",
        subject_id=bulk.id,
        action=action,
        partner_org_id=bulk.partner_org_id,
        data=data,
    )


def process_bulk_chunk(session: Session, bulk_id: str, chunk: int = BULK_CHUNK) -> bool:
    """Import the next rows of a bulk job and store their results with them; True when every row is done."""
    bulk = repository.get_bulk_for_update_unscoped(session, bulk_id)
    if bulk is None or bulk.status == BulkStatus.COMPLETED:
        return True
    bulk.status = states.apply_bulk(bulk.status, "started")
    done = len(bulk.results)
    customer = customers_repo.get_live_unscoped(session, bulk.customer_id)
    if customer is None or customer.status == "deleting":
        _fail_the_rest(session, bulk, "The customer no longer exists.", 404000)
        return True
    todo = bulk.rows[done : done + chunk]
    bulk.results = [*bulk.results, *import_chunk(session, customer, [(done + i + 1, r) for i, r in enumerate(todo)])]
    if len(bulk.results) >= len(bulk.rows):
        _finish(session, bulk)
        return True
    return False


def stop_bulk(session: Session, bulk_id: str, reason: str) -> None:
    """Finish a bulk job whose import failed: the rows not yet imported are failed rows, to be sent again."""
    bulk = repository.get_bulk_for_update_unscoped(session, bulk_id)
    if bulk is None or bulk.status == BulkStatus.COMPLETED:
        return
    bulk.status = states.apply_bulk(bulk.status, "started")
    description = f"The import stopped on an internal error ({reason}); this row was not imported: send it again."
    _fail_the_rest(session, bulk, description, 500000, {"stopped": reason})


def _fail_the_rest(
    session: Session, bulk: BulkImport, description: str, error_code: int, audit: dict[str, Any] | None = None
) -> None:
    """Record every row not yet imported as failed with one error, and finish the job."""
    done = len(bulk.results)
    failed = [
        {
            "row": done + i + 1,
            "email": r.get("email", ""),
            "status": "error",
            "errors": [{"description": description, "errorCode": error_code}],
        }
        for i, r in enumerate(bulk.rows[done:])
    ]
    bulk.results = [*bulk.results, *failed]
    _finish(session, bulk, audit)


def _finish(session: Session, bulk: BulkImport, audit: dict[str, Any] | None = None) -> None:
    bulk.status = states.apply_bulk(bulk.status, "finished")
    bulk.finished = clock.now()
    failed = sum(1 for r in bulk.results if r["status"] == "error")
    _audit(session, bulk, "subscribers.import_finished", {"rows": len(bulk.rows), "failed": failed, **(audit or {})})


def get_bulk(session: Session, tenant: Tenant, bulk_id: str) -> dict[str, Any]:
    """Read a bulk import's progress and per-row results."""
    bulk = repository.get_bulk_owned(session, tenant, bulk_id)
    if bulk is None:
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
