"""Portal page times (issue 14): the customer list and the review queue with 10,000 customers and 1,000 open review
cases on SQLite, through a real `wholesale serve` with a portal session; goal p95 < 100 ms.

    .venv/bin/python bench/portal_pages.py [--customers 10000] [--cases 1000] [--requests 200]
    .venv/bin/python bench/portal_pages.py --count-sql      # SQL statements per page (in-process, no server)

The data goes in through bulk SQL (not the API: 10,000 creates would take minutes and screen every name): the demo
partner's customers with a package each, and open cases with a real-looking hit for a thousand of them. Each page is
fetched `--requests` times, pages interleaved, one keep-alive connection, after a warm-up; the baselines of the same
run are GET /healthz and the API's GET /v1/wholesale/customers?max=20 with the partner's token. Prints p50/p95/p99
per page (client-side milliseconds) and each page's p95 over the API list's p95.
"""

import argparse
import os
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from common import PY, ROOT, demo, free_port, fresh_sqlite, start, stop
from procs import pct

sys.path.insert(0, str(ROOT / "src"))

GOAL_P95_MS = 100.0
FIRST = ("Nord", "Blue", "Alpen", "Harbor", "Sun", "Iron", "Oak", "River", "Silver", "Green", "Atlas", "Vega")
SECOND = ("wind", "stone", "field", "light", "gate", "works", "point", "bridge", "haven", "forge", "line", "peak")
KIND = ("Logistics", "Bakery", "Dental", "Consulting", "Motors", "Textiles", "Foods", "Media", "Pharma", "Labs")
FORMS = ("GmbH", "Ltd", "SA", "Inc", "AG", "BV", "Oy", "SRL")
COUNTRIES = ("DE", "FR", "GB", "US", "NL", "AT", "CH", "ES", "IT", "SE", "PL", "BE")
STATUSES = ("provisioned",) * 16 + ("provisioned_with_errors", "error", "provisioning", "updating")
# A hit as screening stores it (ScreeningResult.to_dict()["hits"][n]): the OFAC SDN entry of Mahan Air.
HIT = {
    "explanation": "2 of 2 listed words equal; country IR matches the listed address",
    "source": "OFAC-SDN",
    "entryId": "12927",
    "name": "MAHAN AIR",
    "score": 0.97,
    "matchedVariant": "MAHAN AIR",
    "entityType": "company",
    "features": {"tokenSort": 1.0, "softTokens": 1.0, "name": 1.0, "country": 0.05},
    "listVersion": "0" * 64,
}


def name_of(i: int) -> str:
    """A distinct, plausible company name: 'Harborgate Dental GmbH 1234'."""
    first, second = FIRST[i % len(FIRST)], SECOND[(i // len(FIRST)) % len(SECOND)]
    return f"{first}{second} {KIND[(i // 144) % len(KIND)]} {FORMS[i % len(FORMS)]} {i}"


def seed(url: str, partner: str, template: str, customers: int, cases: int) -> None:
    """Bulk-insert the customers (one package each) and open cases for the first `cases` of them."""
    os.environ["WHOLESALE_DATABASE_URL"] = url
    from wholesale.compliance.models import ComplianceCase
    from wholesale.customers.models import Customer, CustomerPackageRow
    from wholesale.kit import ids

    rng = random.Random(14)
    now = datetime.now(UTC)
    engine = sa.create_engine(url)
    customer_rows, package_rows, case_rows = [], [], []
    for i in range(customers):
        cid = ids.new_id("ORGANIZATION")
        created = now - timedelta(days=30) + timedelta(seconds=i * 30 * 86400 / customers)
        country = COUNTRIES[i % len(COUNTRIES)]
        listed = i < cases
        customer_rows.append(
            {
                "id": cid,
                "partner_org_id": partner,
                "org_id": ids.new_id("ORGANIZATION"),
                "external_id": f"bench-{i:06d}",
                "provisioning_id": template,
                "name": name_of(i),
                "primary_email": f"admin{i}@customer{i}.example",
                "language": "en_us",
                "address_line1": f"{i % 200 + 1} Main Street",
                "address_line2": None,
                "city": "Tehran" if listed else "Springfield",
                "state_or_province": None,
                "zip_or_postal_code": f"{10000 + i % 89999}",
                "country": "IR" if listed else country,
                "status": "provisioned" if listed else rng.choice(STATUSES),
                "errors": [],
                "package_limits": {},
                "meetings_timezone": None,
                "calling_location": None,
                "sub_partner_admin_email": None,
                "is_partner_org": False,
                "compliance_hold": listed,
                "revision": 1,
                "created": created,
                "updated": created,
                "deleted_at": None,
            }
        )
        package_rows.append(
            {
                "customer_id": cid,
                "name": "webex_meetings",
                "status": "provisioned",
                "quantity_limit": None,
                "assigned": 0,
                "license_ids": [],
                "errors": [],
                "warnings": [],
                "created": created,
            }
        )
        if listed:
            opened = now - timedelta(minutes=rng.uniform(0, 180))
            case_rows.append(
                {
                    "id": ids.new_id("COMPLIANCE_CASE"),
                    "customer_id": cid,
                    "partner_org_id": partner,
                    "status": "open",
                    "opened_at": opened,
                    "deadline": opened + timedelta(days=30),
                    "decided_at": None,
                    "decision": None,
                    "reason": None,
                    "decided_by": None,
                    "closed_at": None,
                    "unreachable_attempts": 0,
                    "screening_id": ids.new_id("SCREENING"),
                    "hits": [HIT],
                    "timeline": [
                        {"at": opened.isoformat(), "event": "opened", "detail": "match (score 0.97) after created"}
                    ],
                }
            )
    with engine.begin() as conn:
        conn.execute(Customer.__table__.insert(), customer_rows)
        conn.execute(CustomerPackageRow.__table__.insert(), package_rows)
        conn.execute(ComplianceCase.__table__.insert(), case_rows)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def pages(customers: int) -> dict[str, str]:
    middle = max(customers // 20 // 2, 1)  # 20 a page
    return {
        "customers, first page": "/portal/customers",
        f"customers, page {middle}": f"/portal/customers?page={middle}",
        "customers, status filter": "/portal/customers?status=error",
        "customers, search": "/portal/customers?q=Harborgate",
        "review queue": "/portal/review",
        "review queue rows (htmx poll)": "/portal/review/rows?status=open",
    }


def signed_in(base: str, email: str, password: str) -> httpx.Client:
    """A client holding a portal session, signed in as a person would (email and password)."""
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/portal/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/portal/signin", data={"csrf": csrf, "email": email, "password": password})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in as {email} refused: {answer.status_code} {answer.text[:300]}")
    return client


def measure(targets: dict[str, tuple[httpx.Client, str]], requests: int, warmup: int = 20) -> dict[str, list[float]]:
    """Milliseconds per GET of each target, interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in targets}
    for n in range(warmup + requests):
        for name, (client, path) in targets.items():
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            if n >= warmup:
                times[name].append(elapsed)
    return times


def count_sql(url: str, seeded: dict[str, str], customers: int) -> None:
    """Each page once through the app in this process, printing how many SQL statements it ran."""
    os.environ.update(WHOLESALE_DATABASE_URL=url, WHOLESALE_LOG_LEVEL="WARNING", WHOLESALE_LOG_REQUESTS="false")
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from wholesale.app import create_app

    statements: list[str] = []

    @event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with TestClient(create_app(workers=False), follow_redirects=False) as client:
        for who in ("partner admin", "reviewer"):
            client.cookies.clear()
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/portal/signin").text).group(1)
            answer = client.post(
                "/portal/signin",
                data={"csrf": csrf, "email": seeded[f"portal {who}"], "password": seeded[f"portal {who} password"]},
            )
            assert answer.status_code == 303, answer.text
            for name, path in pages(customers).items():
                if path.startswith("/portal/review") != (who == "reviewer"):
                    continue
                client.get(path)  # warm caches
                statements.clear()
                status = client.get(path).status_code
                print(f"{name:34} {path:40} HTTP {status}  {len(statements):3} SQL statements")
                if "-v" in sys.argv:
                    for s in statements:
                        print("    ", " ".join(s.split())[:160])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--count-sql", action="store_true", help="count SQL statements per page instead (-v: list)")
    args, _ = parser.parse_known_args()

    url, tmp = fresh_sqlite()
    seeded = demo(url)
    started = time.perf_counter()
    seed(url, seeded["partner org id"], seeded["customer template (provisioningId)"], args.customers, args.cases)
    print(f"seeded {args.customers:,} customers and {args.cases:,} open cases in {time.perf_counter() - started:.1f} s")
    if args.count_sql:
        count_sql(url, seeded, args.customers)
        return

    port = free_port()
    server = start(
        [PY, "-m", "wholesale.cli", "serve", "--port", str(port)],
        url,
        port,
        Path(tmp) / "serve.log",
        ready_path="/readyz",
        WHOLESALE_RATE_LIMIT_PER_MINUTE="100000000",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        partner = signed_in(base, seeded["portal partner admin"], seeded["portal partner admin password"])
        reviewer = signed_in(base, seeded["portal reviewer"], seeded["portal reviewer password"])
        api = httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {seeded['partner-admin token']}"}
        )
        first = partner.get("/portal/customers").text
        total = re.search(r"([\d,]+) customers", first)
        queue = reviewer.get("/portal/review").text
        print(
            f"customer list reads {total.group(1) if total else '?'} customers; "
            f"queue reads {re.search(r'([0-9,]+) cases', queue).group(1)} cases"
        )
        targets = {
            "baseline: GET /healthz": (api, "/healthz"),
            "baseline: API customers?max=20": (api, "/v1/wholesale/customers?max=20"),
        }
        for name, path in pages(args.customers).items():
            targets[name] = (reviewer if path.startswith("/portal/review") else partner, path)
        # One case with its evidence (the entry looked up in the lists in force), for reference.
        targets["a review case"] = (reviewer, re.search(r'href="(/portal/review/cases/[^"]+)"', queue).group(1))
        times = measure(targets, args.requests)
    finally:
        stop(server)

    api_p95 = pct(times["baseline: API customers?max=20"], 95)
    print(f"\n{args.requests} requests per page, sequential, one keep-alive connection each; milliseconds")
    print(f"{'page':34} {'p50':>7} {'p95':>7} {'p99':>7} {'p95/API':>8}  goal p95 < {GOAL_P95_MS:.0f} ms")
    for name, values in times.items():
        p50, p95, p99 = pct(values, 50), pct(values, 95), pct(values, 99)
        verdict = "" if name.startswith("baseline") else ("ok" if p95 < GOAL_P95_MS else "MISSED")
        print(f"{name:34} {p50:7.1f} {p95:7.1f} {p99:7.1f} {p95 / api_p95:8.2f}  {verdict}")


if __name__ == "__main__":
    main()
