"""Replay the usage ledger into a report's CSV: a pure function of the ledger rows up to the end date.

The rows are replayed in ledger order (`seq`); each one's UTC date is the day it counts for. A customer holds a
package from its `opening`/`package.added` row until its `package.removed` row, and its units are the last
row's `units_after`; a subscriber holds the package of its last `opening`/`subscriber.assigned` row until the
matching `subscriber.released`. Columns are documented in docs/BILLING.md.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
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


@dataclass(frozen=True)
class Spec:
    """What to generate."""

    type: str  # PARTNER, CUSTOMER, USER
    category: str  # RECONCILIATION, POINT_IN_TIME
    start: date
    end: date
    customer_id: str | None = None  # CUSTOMER: only this one
    internal: bool = False  # include the partner's own org


# customer id -> (name, externalId, orgId, is the partner's own org)
Display = Mapping[str, tuple[str, str, str, bool]]


def days_of(spec: Spec) -> list[date]:
    """The days reported: every day of the range, or only the end date (POINT_IN_TIME)."""
    if spec.category == "POINT_IN_TIME":
        return [spec.end]
    return [spec.start + timedelta(days=n) for n in range((spec.end - spec.start).days + 1)]


def replay(
    entries: Iterable[Entry], spec: Spec
) -> Iterator[tuple[date, dict[tuple[str, str], tuple[int, int]], dict[str, tuple[str, str]]]]:
    """Per reported day: {(customer, package): (units at end of day, peak units)} for every package held at some
    moment of the day, and {subscriber: (customer, package)} held at the end of the day."""
    units: dict[tuple[str, str], int] = {}  # packages held now -> units
    holders: dict[str, tuple[str, str]] = {}
    stream = iter(entries)
    pending = next(stream, None)

    def apply(entry: Entry) -> tuple[str, str] | None:
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


def _day(entry: Entry) -> date:
    return entry.at.date()  # UTC instants (db.base.UTCDateTime)


def render(
    entries: Iterable[Entry],
    spec: Spec,
    display: Callable[[set[str]], Display],
    emails: Callable[[set[str]], Mapping[str, str]],
) -> tuple[bytes, int]:
    """The CSV (UTF-8, header row, `\\n` line ends) and its number of line items."""
    days = list(replay(entries, spec))
    customer_ids = {c for _day, packages, holders in days for c, _p in packages} | {
        c for _day, _packages, holders in days for c, _p in holders.values()
    }
    shown = display(customer_ids)

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
        mail = emails({s for _day, _packages, holders in days for s in holders})
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
