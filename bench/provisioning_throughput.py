"""Provisioning throughput (issue 15): the four figures of the issue's table, each next to its goal, with the floor
measured in the same run, on SQLite (one box: `wholesale serve` with its workers in process, and with
`--worker-process`) and on PostgreSQL (1 API process `wholesale serve --no-workers` + 1 `wholesale worker`, a
throw-away cluster unless WHOLESALE_TEST_DATABASE_URL).

    .venv/bin/python bench/provisioning_throughput.py                       # all three set-ups
    .venv/bin/python bench/provisioning_throughput.py --database sqlite --customers 1000 --subscribers 10000
    .venv/bin/python bench/provisioning_throughput.py --database sqlite-worker-process  # serve --worker-process

The floor is a FastAPI `async` route doing one raw insert in autocommit (bench/floor_app.py: `sqlite3` in WAL mode,
or psycopg), served by uvicorn like ours and driven by the same client: 32 threads, each with an httpx.Client. It is measured before and after our side, on a database of its own, and the ratios use the mean.

1. idle latency: one customer at a time (meetings + calling, a calling location), POST -> `provisioned`: from the
   client's clock before the POST to the `customer.settled` audit row's timestamp (same machine, same clock); the
   client waits by reading the customer's status straight from the database every 2 ms, not through the API.
   Goal p50 <= 50 ms.
2. create: N POSTs (default 1,000) from 32 connections, accepted/s / floor accepted/s. Goal >= 0.35.
3. drain: the same N, first POST -> last `customer.settled`, customers/s / floor. Goal >= 0.25.
4. subscribers: M single creates (default 10,000; half calling with an extension) from 32 connections over those
   customers, accepted/s / floor (subscriber bodies). Goal >= 0.35.
Plus when the last of them was screened (R10), server CPU per customer (every process of ours: utime + stime from
/proc, over the burst until every customer is settled and screened; on PostgreSQL the postmaster's too, shown apart)
and each process's peak RSS (VmHWM).
"""

import argparse
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from common import PY, customer_body, demo, exit_on_sigterm, free_port, fresh_sqlite, start, stop
from procs import Postgres, children, launch, pct, rss_mb, tree_cpu_seconds, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from wholesale.compliance.models import Screening
from wholesale.customers.models import Customer
from wholesale.db.session import normalise_url
from wholesale.events.models import AuditEvent

CLIENTS = 32
SETUPS = ["sqlite", "sqlite-worker-process", "postgresql"]
QUIET = {"WHOLESALE_RATE_LIMIT_PER_MINUTE": "0", "WHOLESALE_LOG_REQUESTS": "false"}


@dataclass
class Side:
    """Our server(s) on one database."""

    database: str
    url: str = ""
    base: str = ""
    procs: dict[str, object] = field(default_factory=dict)  # role -> Popen
    seeded: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seeded['partner-admin token']}"}

    @property
    def template(self) -> str:
        return self.seeded["customer template (provisioningId)"]


def body(template: str, tag: str, i: int) -> dict:
    return customer_body(
        template, f"{tag}-{i}", f"Bench {tag} {i}", f"{tag}{i}@bench.example.com", ["webex_meetings", "webex_calling"]
    )


def subscriber_body(customer_id: str, i: int) -> dict:
    params = {"firstName": "Bench", "lastName": str(i)}
    if i % 2:
        return {
            "customerId": customer_id,
            "email": f"sub{i}@bench.example.com",
            "packages": ["webex_calling"],
            "provisioningParameters": params | {"extension": str(100000 + i)},
        }
    return {
        "customerId": customer_id,
        "email": f"sub{i}@bench.example.com",
        "packages": ["webex_meetings"],
        "provisioningParameters": params,
    }


def post_all(url: str, headers: dict, bodies: list[dict]) -> tuple[list[str], float, float]:
    """POST every body from CLIENTS threads, each with an httpx.Client of its own (the issue's client: an asyncio
    httpx client tops out near 350 req/s on this machine, below the floor); (ids accepted, wall clock at the start,
    elapsed seconds)."""
    todo = iter(bodies)
    lock = threading.Lock()
    accepted: list[str] = []
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(timeout=120, headers=headers) as c:
            while not failures:
                with lock:
                    body = next(todo, None)
                if body is None:
                    return
                r = c.post(url, json=body)
                if r.status_code not in (200, 201, 202):
                    failures.append(f"{r.status_code} {r.text[:300]}")
                    return
                found = r.json()
                accepted.append(str(found.get("url", found.get("id", ""))).rsplit("/", 1)[-1])

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    wall, started = time.time(), time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(failures[0])
    return accepted, wall, time.monotonic() - started


def settled_at(engine: sa.Engine, ids: list[str]) -> dict[str, datetime]:
    """The first `customer.settled` audit timestamp per customer."""
    found: dict[str, datetime] = {}
    with engine.connect() as conn:
        for i in range(0, len(ids), 500):
            rows = conn.execute(
                sa.select(AuditEvent.subject_id, AuditEvent.occurred_at).where(
                    AuditEvent.action == "customer.settled", AuditEvent.subject_id.in_(ids[i : i + 500])
                )
            )
            for subject, at in rows:
                found.setdefault(subject, at)
    return found


def wait_settled(engine: sa.Engine, ids: list[str], timeout: float = 600, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    query = sa.select(sa.func.count()).where(Customer.id.in_(ids), Customer.status.in_(["provisioning", "updating"]))
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(query) == 0:
                return
        time.sleep(interval)
    raise RuntimeError(f"customers still provisioning after {timeout} s")


def wait_screened(engine: sa.Engine, ids: list[str], timeout: float = 600) -> float:
    """Wait until every customer has its `created` screening (R10); the wall clock of the last one."""
    deadline = time.monotonic() + timeout
    query = sa.select(sa.func.count(sa.distinct(Screening.customer_id))).where(
        Screening.customer_id.in_(ids), Screening.trigger == "created"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(query) == len(ids):
                return conn.scalar(sa.select(sa.func.max(Screening.created)).where(Screening.customer_id.in_(ids)))
        time.sleep(0.05)
    raise RuntimeError(f"customers still unscreened after {timeout} s")


def idle_latency(side: Side, engine: sa.Engine, n: int) -> list[float]:
    """n customers one at a time: client clock before the POST -> the settled audit row (seconds)."""
    values = []
    with httpx.Client(timeout=30) as c:
        for i in range(n):
            time.sleep(0.3)  # idle between customers: the workers are waiting, not busy
            wall = time.time()
            r = c.post(f"{side.base}/v1/wholesale/customers", json=body(side.template, "idle", i), headers=side.headers)
            r.raise_for_status()
            cid = r.json()["url"].rsplit("/", 1)[-1]
            wait_settled(engine, [cid], timeout=60, interval=0.002)
            values.append(settled_at(engine, [cid])[cid].timestamp() - wall)
    return values


def start_ours(database: str, pg: Postgres | None, tmp: Path) -> Side:
    side = Side(database)
    if database.startswith("sqlite"):
        side.url, _ = fresh_sqlite()
    else:
        assert pg is not None
        side.url = pg.fresh_database("wholesale_tp")
    side.seeded = demo(side.url)
    port = free_port()
    side.base = f"http://127.0.0.1:{port}"
    log = tmp / f"{database}.log"
    if database.startswith("sqlite"):
        extra = ["--worker-process"] if database == "sqlite-worker-process" else []
        side.procs["serve"] = start(
            [PY, "-m", "wholesale.cli", "serve", "--port", str(port), *extra], side.url, port, log, "/readyz", **QUIET
        )
    else:
        api = launch([PY, "-m", "wholesale.cli", "serve", "--no-workers", "--port", str(port)], side.url, log, **QUIET)
        side.procs["api"] = api
        side.procs["worker"] = launch(
            [PY, "-m", "wholesale.cli", "worker"], side.url, log, WHOLESALE_EXECUTOR_ID="worker-1", **QUIET
        )
        wait_ready(api, port)
    if database != "sqlite":
        # The worker process builds its screening index as it starts (seconds of a core); the API's /readyz does
        # not cover another process, so wait until our processes are idle, or the build is measured in the burst.
        wait_idle(side)
    return side


def wait_idle(side: Side, timeout: float = 300, busy: float = 0.3) -> None:
    """Wait until our processes use under `busy` s of CPU per s for two half-second windows in a row (idle polling
    is about 0.1 s/s; an index build about 1 s/s)."""
    started = time.monotonic()
    deadline = started + timeout
    quiet, last = 0, cpu(side)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu(side)
        quiet, last = (quiet + 1 if now - last < busy * 0.5 else 0), now
        if quiet >= 2:
            print(f"(our processes idle {time.monotonic() - started:.1f} s after the API was ready)", flush=True)
            return
    raise RuntimeError(f"our processes still busy after {timeout:.0f} s")


def cpu(side: Side) -> float:
    return sum(tree_cpu_seconds(p.pid) for p in side.procs.values())


def floor(database: str, pg: Postgres | None, tmp: Path, bodies: list[dict]) -> float:
    """Accepted/s of the floor route for these bodies, on a database of its own."""
    url = fresh_sqlite()[0] if database.startswith("sqlite") else pg.fresh_database("floor")  # type: ignore[union-attr]
    port = free_port()
    proc = start(
        [
            PY,
            "-m",
            "uvicorn",
            "floor_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--app-dir",
            str(Path(__file__).parent),
        ],
        url,
        port,
        tmp / "floor.log",
    )
    try:
        post_all(f"http://127.0.0.1:{port}/insert", {}, bodies[: min(200, len(bodies))])  # warm-up
        _, _, elapsed = post_all(f"http://127.0.0.1:{port}/insert", {}, bodies)
        return len(bodies) / elapsed
    finally:
        stop(proc)


def run(database: str, args: argparse.Namespace, tmp: Path) -> None:
    pg = Postgres.start() if database == "postgresql" else None
    side = None
    try:
        template = "tpl"
        cust_bodies = [body(template, "floor", i) for i in range(args.customers)]
        sub_bodies = [subscriber_body("c", i) for i in range(args.subscribers)]
        floors = {"customers": [floor(database, pg, tmp, cust_bodies)]}
        floors["subscribers"] = [floor(database, pg, tmp, sub_bodies)]

        side = start_ours(database, pg, tmp)
        engine = sa.create_engine(normalise_url(side.url))
        create_url = f"{side.base}/v1/wholesale/customers"
        warm, _, _ = post_all(create_url, side.headers, [body(side.template, "warm", i) for i in range(20)])
        wait_settled(engine, warm)
        time.sleep(2)
        latencies = idle_latency(side, engine, args.idle)

        time.sleep(2)
        cpu_before = cpu(side)
        pm_before = tree_cpu_seconds(pg.postmaster_pid()) if pg and pg.postmaster_pid() else None
        ids, wall, elapsed = post_all(
            create_url, side.headers, [body(side.template, "b", i) for i in range(args.customers)]
        )
        wait_settled(engine, ids)
        settled = settled_at(engine, ids)
        drain_seconds = max(settled.values()).timestamp() - wall
        screened_seconds = wait_screened(engine, ids).timestamp() - wall
        cpu_used = cpu(side) - cpu_before
        pm_used = tree_cpu_seconds(pg.postmaster_pid()) - pm_before if pm_before is not None else None
        statuses = {}
        with engine.connect() as conn:
            for status, count in conn.execute(
                sa.select(Customer.status, sa.func.count()).where(Customer.id.in_(ids)).group_by(Customer.status)
            ):
                statuses[status] = count

        subs = [subscriber_body(ids[i % len(ids)], i) for i in range(args.subscribers)]
        _, _, sub_elapsed = post_all(f"{side.base}/v1/wholesale/subscribers", side.headers, subs)
        peaks = {role: rss_mb(p.pid)[1] for role, p in side.procs.items()}
        for role, p in list(side.procs.items()):
            for child in children(p.pid):  # serve --worker-process: its worker
                peaks[f"{role}'s child {child}"] = rss_mb(child)[1]
        for p in side.procs.values():
            stop(p)
        engine.dispose()
        side = None

        floors["customers"].append(floor(database, pg, tmp, cust_bodies))
        floors["subscribers"].append(floor(database, pg, tmp, sub_bodies))
    finally:
        if side is not None:
            for p in side.procs.values():
                stop(p)
        if pg is not None:
            pg.stop()

    f_cust, f_sub = statistics.mean(floors["customers"]), statistics.mean(floors["subscribers"])
    accepted = args.customers / elapsed
    drained = args.customers / drain_seconds
    subs_rate = args.subscribers / sub_elapsed
    topology = {
        "sqlite": "one box: `wholesale serve`, workers in process",
        "sqlite-worker-process": "one box: `wholesale serve --worker-process`",
        "postgresql": "1 API + 1 `wholesale worker`",
    }[database]
    batch = QUIET.get("WHOLESALE_PROVISIONING_BATCH_SIZE", "default")
    print(f"\n== {database} ({topology}), {CLIENTS} client connections, provisioning batch size {batch}")
    print(
        f"floor (async route, one raw autocommit insert): customers {' / '.join(f'{v:.0f}' for v in floors['customers'])}"
        f" req/s, subscribers {' / '.join(f'{v:.0f}' for v in floors['subscribers'])} req/s (before / after)"
    )
    print(
        f"1. idle latency POST -> provisioned, {args.idle} one at a time: p50 {pct(latencies, 50) * 1000:.0f} ms, "
        f"p90 {pct(latencies, 90) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms  (goal p50 <= 50 ms)"
    )
    print(
        f"2. create {args.customers}: {accepted:.0f} accepted/s / floor {f_cust:.0f}/s = {accepted / f_cust:.2f}"
        f"  (goal >= 0.35)"
    )
    print(
        f"3. drain {args.customers}: first POST -> last settled {drain_seconds:.2f} s = {drained:.0f} customers/s"
        f" / floor = {drained / f_cust:.3f}  (goal >= 0.25); statuses {statuses};"
        f" every one screened (R10) {screened_seconds:.2f} s after the first POST"
    )
    print(
        f"4. subscribers {args.subscribers}: {subs_rate:.0f} accepted/s / floor {f_sub:.0f}/s = {subs_rate / f_sub:.2f}"
        f"  (goal >= 0.35)"
    )
    pm = f", PostgreSQL {pm_used / args.customers * 1000:.1f} ms" if pm_used is not None else ""
    print(
        f"server CPU per customer (burst until drained and screened): ours {cpu_used / args.customers * 1000:.1f} ms{pm};"
        f" peak RSS {', '.join(f'{k} {v:.0f} MiB' for k, v in peaks.items())}"
    )


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database", choices=[*SETUPS, "all"], default="all", help="sqlite: workers in process; all: the three"
    )
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--idle", type=int, default=30)
    parser.add_argument(
        "--batch-size", type=int, help="WHOLESALE_PROVISIONING_BATCH_SIZE for our server (default: its own)"
    )
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"tp-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    if args.batch_size:
        QUIET["WHOLESALE_PROVISIONING_BATCH_SIZE"] = str(args.batch_size)
    for database in SETUPS if args.database == "all" else [args.database]:
        run(database, args, tmp)


if __name__ == "__main__":
    main()
