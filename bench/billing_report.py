"""A 30-day PARTNER billing report for 1,000 customers and 100,000 subscribers on SQLite, from the usage ledger,
against a plain SELECT of the same ledger rows in the same run (the floor: reading them at all).
Goal (issue 11): the report in <= 10 s and <= 3 x the SELECT.

    .venv/bin/python bench/billing_report.py [--customers 1000] [--subscribers 100000] [--days 30] [--runs 3]

The ledger is written through `ledger.append` on a frozen clock, a day at a time: day 1 every customer's
`customer.details` (what its report lines show) and two packages, then subscribers arrive evenly over the days on
alternating packages (each row with the subscriber's email, as the service writes it), and one in ten leaves again
a few days later (so the report replays takes and releases).
"""

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from common import demo, fresh_sqlite

PACKAGES = ("webex_meetings", "webex_calling")


def build(customers: int, subscribers: int, days: int, start: date) -> str:
    """Write the customers and the ledger; return the partner's org id."""
    from wholesale.customers.models import Customer, CustomerTemplate
    from wholesale.db.session import get_database
    from wholesale.kit import clock
    from wholesale.ledger import service as ledger
    from wholesale.ledger.service import Change, Kind

    db = get_database()
    with db.transaction() as s:
        template = s.scalars(sa.select(CustomerTemplate)).first()
        assert template is not None
        partner = template.partner_org_id
        now = datetime.now(UTC)
        s.execute(
            sa.insert(Customer),
            [
                {
                    "id": f"bench-customer-{i:05d}",
                    "partner_org_id": partner,
                    "external_id": f"ext-{i:05d}",
                    "provisioning_id": template.id,
                    "name": f"Bench Customer {i}",
                    "org_id": f"bench-org-{i:05d}",
                    "address_line1": "1 Main St",
                    "city": "Berlin",
                    "country": "DE",
                    "status": "provisioned",
                    "created": now,
                    "updated": now,
                }
                for i in range(customers)
            ],
        )
    fixed = clock.FixedClock()
    clock.set_clock(fixed)

    def shown(c: int) -> dict[str, object]:  # what the customer's reports show, as `customers.usage` records it
        return {
            "name": f"Bench Customer {c}",
            "externalId": f"ext-{c:05d}",
            "orgId": f"bench-org-{c:05d}",
            "internal": False,
        }

    units = {(c, p): 0 for c in range(customers) for p in PACKAGES}
    leaving: dict[int, list[tuple[int, int, str]]] = {}
    per_day = -(-subscribers // days)
    made = 0
    for day in range(days):
        fixed.set(datetime.combine(start + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + timedelta(hours=9))
        changes: list[Change] = []
        if day == 0:
            changes += [
                Change(partner, f"bench-customer-{c:05d}", "", Kind.CUSTOMER_DETAILS, 0, 0, details=shown(c))
                for c in range(customers)
            ]
            changes += [
                Change(partner, f"bench-customer-{c:05d}", p, Kind.PACKAGE_ADDED, 0, 0)
                for c in range(customers)
                for p in PACKAGES
            ]
        for _ in range(min(per_day, subscribers - made)):
            c, p = made % customers, PACKAGES[made % 2]
            units[c, p] += 1
            sid = f"bench-sub-{made:06d}"
            email = {"email": f"{sid}@example.com"}
            changes.append(
                Change(
                    partner, f"bench-customer-{c:05d}", p, Kind.SUBSCRIBER_ASSIGNED, 1, units[c, p], sid, details=email
                )
            )
            if made % 10 == 0 and day + 3 < days:
                leaving.setdefault(day + 3, []).append((c, made, p))
            made += 1
        for c, n, p in leaving.pop(day, []):
            units[c, p] -= 1
            changes.append(
                Change(
                    partner,
                    f"bench-customer-{c:05d}",
                    p,
                    Kind.SUBSCRIBER_RELEASED,
                    -1,
                    units[c, p],
                    f"bench-sub-{n:06d}",
                )
            )
        with db.transaction() as s:
            for at in range(0, len(changes), 20_000):
                ledger.append(s, changes[at : at + 20_000])
    return partner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    url, _tmp = fresh_sqlite()
    demo(url)
    os.environ["WHOLESALE_DATABASE_URL"] = url
    from wholesale.billing import generation, service
    from wholesale.db.session import get_database
    from wholesale.ledger.models import UsageEntry

    start = date(2026, 3, 1)
    end = start + timedelta(days=args.days - 1)
    started = time.monotonic()
    partner = build(args.customers, args.subscribers, args.days, start)
    built = time.monotonic() - started
    spec = generation.Spec(type="PARTNER", category="RECONCILIATION", start=start, end=end)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    db = get_database()
    report, select, lines, rows = [], [], 0, 0
    for _ in range(args.runs):  # alternate, so drift hits both alike
        with db.session(write=False) as s:
            t = time.perf_counter()
            found = s.execute(
                sa.select(UsageEntry.__table__)
                .where(UsageEntry.partner_org_id == partner, UsageEntry.at < until)
                .order_by(UsageEntry.seq)
            ).all()
            select.append(time.perf_counter() - t)
            rows = len(found)
        with db.session(write=False) as s:
            t = time.perf_counter()
            content, lines = service.render(s, partner, spec)
            report.append(time.perf_counter() - t)
    r, b = statistics.median(report), statistics.median(select)
    print(
        f"{args.customers} customers, {args.subscribers} subscribers, {args.days} days: {rows} ledger rows "
        f"(written in {built:.1f} s); report: {lines} line items, {len(content) / 1e6:.1f} MB CSV"
    )
    print(f"plain SELECT of the rows: {', '.join(f'{x:.2f}' for x in select)} s (median {b:.2f} s)")
    print(f"PARTNER report:           {', '.join(f'{x:.2f}' for x in report)} s (median {r:.2f} s)")
    print(f"ratio {r / b:.2f} (goal <= 3); report {r:.2f} s (goal <= 10 s)")


if __name__ == "__main__":
    main()
