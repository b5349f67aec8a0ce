"""Scale-out on PostgreSQL (issue 16): the same client and the same load against 1 API process + 1 `wholesale
worker` and against 2 API processes + 2 workers, each on a fresh database of one throw-away PostgreSQL cluster.

    .venv/bin/python bench/scale_out.py                  # 1+1 then 2+2: 500 customers, then 5,000 subscribers
    .venv/bin/python bench/scale_out.py --order 1,2,2,1 --customers 200 --subscribers 2000
    .venv/bin/python bench/scale_out.py --partners 8        # the same load spread over 8 partners

--postgres is implied: WHOLESALE_TEST_DATABASE_URL's server when set, else a throw-away cluster (scripts/pg.sh).

Per topology: API nodes are `wholesale serve --no-workers` processes on ports of their own (the client spreads
requests over them round-robin, as a load balancer would), workers are `wholesale worker` processes with
executor ids of their own; rate limits are off (they are per process: see docs/SCALING.md). Customers belong to
the demo partner, or round-robin to --partners partners (each with its own token and template): one partner's
changes of holdings take turns on its ledger head row. After a warm-up (10 customers created and settled, not
counted), the client
1. POSTs N customers (meetings + calling, a calling location) from 32 connections: accepted/s;
   waits until every one is `provisioned`: drained customers/s (first POST to last settled); then until no job
   is left (each customer's screening runs on the compliance queue after its provisioning);
2. POSTs M single subscriber creates (half calling with an extension) from 32 connections, spread over those
   customers: subscribers/s.
CPU seconds of every process (utime + stime from /proc/<pid>/stat, before and after each phase) give CPU per
customer and per subscriber per process type; PostgreSQL's (the postmaster with its live and exited backends)
and the client's are shown beside them.

Checks, per topology: every customer's provisioning settled exactly once (one `customer.settled` audit row, one
screening, at most one SUCCESS workflow of each kind per customer (a provisioning run of its own only for one
retried alone), every provisioning batch and screening batch SUCCESS, no workflow recovered or retried); the
ledger's units per customer and package equal the assigned units and the live subscribers; `wholesale ledger
verify` is clean; which worker ran how many workflows. Exit 1 when a check fails.
Goals: never a job run twice; 2+2 not slower than 1+1 on this 2-core machine.
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from common import PY, cli, customer_body, demo, env_for, exit_on_sigterm, free_port, stop
from procs import Postgres, launch, tree_cpu_seconds, wait_ready

PACKAGES = ["webex_meetings", "webex_calling"]
CLIENTS = 32
# Rate limits are per process (docs/SCALING.md): off here, so both topologies take the same load.
NO_LIMIT = {"WHOLESALE_RATE_LIMIT_PER_MINUTE": "0", "WHOLESALE_LOG_REQUESTS": "false"}


@dataclass
class Topology:
    apis: int
    workers: int
    url: str = ""
    seeded: dict = field(default_factory=dict)
    api_procs: list[subprocess.Popen] = field(default_factory=list)
    api_ports: list[int] = field(default_factory=list)
    worker_procs: list[subprocess.Popen] = field(default_factory=list)
    partners: list[tuple[str, str]] = field(default_factory=list)  # (token, customer template) per partner

    @property
    def name(self) -> str:
        return f"{self.apis} API + {self.workers} worker{'s' if self.workers > 1 else ''}"

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.api_ports]


def start_topology(top: Topology, pg: Postgres, tmp: Path, n_partners: int) -> None:
    top.url = pg.fresh_database("wholesale_scale")
    top.seeded = demo(top.url)
    tokens = [top.seeded["partner-admin token"]]
    for i in range(2, n_partners + 1):
        org = cli(top.url, "partners", "create", f"Scale Partner {i}").strip()
        tokens.append(cli(top.url, "tokens", "create", "--org", org, "--role", "partner-admin").strip())
    log = tmp / f"{top.apis}x{top.workers}.log"
    for _ in range(top.apis):
        port = free_port()
        proc = launch(
            [PY, "-m", "wholesale.cli", "serve", "--no-workers", "--port", str(port)],
            top.url,
            log,
            **NO_LIMIT,
        )
        top.api_procs.append(proc)
        top.api_ports.append(port)
    for n in range(1, top.workers + 1):
        top.worker_procs.append(
            launch([PY, "-m", "wholesale.cli", "worker"], top.url, log, WHOLESALE_EXECUTOR_ID=f"worker-{n}", **NO_LIMIT)
        )
    for proc, port in zip(top.api_procs, top.api_ports, strict=True):
        wait_ready(proc, port)
    top.partners = [(tokens[0], top.seeded["customer template (provisioningId)"])]
    for token in tokens[1:]:
        r = httpx.post(
            f"{top.bases[0]}/v1/wholesale/customerTemplates",
            json={"name": "Standard"},
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        top.partners.append((token, r.json()["id"]))
    wait_idle(top.worker_procs)


def wait_idle(procs: list[subprocess.Popen], timeout: float = 180) -> None:
    """Wait until every worker has built its screening index (a few CPU seconds at launch) and idles."""
    deadline = time.monotonic() + timeout
    quiet = 0
    before = [tree_cpu_seconds(p.pid) for p in procs]
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(1)
        now = [tree_cpu_seconds(p.pid) for p in procs]
        quiet = quiet + 1 if max(b - a for a, b in zip(before, now, strict=True)) < 0.25 else 0
        before = now
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"worker exited with {p.returncode}")


def stop_topology(top: Topology) -> None:
    if top.url in _engines:
        _engines.pop(top.url).dispose()
    for proc in [*top.api_procs, *top.worker_procs]:
        stop(proc)


def cpu_of(top: Topology, pg: Postgres) -> dict[str, list[float] | float]:
    pm = pg.postmaster_pid()
    return {
        "api": [tree_cpu_seconds(p.pid) for p in top.api_procs],
        "worker": [tree_cpu_seconds(p.pid) for p in top.worker_procs],
        "postgres": tree_cpu_seconds(pm) if pm else float("nan"),
        "client": sum(os.times()[:2]),
    }


def cpu_delta(before: dict, after: dict) -> dict[str, list[float] | float]:
    out = {}
    for key, value in before.items():
        if isinstance(value, list):
            out[key] = [b - a for a, b in zip(value, after[key], strict=True)]
        else:
            out[key] = after[key] - value
    return out


class Client:
    """One asyncio client with 32 connections; requests go round-robin over the API nodes."""

    def __init__(self, top: Topology):
        self.bases = itertools.cycle(top.bases)
        self.partners = top.partners
        # Idle connections are dropped after 2 s, before uvicorn's 5 s keep-alive timeout: with equal timeouts a
        # request sent on a connection the server is just closing fails with ReadError (seen between phases).
        limits = httpx.Limits(max_connections=CLIENTS * 2, keepalive_expiry=2.0)
        self.http = httpx.AsyncClient(timeout=120, limits=limits)

    async def post_all(
        self, path: str, bodies: list[tuple[int, dict]], ok: int
    ) -> tuple[list[httpx.Response], float, list[float]]:
        """POST each (partner number, body) with that partner's token; answers in the order of `bodies`."""
        queue: asyncio.Queue = asyncio.Queue()
        for item in enumerate(bodies):
            queue.put_nowait(item)
        answers: list[httpx.Response | None] = [None] * len(bodies)
        latencies: list[float] = []
        failures: list[str] = []

        async def worker() -> None:
            while not queue.empty():
                i, (partner, body) = queue.get_nowait()
                headers = {"Authorization": f"Bearer {self.partners[partner][0]}"}
                started = time.monotonic()
                r = await self.http.post(next(self.bases) + path, json=body, headers=headers)
                latencies.append(time.monotonic() - started)
                if r.status_code != ok:
                    failures.append(f"{r.status_code} {r.text[:300]}")
                answers[i] = r

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.monotonic() - started
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(bodies)} POST {path} failed, first: {failures[0]}")
        return [a for a in answers if a is not None], elapsed, latencies


_engines: dict[str, sa.Engine] = {}


def scalar(url: str, query: str) -> int:
    """One value from the database, on one kept connection (a new one per poll would cost PostgreSQL a backend
    start each time, counted in its CPU)."""
    engine = _engines.get(url) or _engines.setdefault(url, sa.create_engine(url, pool_size=1))
    with engine.connect() as conn:
        return conn.execute(sa.text(query)).scalar_one()


async def wait_provisioned(url: str, timeout: float = 900) -> None:
    """Until no customer of any partner is provisioning (read from the database: one query, every partner)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not scalar(url, "SELECT count(*) FROM customers WHERE status IN ('provisioning', 'updating')"):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("customers still provisioning after the timeout")


def jobs_left(url: str) -> int:
    return scalar(url, "SELECT count(*) FROM dbos.workflow_status WHERE status IN ('PENDING', 'ENQUEUED')")


async def wait_no_jobs(url: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if jobs_left(url) == 0:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("jobs still queued after the timeout")


def customer_bodies(partners: list[tuple[str, str]], tag: str, n: int) -> list[tuple[int, dict]]:
    """Customer i belongs to partner i mod len(partners)."""
    return [
        (
            i % len(partners),
            customer_body(
                partners[i % len(partners)][1],
                f"{tag}-{i}",
                f"Scale {tag} {i}",
                f"admin-{tag}-{i}@scale.example.com",
                PACKAGES,
            ),
        )
        for i in range(n)
    ]


def subscriber_bodies(customers: list[tuple[int, str]], n: int) -> list[tuple[int, dict]]:
    """Subscriber i goes to customer i mod len(customers) (partner, id), created with its partner's token."""
    bodies = []
    for i in range(n):
        calling = i % 2 == 1
        params: dict = {"firstName": "Scale", "lastName": str(i)}
        if calling:
            params["extension"] = str(200000 + i)
        partner, customer_id = customers[i % len(customers)]
        bodies.append(
            (
                partner,
                {
                    "customerId": customer_id,
                    "email": f"sub{i}@scale.example.com",
                    "packages": ["webex_calling" if calling else "webex_meetings"],
                    "provisioningParameters": params,
                },
            )
        )
    return bodies


@dataclass
class Result:
    name: str
    accepted_per_s: float = 0.0
    post_s: float = 0.0
    drain_s: float = 0.0
    drained_per_s: float = 0.0
    jobs_done_s: float = 0.0
    subs_s: float = 0.0
    subs_per_s: float = 0.0
    subs_p50: float = 0.0
    subs_p99: float = 0.0
    cpu_customers: dict = field(default_factory=dict)
    cpu_subs: dict = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    executors: dict = field(default_factory=dict)


class WaitSampler:
    """A diagnostic (--sample-waits): what PostgreSQL's sessions of this database are doing, every 50 ms, from
    pg_stat_activity: active on CPU, or waiting (on a lock, on the client, ...), and on which statement."""

    def __init__(self, url: str):
        self.url = url
        self.counts: Counter = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        engine = sa.create_engine(self.url, pool_size=1)
        query = sa.text(
            "SELECT coalesce(wait_event_type, 'CPU') AS kind, coalesce(wait_event, '') AS event, "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
        )
        with engine.connect() as conn:
            while not self._stop.is_set():
                for kind, event, q in conn.execute(query).all():
                    self.counts[(kind, event, q)] += 1
                self.samples += 1
                conn.commit()
                time.sleep(0.05)
        engine.dispose()

    def __enter__(self) -> "WaitSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, label: str, top: int = 12) -> None:
        print(f"  active PostgreSQL sessions during {label}, mean over {self.samples} samples (what they wait on):")
        for (kind, event, q), n in self.counts.most_common(top):
            print(f"    {n / max(self.samples, 1):5.2f}  {kind}:{event:<16} {q}")


async def measure(top: Topology, pg: Postgres, n_customers: int, n_subs: int, sample_waits: bool = False) -> Result:
    customer_ids: list[str] = []
    res = Result(top.name)
    client = Client(top)
    try:
        # Warm-up: every process has served and run something before the clock starts.
        await client.post_all("/v1/wholesale/customers", customer_bodies(top.partners, "warm", 10), 202)
        await wait_provisioned(top.url)
        await wait_no_jobs(top.url)

        bodies = customer_bodies(top.partners, "c", n_customers)
        before = cpu_of(top, pg)
        started = time.monotonic()
        sampler = WaitSampler(top.url) if sample_waits else contextlib.nullcontext()
        with sampler:
            answers, res.post_s, _ = await client.post_all("/v1/wholesale/customers", bodies, 202)
            await wait_provisioned(top.url)
        res.drain_s = time.monotonic() - started
        if isinstance(sampler, WaitSampler):
            sampler.report("the customer creates and their provisioning")
        await wait_no_jobs(top.url)
        res.jobs_done_s = time.monotonic() - started
        res.cpu_customers = cpu_delta(before, cpu_of(top, pg))
        res.accepted_per_s = n_customers / res.post_s
        res.drained_per_s = n_customers / res.drain_s
        customers = [(p, r.json()["url"].rsplit("/", 1)[1]) for (p, _), r in zip(bodies, answers, strict=True)]
        customer_ids = [cid for _, cid in customers]

        before = cpu_of(top, pg)
        sampler = WaitSampler(top.url) if sample_waits else contextlib.nullcontext()
        with sampler:
            _, res.subs_s, latencies = await client.post_all(
                "/v1/wholesale/subscribers", subscriber_bodies(customers, n_subs), 200
            )
        if isinstance(sampler, WaitSampler):
            sampler.report("the subscriber creates")
        await wait_no_jobs(top.url)
        res.cpu_subs = cpu_delta(before, cpu_of(top, pg))
        res.subs_per_s = n_subs / res.subs_s
        res.subs_p50 = statistics.median(latencies)
        res.subs_p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    finally:
        await client.http.aclose()
    res.checks, res.executors = check(top.url, customer_ids, n_subs)
    return res


def check(url: str, customer_ids: list[str], n_subs: int) -> tuple[list[tuple[str, bool, str]], dict]:
    """Exactly-once and accounting checks, read from the database after everything settled."""
    checks = []
    engine = sa.create_engine(url)
    ids = set(customer_ids)
    with engine.connect() as conn:

        def per_customer(action: str) -> Counter:
            rows = conn.execute(
                sa.text("SELECT subject_id, count(*) FROM audit_events WHERE action = :a GROUP BY subject_id"),
                {"a": action},
            ).all()
            return Counter({s: n for s, n in rows if s in ids})

        screenings = Counter(
            dict(conn.execute(sa.text("SELECT customer_id, count(*) FROM screenings GROUP BY customer_id")).all())
        )
        for action in ("customer.created", "customer.settled", "screening (screenings table)"):
            counts = per_customer(action) if "." in action else screenings
            wrong = {s: counts.get(s, 0) for s in ids if counts.get(s, 0) != 1}
            checks.append(
                (
                    f"one {action} audit row per customer" if "." in action else f"one {action} per customer",
                    not wrong,
                    f"{len(ids) - len(wrong)}/{len(ids)}" + (f"; e.g. {list(wrong.items())[:3]}" if wrong else ""),
                )
            )
        rows = conn.execute(
            sa.text(
                "SELECT workflow_uuid, name, status, executor_id, recovery_attempts, queue_partition_key "
                "FROM dbos.workflow_status"
            )
        ).all()
        mine = [r for r in rows if any(cid in r.workflow_uuid for cid in ids)]
        by_kind: Counter = Counter()
        for r in mine:
            kind = r.workflow_uuid.split(":", 1)[0]
            by_kind[kind] += 1
        per_id_kind = Counter(
            (r.workflow_uuid.split(":", 1)[0], next(c for c in ids if c in r.workflow_uuid)) for r in mine
        )
        twice = {k: n for k, n in per_id_kind.items() if n != 1}
        not_ok = [r for r in mine if r.status != "SUCCESS"]
        recovered = [r for r in mine if (r.recovery_attempts or 0) > 1]
        checks.append(
            (
                "one SUCCESS workflow per customer and kind, none recovered",
                not twice and not not_ok and not recovered,
                f"{dict(by_kind)}; twice {list(twice.items())[:3]}, not SUCCESS {len(not_ok)}, "
                f"recovery_attempts > 1: {len(recovered)}",
            )
        )
        # Batches are keyed by a batch, not a customer: a provisioning batch, and the batch of screenings it asked for.
        batches = [r for r in rows if r.name in ("customers.converge_batch", "compliance.screen_batch")]
        checks.append(
            (
                "every provisioning batch and screening batch SUCCESS, none recovered",
                all(r.status == "SUCCESS" and (r.recovery_attempts or 0) <= 1 for r in batches),
                ", ".join(f"{n} {name}" for name, n in sorted(Counter(r.name for r in batches).items())),
            )
        )
        mine += batches
        executors = Counter(r.executor_id for r in mine)
        # The ledger's units and the caps' counters agree with the live subscribers.
        assigned = {
            (c, p): a
            for c, p, a in conn.execute(sa.text("SELECT customer_id, name, assigned FROM customer_packages")).all()
            if c in ids
        }
        live = Counter(
            (c, p) for c, p in conn.execute(sa.text("SELECT customer_id, package FROM subscribers")).all() if c in ids
        )
        ledger = {
            (c, p): s
            for c, p, s in conn.execute(
                sa.text("SELECT customer_id, package, sum(delta) FROM usage_ledger GROUP BY customer_id, package")
            ).all()
            if c in ids
        }
        subs = conn.execute(
            sa.text("SELECT count(*) FROM subscribers WHERE email LIKE 'sub%@scale.example.com'")
        ).scalar_one()
    engine.dispose()
    mismatch = [k for k in assigned if not (assigned[k] == live.get(k, 0) == ledger.get(k, 0))]
    checks.append(
        (
            "per customer and package: assigned = live subscribers = ledger units",
            not mismatch,
            f"{len(assigned) - len(mismatch)}/{len(assigned)}"
            + (f"; e.g. {[(k, assigned[k], live.get(k), ledger.get(k)) for k in mismatch[:3]]}" if mismatch else ""),
        )
    )
    checks.append((f"{n_subs} subscribers created", subs == n_subs, str(subs)))
    verify = subprocess.run(
        [PY, "-m", "wholesale.cli", "ledger", "verify"], env=env_for(url), capture_output=True, text=True
    )
    checks.append(("wholesale ledger verify", verify.returncode == 0, verify.stdout.strip()))
    return checks, dict(executors)


def per(total: float, n: int) -> str:
    return f"{total / n * 1000:.1f}"


def print_result(r: Result, n_customers: int, n_subs: int) -> None:
    cc, cs = r.cpu_customers, r.cpu_subs
    print(f"\n=== {r.name}")
    print(
        f"customers: {n_customers} POSTs in {r.post_s:.2f} s = {r.accepted_per_s:.1f} accepted/s; all provisioned after "
        f"{r.drain_s:.2f} s = {r.drained_per_s:.1f} drained/s; no job left (screenings done) after {r.jobs_done_s:.2f} s"
    )
    print(
        f"subscribers: {n_subs} single creates in {r.subs_s:.2f} s = {r.subs_per_s:.1f}/s "
        f"(latency p50 {r.subs_p50 * 1000:.0f} ms, p99 {r.subs_p99 * 1000:.0f} ms)"
    )
    print("CPU ms per customer (create + provisioning + screening) | per subscriber, by process:")
    for key in ("api", "worker"):
        for i, (a, b) in enumerate(zip(cc[key], cs[key], strict=True), 1):
            print(f"  {key} {i}: {per(a, n_customers):>7} | {per(b, n_subs):>6}")
        print(f"  {key} total: {per(sum(cc[key]), n_customers):>7} | {per(sum(cs[key]), n_subs):>6}")
    print(f"  postgres: {per(cc['postgres'], n_customers):>7} | {per(cs['postgres'], n_subs):>6}")
    print(f"  client: {per(cc['client'], n_customers):>7} | {per(cs['client'], n_subs):>6}")
    span_c, span_s = r.jobs_done_s, r.subs_s
    busy_c = (sum(cc["api"]) + sum(cc["worker"]) + cc["postgres"] + cc["client"]) / span_c
    busy_s = (sum(cs["api"]) + sum(cs["worker"]) + cs["postgres"] + cs["client"]) / span_s
    print(f"  cores busy (all processes): customers phase {busy_c:.2f}, subscribers phase {busy_s:.2f} of 2")
    print(f"workflows run per worker: {r.executors}")
    for name, ok, detail in r.checks:
        print(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument(
        "--partners", type=int, default=1, help="spread customers over this many partners (default 1: the demo's)"
    )
    parser.add_argument(
        "--sample-waits", action="store_true", help="diagnostic: sample pg_stat_activity's wait events per phase"
    )
    parser.add_argument("--order", default="1,2", help="topologies to run, N meaning N API + N workers (default 1,2)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.order.split(",")]
    pg = Postgres.start()
    tmp = Path(__import__("tempfile").mkdtemp(prefix="wholesale-scale-"))
    print(
        f"scale-out: PostgreSQL {sa.make_url(pg.url).render_as_string()} ({'throw-away cluster, fsync off' if pg.pg_dir else 'given'}), "
        f"{args.customers} customers of {args.partners} partner(s), {args.subscribers} subscribers, {CLIENTS} client connections, order {args.order}; "
        f"load {loadavg()}",
        flush=True,
    )
    results: list[Result] = []
    try:
        for n in sizes:
            top = Topology(n, n)
            try:
                start_topology(top, pg, tmp, args.partners)
                print(f"--- {top.name}: running", flush=True)
                results.append(await measure(top, pg, args.customers, args.subscribers, args.sample_waits))
            finally:
                stop_topology(top)
            print_result(results[-1], args.customers, args.subscribers)
            print(f"  load after: {loadavg()}", flush=True)
    finally:
        pg.stop()
        print(f"logs: {tmp}")
    print("\n=== summary (ratio = this topology / the first 1+1 of the run)")
    base = next((r for r in results if r.name.startswith("1 ")), results[0])
    print(f"{'topology':<20} {'accepted/s':>10} {'drained/s':>10} {'subs/s':>8}   ratios")
    for r in results:
        print(
            f"{r.name:<20} {r.accepted_per_s:>10.1f} {r.drained_per_s:>10.1f} {r.subs_per_s:>8.1f}   "
            f"{r.accepted_per_s / base.accepted_per_s:.2f} / {r.drained_per_s / base.drained_per_s:.2f} / "
            f"{r.subs_per_s / base.subs_per_s:.2f}"
        )
    all_ok = all(ok for r in results for _, ok, _ in r.checks)
    print(f"checks: {'all PASS' if all_ok else 'FAILURES above'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(asyncio.run(main()))
