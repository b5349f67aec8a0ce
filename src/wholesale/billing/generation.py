"""Replay the usage ledger into a report's CSV: a pure function of the ledger rows up to the end date.

The rows are replayed in ledger order (`seq`); each one's UTC date is the day it counts for. A customer holds a
package from its `opening`/`package.added` row until its `package.removed` row, and its units are the last
row's `units_after`; a subscriber holds the package of its last `opening`/`subscriber.assigned` row until the
matching `subscriber.released`. Columns are documented in docs/BILLING.md.

What a row shows beside the units comes from the ledger too (`details`), never from the live tables: a
customer's name, externalId, orgId and internal flag are those of its last `customer.details` row up to the end
of the report (a customer with none by then, recorded before migration 0007: its first one after, which never
changes once written); a subscriber's email is that of its first row carrying one (`subscriber.assigned`, or the
`subscriber.details` of migration 0007), wherever it is.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

PACKAGE_COLUMNS = [
    "date",
    "customerId",
    "customerName",
    "customerExternalId",
    "customerOrgId",
    "package",
    "unitsEndOfDay",
    "peakUnits",
]
USER_COLUMNS = [
    "date",
    "customerId",
    "customerName",
    "customerExternalId",
    "customerOrgId",
    "subscriberId",
    "subscriberEmail",
    "package",
]


class Entry(Protocol):
    """The ledger fields a report reads (`ledger.models.UsageEntry`)."""

    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def subscriber_id(self) -> str | None: ...
    @property
    def package(self) -> str: ...
    @property
    def units_after(self) -> int: ...
    @property
    def details(self) -> str | None: ...


@dataclass(frozen=True)
class Spec:
    """What to generate."""

    type: str  # PARTNER, CUSTOMER, USER
    category: str  # RECONCILIATION, POINT_IN_TIME
    start: date
    end: date
    customer_id: str | None = None  # CUSTOMER: only this one
    internal: bool = False  # include the partner's own org


CUSTOMER_DETAILS, SUBSCRIBER_DETAILS = "customer.details", "subscriber.details"
NO_UNITS = frozenset({CUSTOMER_DETAILS, SUBSCRIBER_DETAILS})  # rows that only carry details

# (name, externalId, orgId, is the partner's own org)
Shown = tuple[str, str, str, bool]


class Details:
    """What the report shows for its customers and subscribers, read from the ledger rows' `details`."""

    def __init__(self, emails: bool) -> None:
        self.customers: dict[str, Shown] = {}
        self.emails: dict[str, str] = {}
        self.wants_emails = emails  # only USER reports show emails: others skip reading them

    def read(self, entry: Entry, *, latest: bool) -> None:
        """Take a row's details: a customer's values (replacing earlier ones if `latest`), a subscriber's first email."""
        if entry.details is None:
            return
        if entry.kind == CUSTOMER_DETAILS:
            if latest or entry.customer_id not in self.customers:
                d = json.loads(entry.details)
                self.customers[entry.customer_id] = (d["name"], d["externalId"], d["orgId"], bool(d["internal"]))
        elif self.wants_emails and entry.subscriber_id is not None and entry.subscriber_id not in self.emails:
            email = json.loads(entry.details).get("email")
            if email is not None:
                self.emails[entry.subscriber_id] = email

    def read_later(self, entries: Iterable[Entry], customers: set[str], subscribers: set[str]) -> None:
        """For customers and subscribers still without values: the first they have after the end, in ledger order
        (stops reading once every one is found)."""
        customers, subscribers = set(customers), set(subscribers)
        for entry in entries:
            self.read(entry, latest=False)
            if entry.customer_id in self.customers:
                customers.discard(entry.customer_id)
            if entry.subscriber_id in self.emails:
                subscribers.discard(entry.subscriber_id)
            if not customers and not subscribers:
                break


def days_of(spec: Spec) -> list[date]:
    """The days reported: every day of the range, or only the end date (POINT_IN_TIME)."""
    if spec.category == "POINT_IN_TIME":
        return [spec.end]
    return [spec.start + timedelta(days=n) for n in range((spec.end - spec.start).days + 1)]


def replay(
    entries: Iterable[Entry], spec: Spec, details: Details | None = None
) -> Iterator[tuple[date, dict[tuple[str, str], tuple[int, int]], dict[str, tuple[str, str]]]]:
    """Per reported day: {(customer, package): (units at end of day, peak units)} for every package held at some
    moment of the day, and {subscriber: (customer, package)} held at the end of the day. On the way, `details`
    takes what every row carries (a customer's latest values win; rows of the details kinds hold no units)."""
    units: dict[tuple[str, str], int] = {}  # packages held now -> units
    holders: dict[str, tuple[str, str]] = {}
    seen = details if details is not None else Details(emails=False)
    emails = seen.emails if seen.wants_emails else None
    stream = iter(entries)
    pending = next(stream, None)

    def apply(entry: Entry) -> tuple[str, str] | None:
        if entry.kind in NO_UNITS:
            seen.read(entry, latest=True)
            return None
        if emails is not None and entry.details is not None and entry.subscriber_id not in emails:
            seen.read(entry, latest=True)
        if spec.customer_id is not None and entry.customer_id != spec.customer_id:
            return None
        key = (entry.customer_id, entry.package)
        if entry.kind == "package.removed":
            units.pop(key, None)
            for sub in [s for s, held in holders.items() if held == key]:
                del holders[sub]
            return None
        units[key] = entry.units_after
        if entry.subscriber_id is not None:
            if entry.kind in ("opening", "subscriber.assigned"):
                holders[entry.subscriber_id] = key
            elif entry.kind == "subscriber.released" and holders.get(entry.subscriber_id) == key:
                del holders[entry.subscriber_id]
        return key

    for day in days_of(spec):
        while pending is not None and _day(pending) < day:
            apply(pending)
            pending = next(stream, None)
        peaks = dict(units)
        while pending is not None and _day(pending) == day:
            key = apply(pending)
            if key is not None and key in units:
                peaks[key] = max(peaks.get(key, 0), units[key])
            pending = next(stream, None)
        packages = {key: (units.get(key, 0), peak) for key, peak in peaks.items()}
        yield day, packages, dict(holders) if spec.type == "USER" else {}  # only USER reports list holders
    while pending is not None:  # rows left unread above (an earlier `at` after a later one in ledger order)
        seen.read(pending, latest=True)  # still carry details
        pending = next(stream, None)


def _day(entry: Entry) -> date:
    return entry.at.date()  # UTC instants (db.base.UTCDateTime)


def render(
    entries: Iterable[Entry],
    spec: Spec,
    later: Callable[[set[str], set[str]], Iterable[Entry]],
) -> tuple[bytes, int]:
    """The CSV (UTF-8, header row, `\\n` line ends) and its number of line items.

    `entries`: the partner's rows up to the end of the report, in ledger order. `later(customer ids, subscriber
    ids)`: its rows after the end that carry details for any of them, in ledger order (read only for those the
    rows up to the end left without values).
    """
    details = Details(emails=spec.type == "USER")
    days = list(replay(entries, spec, details))
    customer_ids = {c for _day, packages, holders in days for c, _p in packages} | {
        c for _day, _packages, holders in days for c, _p in holders.values()
    }
    subscriber_ids = {s for _day, _packages, holders in days for s in holders}
    missing = (customer_ids - details.customers.keys(), subscriber_ids - details.emails.keys())
    if missing[0] or missing[1]:
        details.read_later(later(*missing), *missing)
    shown = details.customers

    def included(customer_id: str) -> bool:
        known = shown.get(customer_id)
        return spec.internal or known is None or not known[3]

    def keys(customer_id: str) -> list[str]:
        name, external_id, org_id, _internal = shown.get(customer_id, ("", "", "", False))
        return [customer_id, name, external_id, org_id]

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    count = 0
    if spec.type == "USER":
        writer.writerow(USER_COLUMNS)
        mail = details.emails
        for day, _packages, holders in days:
            for sub, (customer_id, package) in sorted(holders.items(), key=lambda item: (item[1][0], item[0])):
                if included(customer_id):
                    writer.writerow([day.isoformat(), *keys(customer_id), sub, mail.get(sub, ""), package])
                    count += 1
    else:
        writer.writerow(PACKAGE_COLUMNS)
        for day, packages, _holders in days:
            for (customer_id, package), (end_units, peak) in sorted(packages.items()):
                if included(customer_id):
                    writer.writerow([day.isoformat(), *keys(customer_id), package, end_units, peak])
                    count += 1
    return out.getvalue().encode(), count
