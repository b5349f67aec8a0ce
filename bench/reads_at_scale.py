"""Reads at scale (issue 15): the API's customer and subscriber lists with 100,000 customers and 1,000,000 subscribers,
on SQLite and on PostgreSQL, through a real `wholesale serve`; goal p99 < 50 ms per query.

    .venv/bin/python bench/reads_at_scale.py                                  # both databases, full size
    .venv/bin/python bench/reads_at_scale.py --database sqlite --customers 10000 --subscribers 100000   # quick
    .venv/bin/python bench/reads_at_scale.py --database postgresql --explain  # also the plan of every list query

PostgreSQL is WHOLESALE_TEST_DATABASE_URL's server when set (a fresh database on it), else a throw-away cluster from
scripts/pg.sh, stopped at the end.

The rows go into the migrated schema by bulk SQL (Core executemany in batches of 20,000) for the demo partner: the
customers' identity orgs, the customers (most provisioned, a few % in every other status, some under a compliance
hold, some deleted tombstones), one to three package rows each, and the subscribers with their users, spread unevenly
(a Pareto draw: most customers have a handful, a few have thousands). Then ANALYZE, then `wholesale serve` (API and
in-process workers, as the other benches), waiting for /readyz. Each query is fetched `--requests` times after
`--warmup` requests, the queries interleaved round by round, sequentially on one keep-alive connection with the
partner's token; `--rounds` repeats the whole measurement on the same server. The "Link next" walks start from the
first page and follow `Link: rel="next"` `--pages` pages deep, as a client pages; each page is one sample.
Prints p50/p95/p99 (client-side milliseconds) per query and round, and the goal.
"""

import argparse
import contextlib
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from common import PY, ROOT, demo, exit_on_sigterm, free_port, fresh_sqlite, start, stop
from procs import Postgres, pct

sys.path.insert(0, str(ROOT / "src"))

GOAL_P99_MS = 50.0
BATCH = 20_000
# Stored customer statuses (weights per 1,000): most settled and provisioned, a few in every other state.
CUSTOMER_STATUSES = (
    ("provisioned", 930),
    ("provisioned_with_errors", 25),
    ("error", 5),
    ("provisioning", 15),
    ("updating", 15),
    ("deleting", 10),
)
HELD_PER_1000 = 20  # settled customers under an open compliance case: shown as pending_rpl_review
DELETED_PER_1000 = 30  # tombstones (deleted_at set): never listed, still in the table and its indexes
PACKAGE_SETS = (("webex_meetings",), ("webex_calling", "webex_meetings"), ("webex_suite",), ("webex_calling",))
SUBSCRIBER_PACKAGES = ("webex_meetings", "webex_calling", "webex_suite")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "CA", "AU")


def fast_ids(kind: str) -> Iterator[str]:
    """Opaque ids of a kind, as ids.new_id makes them (base64 of ciscospark://us/KIND/uuid), from a seeded generator:
    new_id's uuid4 reads os.urandom, which is slow on this VM."""
    from wholesale.kit.ids import encode_id

    rng = random.Random(kind)
    while True:
        raw = f"{rng.getrandbits(128):032x}"
        yield encode_id(kind, f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}")


@dataclass
class Seeded:
    """What the queries need from the seeded data."""

    customers: int
    subscribers: int
    biggest: tuple[str, int]  # (customer id, subscribers)
    typical: tuple[str, int]
    external_id: str
    by_status: dict[str, int]
    seconds: float


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...], n: int) -> list[str]:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table], k=n)


def subscriber_counts(rng: random.Random, eligible: int, total: int) -> list[int]:
    """`total` subscribers over `eligible` customers, Pareto-distributed (alpha 1.16: the 80/20 rule), none above
    25,000: most customers get a few, the biggest thousands."""
    weights = [min(rng.paretovariate(1.16), 5_000.0) for _ in range(eligible)]
    scale = total / sum(weights)
    counts = [min(int(w * scale), 25_000) for w in weights]
    short = total - sum(counts)
    order = sorted(range(eligible), key=lambda i: -weights[i])
    i = 0
    while short > 0:  # the rounding remainder to the biggest ones, one each, round robin
        j = order[i % min(eligible, 1000)]
        if counts[j] < 25_000:
            counts[j] += 1
            short -= 1
        i += 1
    return counts


def seed(url: str, partner: str, template: str, customers: int, subscribers: int, analyze: bool = True) -> Seeded:
    """Insert the customers, their orgs and packages, and the subscribers with their users, in batches."""
    os.environ["WHOLESALE_DATABASE_URL"] = url
    from wholesale.customers.models import Customer, CustomerPackageRow
    from wholesale.identity.models import Org, User
    from wholesale.subscribers.models import Subscriber

    started = time.perf_counter()
    rng = random.Random(15)
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(days=730)
    span = (now - first).total_seconds()
    customer_ids, org_ids = fast_ids("ORGANIZATION"), fast_ids("ORGANIZATION")
    statuses = _weighted(rng, CUSTOMER_STATUSES, customers)
    engine = sa.create_engine(url)
    live: list[tuple[str, str, datetime]] = []  # customers that hold subscribers: (id, org id, created)
    by_status: dict[str, int] = {}
    external_id = ""
    with engine.begin() as conn:
        for start_at in range(0, customers, BATCH):
            orgs, rows, packages = [], [], []
            for i in range(start_at, min(start_at + BATCH, customers)):
                cid, org_id = next(customer_ids), next(org_ids)
                created = first + timedelta(seconds=span * i / customers + rng.uniform(0, 1))
                status = statuses[i]
                deleted = rng.randrange(1000) < DELETED_PER_1000
                held = status in ("provisioned", "provisioned_with_errors", "error") and (
                    rng.randrange(1000) < HELD_PER_1000
                )
                if deleted:
                    status = "deleted"
                shown = "pending_rpl_review" if held else status
                if not deleted:
                    by_status[shown] = by_status.get(shown, 0) + 1
                ext = f"crm-{i:07d}"
                if i == customers // 2:
                    external_id = ext
                country = COUNTRIES[i % len(COUNTRIES)]
                orgs.append(
                    {
                        "id": org_id,
                        "kind": "customer",
                        "display_name": f"Customer {i}",
                        "country_code": country,
                        "language": "en_us",
                        "managed_by_org_id": partner,
                        "created": created,
                    }
                )
                rows.append(
                    {
                        "id": cid,
                        "partner_org_id": partner,
                        "org_id": org_id,
                        "external_id": ext,
                        "provisioning_id": template,
                        "name": f"Customer {i} Ltd",
                        "primary_email": f"admin@customer{i}.example",
                        "language": "en_us",
                        "address_line1": f"{i % 300 + 1} Main Street",
                        "address_line2": None,
                        "city": "Springfield",
                        "state_or_province": "IL" if country == "US" else None,
                        "zip_or_postal_code": f"{10000 + i % 89999}",
                        "country": country,
                        "status": status,
                        "errors": [{"code": 7001, "description": "bench"}] if status == "error" else [],
                        "package_limits": {},
                        "meetings_timezone": None,
                        "calling_location": None,
                        "sub_partner_admin_email": None,
                        "is_partner_org": False,
                        "compliance_hold": held,
                        "revision": 1,
                        "created": created,
                        "updated": created,
                        "deleted_at": created + timedelta(days=1) if deleted else None,
                    }
                )
                for name in PACKAGE_SETS[rng.randrange(len(PACKAGE_SETS))]:
                    packages.append(
                        {
                            "customer_id": cid,
                            "name": name,
                            "status": "provisioned",
                            "quantity_limit": None,
                            "assigned": 0,
                            "license_ids": [],
                            "errors": [],
                            "warnings": [],
                            "created": created,
                        }
                    )
                if not deleted and status in ("provisioned", "provisioned_with_errors", "updating"):
                    live.append((cid, org_id, created))
            conn.execute(sa.insert(Org), orgs)
            conn.execute(sa.insert(Customer), rows)
            conn.execute(sa.insert(CustomerPackageRow), packages)
    print(f"  {customers:,} customers, their orgs and packages: {time.perf_counter() - started:.1f} s", flush=True)

    counts = subscriber_counts(rng, len(live), subscribers)
    user_ids, subscriber_ids = fast_ids("PEOPLE"), fast_ids("SUBSCRIBER")
    users: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    n = 0

    def flush(conn: sa.Connection) -> None:
        conn.execute(sa.insert(User), users)
        conn.execute(sa.insert(Subscriber), subs)
        users.clear()
        subs.clear()

    with engine.begin() as conn:
        for (cid, org_id, created), count in zip(live, counts, strict=True):
            age = (now - created).total_seconds()
            for _ in range(count):
                uid, email = next(user_ids), f"user{n}@bench.example"
                when = created + timedelta(seconds=rng.uniform(60, age))
                status = "provisioned" if rng.randrange(100) < 97 else "pending_user_migration"
                users.append(
                    {
                        "id": uid,
                        "org_id": org_id,
                        "email": email,
                        "first_name": "User",
                        "last_name": str(n),
                        "roles": [],
                        "created": when,
                    }
                )
                subs.append(
                    {
                        "id": next(subscriber_ids),
                        "customer_id": cid,
                        "partner_org_id": partner,
                        "org_id": org_id,
                        "user_id": uid,
                        "email": email,
                        "package": SUBSCRIBER_PACKAGES[n % 3],
                        "status": status,
                        "errors": [],
                        "primary_phone_number": None,
                        "extension": None,
                        "location_id": None,
                        "consent_token_hash": None,
                        "consent_sent_at": None,
                        "created": when,
                        "last_status_change": when,
                    }
                )
                n += 1
                if len(subs) >= BATCH:
                    flush(conn)
            if n and n % 200_000 < count:
                print(f"  {n:,} subscribers ({time.perf_counter() - started:.0f} s)", flush=True)
        if subs:
            flush(conn)
    analyzed = time.perf_counter()
    with engine.connect() as conn:
        if not analyze:
            print("  no ANALYZE (--no-analyze)", flush=True)
        elif engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    engine.dispose()
    print(f"  ANALYZE: {time.perf_counter() - analyzed:.1f} s", flush=True)
    ranked = sorted(range(len(live)), key=lambda i: counts[i])
    big, typical = ranked[-1], ranked[len(ranked) // 2]
    return Seeded(
        customers=customers,
        subscribers=n,
        biggest=(live[big][0], counts[big]),
        typical=(live[typical][0], counts[typical]),
        external_id=external_id,
        by_status=by_status,
        seconds=time.perf_counter() - started,
    )


def queries(seeded: Seeded) -> dict[str, str]:
    """The queries measured, by name: a path, or `walk:` a path whose `Link: next` is followed."""
    big, big_n = seeded.biggest
    typical, typical_n = seeded.typical
    return {
        "customers ?max=100": "/v1/wholesale/customers?max=100",
        "customers status=provisioned": "/v1/wholesale/customers?status=provisioned&max=100",
        "customers status=error (rare)": "/v1/wholesale/customers?status=error&max=100",
        "customers status=pending_rpl_review": "/v1/wholesale/customers?status=pending_rpl_review&max=100",
        "customers externalId=": f"/v1/wholesale/customers?externalId={seeded.external_id}&max=100",
        f"subscribers customerId= ({big_n:,} subs)": f"/v1/wholesale/subscribers?customerId={big}&max=100",
        f"subscribers customerId= ({typical_n} subs)": f"/v1/wholesale/subscribers?customerId={typical}&max=100",
        "subscribers, all of the partner": "/v1/wholesale/subscribers?max=100",
        "customers: Link next, pages 2+": "walk:/v1/wholesale/customers?max=100",
        "customers status=provisioned: Link next": "walk:/v1/wholesale/customers?status=provisioned&max=100",
        f"subscribers ({big_n:,}): Link next": f"walk:/v1/wholesale/subscribers?customerId={big}&max=100",
        "subscribers, all: Link next, pages 2+": "walk:/v1/wholesale/subscribers?max=100",
        "customers ?offset=50000 (one deep page)": f"/v1/wholesale/customers?max=100&offset={seeded.customers // 2}",
    }


def next_url(response: httpx.Response) -> str | None:
    found = re.search(r'<([^>]+)>;\s*rel="next"', response.headers.get("link", ""))
    return found.group(1) if found else None


def measure(client: httpx.Client, targets: dict[str, str], requests: int, warmup: int, pages: int) -> dict:
    """Milliseconds per request of each target, interleaved round by round (walks: one sample per page after the
    first, whose own time is the plain query's)."""
    times: dict[str, list[float]] = {name: [] for name in targets}
    for n in range(warmup + requests):
        for name, path in targets.items():
            walk = path.startswith("walk:")
            url: str | None = path.removeprefix("walk:")
            for page in range(pages if walk else 1):
                assert url is not None
                started = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
                if n >= warmup and (page > 0 or not walk):
                    times[name].append(elapsed)
                url = next_url(response)
                if url is None:
                    break
    return times


def explain(url: str, seeded: Seeded, token: str) -> None:
    """Each query once through the app in this process; the plan of every statement it runs on customers or
    subscribers (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE)."""
    os.environ.update(WHOLESALE_DATABASE_URL=url, WHOLESALE_LOG_LEVEL="WARNING", WHOLESALE_LOG_REQUESTS="false")
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from wholesale.app import create_app

    statements: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if re.search(r"\bFROM (customers|customer_packages|subscribers)\b", statement):
            statements.append((statement, parameters))

    engine = sa.create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    with TestClient(create_app(workers=False)) as client:
        event.listen(sa.engine.Engine, "before_cursor_execute", record)
        try:
            for name, path in queries(seeded).items():
                path = path.removeprefix("walk:")
                if "offset" not in path and name.endswith(("pages 2+", "Link next")):
                    path += "&offset=300"
                statements.clear()
                client.get(path, headers={"Authorization": f"Bearer {token}"}).raise_for_status()
                print(f"\n== {name}: {path}")
                for statement, parameters in list(statements):
                    print("   ", " ".join(statement.split())[:400])
                    with engine.connect() as conn:
                        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
                        for row in conn.exec_driver_sql(prefix + statement, parameters):
                            print("      ", str(row[-1])[:240])
        finally:
            event.remove(sa.engine.Engine, "before_cursor_execute", record)
    engine.dispose()


def run_on(kind: str, url: str, tmp: Path, args: argparse.Namespace) -> dict[str, list[dict[str, list[float]]]]:
    """Seed, serve and measure one database; the times of every round."""
    print(f"\n=== {kind}: {url}", flush=True)
    values = demo(url)
    seeded = seed(
        url,
        values["partner org id"],
        values["customer template (provisioningId)"],
        args.customers,
        args.subscribers,
        analyze=not args.no_analyze,
    )
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(seeded.by_status.items(), key=lambda kv: -kv[1]))
    print(
        f"seeded {seeded.customers:,} customers and {seeded.subscribers:,} subscribers in {seeded.seconds:.0f} s; "
        f"live customers by shown status: {shown}; biggest customer {seeded.biggest[1]:,} subscribers, "
        f"median {seeded.typical[1]}",
        flush=True,
    )
    token = values["partner-admin token"]
    if args.explain:
        explain(url, seeded, token)
    port = free_port()
    server = start(
        [PY, "-m", "wholesale.cli", "serve", "--port", str(port)],
        url,
        port,
        tmp / "serve.log",
        ready_path="/readyz",
        WHOLESALE_RATE_LIMIT_PER_MINUTE="100000000",
    )
    rounds = []
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            targets = queries(seeded)
            for r in range(args.rounds):
                started = time.perf_counter()
                rounds.append(measure(client, targets, args.requests, args.warmup, args.pages))
                load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"round {r + 1}: {time.perf_counter() - started:.0f} s, load average {load}", flush=True)
                report(kind, rounds[-1], r + 1, args)
    finally:
        stop(server)
    return {kind: rounds}


def report(kind: str, times: dict[str, list[float]], round_: int, args: argparse.Namespace) -> None:
    print(
        f"\n{kind}, round {round_}: {args.requests} requests per query after {args.warmup} warm-up, sequential, "
        f"one keep-alive connection; walks follow Link next {args.pages - 1} pages; client-side milliseconds"
    )
    print(f"{'query':46} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7}  goal p99 < {GOAL_P99_MS:.0f} ms")
    for name, values in times.items():
        p50, p95, p99 = pct(values, 50), pct(values, 95), pct(values, 99)
        print(f"{name:46} {len(values):5} {p50:7.1f} {p95:7.1f} {p99:7.1f}  {'ok' if p99 < GOAL_P99_MS else 'MISSED'}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="measurements of every query on the same server")
    parser.add_argument("--pages", type=int, default=5, help="pages a Link-next walk reads, the first included")
    parser.add_argument("--no-analyze", action="store_true", help="leave the planner without statistics")
    parser.add_argument("--explain", action="store_true", help="print the plan of every list statement first")
    args = parser.parse_args()
    exit_on_sigterm()

    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for kind in kinds:
        if kind == "sqlite":
            url, tmp = fresh_sqlite()
            run_on(kind, url, tmp, args)
            with contextlib.suppress(OSError):
                for f in tmp.iterdir():
                    if f.name.startswith("bench.db"):
                        f.unlink()  # gigabytes at full size
        else:
            postgres = Postgres.start()
            try:
                _, tmp = fresh_sqlite()  # a directory for the server's log
                url = postgres.fresh_database("reads")
                try:
                    run_on(kind, url, tmp, args)
                finally:  # a gigabyte at full size, on a server that may outlive this run
                    engine = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
                    with engine.connect() as conn:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
                    engine.dispose()
            finally:
                postgres.stop()


if __name__ == "__main__":
    main()
