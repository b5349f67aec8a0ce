"""Soak (issue 16): a fresh `wholesale serve` (API and in-process workers) on SQLite, or with --postgres on a
throw-away PostgreSQL, takes a fixed-rate mix of reads and writes from one open-loop client on loopback for a
bounded time, then stops by itself and waits for everything to settle.

    .venv/bin/python bench/soak.py                       # 1 min warm-up + 10 min measured, 20 req/s, SQLite
    .venv/bin/python bench/soak.py --minutes 2 --warmup 0.5 [--rate 20] [--postgres] [--seed N]

Open loop: request k is sent at start + k / rate whether or not earlier ones have answered, and its latency is
counted from that scheduled moment (a slow server cannot slow the client down and hide its own slowness). Each
request is drawn at its moment from a weighted mix over what the client knows exists: customer creates, updates
(new externalId), deletes; subscriber creates, package changes, deletes; customer and subscriber gets and lists,
customer prechecks, event feed reads following the cursor; a bulk import of 50 rows every 30 s, whose status is
then read until completed. The pools are held steady (about 30 customers, 400 subscribers) so the working set does
not grow, while the history (audit rows, events, ledger, job records) does, as it would in production.

Reported: error rate (a status other than the one the client expects for what it asked, any 5xx, a timeout or
connection error, a customer that settles anything but `provisioned`, a bulk row that fails), p50/p99 per route
(from the scheduled moment, measured period only), the server's RSS (start = at the end of the warm-up, end = at
the end of the load, peak during the measured period, and VmHWM), its open file descriptors, threads, CPU, the
SQLite WAL file (or the PostgreSQL database size) at start and end, and whether everything settled: no customer
in transit, no bulk import unfinished, no DBOS workflow PENDING/ENQUEUED, every workflow SUCCESS, the server's
customers and subscribers the client's, `wholesale ledger verify` clean. Goals: error rate 0, RSS growth < 10 %.
Exit 1 when an error or an unsettled check was seen.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from common import PY, customer_body, demo, env_for, exit_on_sigterm, free_port, fresh_sqlite, stop
from procs import Postgres, cpu_seconds, database_size_mb, launch, open_fds, pct, rss_mb, threads, wait_ready

PACKAGES = ["webex_meetings", "webex_calling"]
SETTLED_OK = "provisioned"
IN_TRANSIT = ("provisioning", "updating", "deleting")


@dataclass
class Customer:
    id: str
    state: str  # creating | ready | updating | deleting | gone
    busy: int = 0  # requests in flight that need the customer to stay (subscriber writes, bulk imports)
    subscribers: set[str] = field(default_factory=set)


@dataclass
class Subscriber:
    id: str
    customer: str
    package: str
    busy: bool = False


class Driver:
    """The client: chooses each request from what it knows, checks the answer, keeps the pools."""

    def __init__(
        self, base: str, token: str, template: str, rng: random.Random, target_customers: int, target_subs: int
    ):
        self.base = base
        self.template = template
        self.rng = rng
        self.target_customers = target_customers
        self.target_subs = target_subs
        self.headers = {"Authorization": f"Bearer {token}"}
        self.customers: dict[str, Customer] = {}
        self.subscribers: dict[str, Subscriber] = {}
        self.bulks: dict[str, tuple[str, dict[str, str]]] = {}  # url -> (customer id, email -> package) until completed
        self.cursor: str | None = None
        self.n = 0  # unique numbers for emails, externalIds and extensions
        self.run = rng.randrange(16**6)
        # (route, seconds since the start it was due, latency, ok, status)
        self.samples: list[tuple[str, float, float, bool, int]] = []
        self.errors: list[str] = []
        self.started = 0.0
        self.creating_posts = 0  # customer creates sent but not yet answered

    # ----------------------------------------------------------------------------------------- helpers
    def next_n(self) -> int:
        self.n += 1
        return self.n

    def forget(self, cust: Customer) -> None:
        """A customer is gone (404 after its deletion): so are its subscribers."""
        for sid in cust.subscribers:
            self.subscribers.pop(sid, None)
        self.customers.pop(cust.id, None)

    def live(self, *states: str) -> list[Customer]:
        return [c for c in self.customers.values() if c.state in states]

    def error(self, message: str) -> None:
        self.errors.append(message)
        if len(self.errors) <= 20:
            print(f"  error: {message}", flush=True)

    async def call(
        self, client: httpx.AsyncClient, route: str, due: float, method: str, path: str, expected: tuple[int, ...], **kw
    ) -> httpx.Response | None:
        """Send one request, time it from its scheduled moment, record whether its status was expected."""
        try:
            r = await client.request(method, self.base + path, headers=self.headers, **kw)
        except httpx.HTTPError as exc:
            latency = time.monotonic() - due
            self.samples.append((route, due - self.started, latency, False, 0))
            self.error(f"{route}: {type(exc).__name__} after {latency:.1f} s")
            return None
        latency = time.monotonic() - due
        ok = r.status_code in expected
        self.samples.append((route, due - self.started, latency, ok, r.status_code))
        if not ok:
            self.error(f"{route}: {r.status_code} (expected {expected}) {r.text[:300]}")
            return None
        return r

    # ----------------------------------------------------------------------------------------- the mix
    def choose(self):
        """The next request, drawn from weights that keep the pools near their targets."""
        ready = self.live("ready", "updating")
        idle_ready = [c for c in self.live("ready") if c.busy == 0]
        n_live = len(self.live("creating", "ready", "updating"))
        subs_free = [
            s
            for s in self.subscribers.values()
            if not s.busy and s.customer in self.customers and self.customers[s.customer].state in ("ready", "updating")
        ]
        weights = {
            "customer.create": 0.8,
            "customer.update": 0.6 if idle_ready else 0,
            "customer.delete": (0.8 * n_live / self.target_customers) if idle_ready else 0,
            "customer.get": 3.0 if self.customers else 0,
            "customer.list": 1.5,
            "customer.validate": 0.5,
            "subscriber.create": 3.0 if ready else 0,
            "subscriber.update": 1.5 if subs_free else 0,
            "subscriber.delete": (3.0 * len(self.subscribers) / self.target_subs) if subs_free else 0,
            "subscriber.get": 2.0 if subs_free else 0,
            "subscriber.list": 1.5 if ready else 0,
            "events.read": 1.5,
            "bulk.get": 1.0 if self.bulks else 0,
        }
        names = [k for k, w in weights.items() if w > 0]
        op = self.rng.choices(names, [weights[k] for k in names])[0]
        return getattr(self, op.replace(".", "_"))(ready, idle_ready, subs_free)

    # Each op picks its target now (synchronously, so the next draw sees the change) and returns a coroutine.
    def customer_create(self, *_):
        n = self.next_n()
        body = customer_body(
            self.template,
            f"soak-{self.run}-{n}",
            f"Soak Customer {n}",
            f"admin{n}-{self.run}@soak.example.com",
            PACKAGES,
        )
        self.creating_posts += 1

        async def go(c, due):
            r = await self.call(c, "POST /customers", due, "POST", "/v1/wholesale/customers", (202,), json=body)
            self.creating_posts -= 1
            if r is not None:
                cid = r.json()["url"].rsplit("/", 1)[1]
                self.customers[cid] = Customer(cid, "creating")

        return go

    def customer_update(self, ready, idle_ready, subs_free):
        cust = self.rng.choice(idle_ready)
        cust.state = "updating"
        body = {"packages": PACKAGES, "externalId": f"soak-{self.run}-{self.next_n()}"}

        async def go(c, due):
            r = await self.call(
                c, "PUT /customers/{id}", due, "PUT", f"/v1/wholesale/customers/{cust.id}", (202,), json=body
            )
            if r is None:
                cust.state = "ready"

        return go

    def customer_delete(self, ready, idle_ready, subs_free):
        cust = self.rng.choice(idle_ready)
        cust.state = "deleting"  # from now on nothing else is sent for it but gets

        async def go(c, due):
            r = await self.call(
                c, "DELETE /customers/{id}", due, "DELETE", f"/v1/wholesale/customers/{cust.id}", (202,)
            )
            if r is not None:
                for sid in cust.subscribers:
                    self.subscribers.pop(sid, None)
                cust.subscribers.clear()

        return go

    def customer_get(self, *_):
        # Customers in transit first (that is how the client learns they settled), else any.
        moving = self.live("creating", "updating", "deleting")
        cust = self.rng.choice(moving or list(self.customers.values()))
        state_at_send = cust.state

        async def go(c, due):
            expected = (200, 404) if state_at_send in ("deleting", "gone") else (200,)
            r = await self.call(c, "GET /customers/{id}", due, "GET", f"/v1/wholesale/customers/{cust.id}", expected)
            if r is None:
                return
            if r.status_code == 404:
                cust.state = "gone"
                self.forget(cust)
                return
            status = r.json()["status"]
            if cust.state in ("creating", "updating") and status not in IN_TRANSIT:
                if status != SETTLED_OK:
                    self.error(f"customer {cust.id} settled {status}: {json.dumps(r.json())[:300]}")
                cust.state = "ready"

        return go

    def customer_list(self, *_):
        async def go(c, due):
            await self.call(c, "GET /customers", due, "GET", "/v1/wholesale/customers?max=20", (200,))

        return go

    def customer_validate(self, *_):
        n = self.next_n()
        body = customer_body(
            self.template,
            f"precheck-{self.run}-{n}",
            f"Precheck {n}",
            f"precheck{n}-{self.run}@soak.example.com",
            PACKAGES,
        )

        async def go(c, due):
            await self.call(
                c, "POST /customers/validate", due, "POST", "/v1/wholesale/customers/validate", (200,), json=body
            )

        return go

    def _calling_params(self, package: str) -> dict:
        return {"extension": str(100000 + self.next_n())} if package == "webex_calling" else {}

    def subscriber_create(self, ready, *_):
        cust = self.rng.choice(ready)
        n = self.next_n()
        package = self.rng.choice(PACKAGES)
        body = {
            "customerId": cust.id,
            "email": f"user{n}-{self.run}@soak.example.com",
            "packages": [package],
            "provisioningParameters": {"firstName": "Soak", "lastName": f"User {n}", **self._calling_params(package)},
        }
        cust.busy += 1

        async def go(c, due):
            r = await self.call(c, "POST /subscribers", due, "POST", "/v1/wholesale/subscribers", (200,), json=body)
            cust.busy -= 1
            if r is not None:
                sid = r.json()["id"]
                self.subscribers[sid] = Subscriber(sid, cust.id, package)
                cust.subscribers.add(sid)

        return go

    def subscriber_update(self, ready, idle_ready, subs_free):
        sub = self.rng.choice(subs_free)
        cust = self.customers[sub.customer]
        new = "webex_meetings" if sub.package == "webex_calling" else "webex_calling"
        body: dict = {"packages": [new]}
        if new == "webex_calling":
            body["provisioningParameters"] = self._calling_params(new)
        sub.busy = True
        cust.busy += 1

        async def go(c, due):
            r = await self.call(
                c, "PUT /subscribers/{id}", due, "PUT", f"/v1/wholesale/subscribers/{sub.id}", (200,), json=body
            )
            sub.busy = False
            cust.busy -= 1
            if r is not None:
                sub.package = new

        return go

    def subscriber_delete(self, ready, idle_ready, subs_free):
        sub = self.rng.choice(subs_free)
        cust = self.customers[sub.customer]
        sub.busy = True
        cust.busy += 1

        async def go(c, due):
            r = await self.call(
                c, "DELETE /subscribers/{id}", due, "DELETE", f"/v1/wholesale/subscribers/{sub.id}", (204,)
            )
            cust.busy -= 1
            sub.busy = False
            if r is not None:
                self.subscribers.pop(sub.id, None)
                cust.subscribers.discard(sub.id)

        return go

    def subscriber_get(self, ready, idle_ready, subs_free):
        # Only subscribers of customers that stay: a customer is deleted only when no request for it is in flight.
        sub = self.rng.choice(subs_free)
        cust = self.customers[sub.customer]
        cust.busy += 1

        async def go(c, due):
            await self.call(c, "GET /subscribers/{id}", due, "GET", f"/v1/wholesale/subscribers/{sub.id}", (200,))
            cust.busy -= 1

        return go

    def subscriber_list(self, ready, *_):
        cust = self.rng.choice(ready)
        cust.busy += 1

        async def go(c, due):
            path = f"/v1/wholesale/subscribers?customerId={cust.id}&max=20"
            await self.call(c, "GET /subscribers", due, "GET", path, (200,))
            cust.busy -= 1

        return go

    def events_read(self, *_):
        async def go(c, due):
            path = "/v1/wholesale/events?max=100" + (f"&after={self.cursor}" if self.cursor else "")
            r = await self.call(c, "GET /events", due, "GET", path, (200,))
            if r is not None:
                self.cursor = r.json()["cursor"]

        return go

    def bulk_get(self, *_):
        url = self.rng.choice(list(self.bulks))

        async def go(c, due):
            r = await self.call(c, "GET /subscribers/bulk/{id}", due, "GET", url.removeprefix(self.base), (200,))
            if r is not None:
                self.bulk_seen(url, r.json())

        return go

    def bulk_seen(self, url: str, job: dict) -> None:
        """A bulk import read: once completed, its subscribers join the pool and its customer may go."""
        if job["status"] != "completed" or url not in self.bulks:
            return
        cid, packages = self.bulks.pop(url)
        cust = self.customers[cid]
        cust.busy -= 1
        if job["failed"]:
            bad = [x for x in job["results"] if x["status"] == "error"][:2]
            self.error(f"bulk {url}: {job['failed']} row(s) failed: {bad}")
        for row in job["results"]:
            if row.get("subscriberId") and row["status"] == "provisioned":
                sid = row["subscriberId"]
                self.subscribers[sid] = Subscriber(sid, cid, packages[row["email"]])
                cust.subscribers.add(sid)

    def bulk_post(self, rows: int):
        ready = self.live("ready", "updating")
        if not ready:
            return None
        cust = self.rng.choice(ready)
        body_rows = []
        packages = {}
        for _ in range(rows):
            n = self.next_n()
            package = self.rng.choice(PACKAGES)
            email = f"bulk{n}-{self.run}@soak.example.com"
            packages[email] = package
            body_rows.append(
                {
                    "email": email,
                    "firstName": "Bulk",
                    "lastName": str(n),
                    "package": package,
                    **self._calling_params(package),
                }
            )
        cust.busy += 1

        async def go(c, due):
            r = await self.call(
                c,
                "POST /subscribers/bulk",
                due,
                "POST",
                "/v1/wholesale/subscribers/bulk",
                (202,),
                json={"customerId": cust.id, "rows": body_rows},
            )
            if r is None:
                cust.busy -= 1
            else:
                self.bulks[r.headers["location"]] = (cust.id, packages)

        return go


class Sampler:
    """The server's process figures every `every` seconds."""

    def __init__(self, pid: int, wal: Path | None, pg_url: str, every: float = 2.0):
        self.pid, self.wal, self.pg_url, self.every = pid, wal, pg_url, every
        self.rows: list[dict] = []

    def sample(self, at: float) -> dict:
        rss, hwm = rss_mb(self.pid)
        row = {
            "t": at,
            "rss": rss,
            "hwm": hwm,
            "fds": open_fds(self.pid),
            "threads": threads(self.pid),
            "cpu": cpu_seconds(self.pid),
        }
        if self.wal is not None:
            row["wal"] = self.wal.stat().st_size / 2**20 if self.wal.exists() else 0.0
            row["db"] = self.wal.with_name(self.wal.name.removesuffix("-wal")).stat().st_size / 2**20
        self.rows.append(row)
        return row

    async def run(self, started: float, stop_event: asyncio.Event) -> None:
        while not stop_event.is_set():
            self.sample(time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), self.every)


def workflow_counts(url: str) -> dict[str, int]:
    """DBOS workflow_status rows by status."""
    engine = sa.create_engine(url)
    table = "workflow_status" if url.startswith("sqlite") else "dbos.workflow_status"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT status, count(*) FROM {table} GROUP BY status")).all()
    engine.dispose()
    return dict(rows)


async def settle(
    d: Driver, client: httpx.AsyncClient, url: str, timeout: float, started: float
) -> tuple[bool, float, list[str]]:
    """After the load: wait until nothing is in transit (seconds since `started`); then compare the server's state
    with the client's."""
    problems: list[str] = []
    base, h = d.base, d.headers
    while time.monotonic() - started < timeout:
        moving = (
            await client.get(f"{base}/v1/wholesale/customers?status=provisioning,updating,deleting&max=1", headers=h)
        ).json()["items"]
        bulks_open = []
        for bulk_url in list(d.bulks):
            job = (await client.get(bulk_url, headers=h)).json()
            if job["status"] != "completed":
                bulks_open.append(bulk_url)
        counts = workflow_counts(url)
        if not moving and not bulks_open and not counts.get("PENDING") and not counts.get("ENQUEUED"):
            break
        await asyncio.sleep(0.5)
    else:
        problems.append(f"not settled after {timeout:.0f} s: workflows {workflow_counts(url)}")
    took = time.monotonic() - started
    counts = workflow_counts(url)
    if set(counts) - {"SUCCESS"}:
        problems.append(f"workflows not all SUCCESS: {counts}")
    # The server's customers and subscribers are the client's (the client learns deletions by reading them).
    server_customers: dict[str, str] = {}
    next_url: str | None = f"{base}/v1/wholesale/customers?max=100"
    while next_url:
        r = await client.get(next_url, headers=h)
        for item in r.json()["items"]:
            server_customers[item["id"]] = item["status"]
        link = r.headers.get("link")
        next_url = link[1 : link.index(">")] if link and 'rel="next"' in link else None
    client_customers = {cid for cid, c in d.customers.items() if c.state != "deleting"}
    if set(server_customers) != client_customers:
        problems.append(
            f"customers differ: server only {sorted(set(server_customers) - client_customers)[:5]}, "
            f"client only {sorted(client_customers - set(server_customers))[:5]}"
        )
    bad_status = {cid: s for cid, s in server_customers.items() if s != SETTLED_OK}
    if bad_status:
        problems.append(f"customers not provisioned: {bad_status}")
    server_subs = set()
    for cid in server_customers:
        next_url = f"{base}/v1/wholesale/subscribers?customerId={cid}&max=100"
        while next_url:
            r = await client.get(next_url, headers=h)
            server_subs |= {item["id"] for item in r.json()["items"] if item["email"].startswith(("user", "bulk"))}
            link = r.headers.get("link")
            next_url = link[1 : link.index(">")] if link and 'rel="next"' in link else None
    client_subs = {sid for sid, s in d.subscribers.items() if s.customer in server_customers}
    if server_subs != client_subs:
        problems.append(
            f"subscribers differ: server only {len(server_subs - client_subs)}, client only {len(client_subs - server_subs)}"
        )
    verify = subprocess.run(
        [PY, "-m", "wholesale.cli", "ledger", "verify"], env=env_for(url), capture_output=True, text=True
    )
    if verify.returncode != 0:
        problems.append(f"ledger verify: {verify.stdout.strip()} {verify.stderr.strip()[:300]}")
    return not problems, took, problems


async def soak(args: argparse.Namespace) -> int:
    pg = Postgres.start() if args.postgres else None
    try:
        if pg:
            url, tmp = pg.fresh_database("wholesale_soak"), fresh_sqlite()[1]
            wal = None
        else:
            url, tmp = fresh_sqlite()
            wal = Path(url.removeprefix("sqlite:///") + "-wal")
        seeded = demo(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp / "serve.log"
        # Production settings: the default rate limit (6,000 per token per minute), request logs at INFO.
        command, extra = [PY, "-m", "wholesale.cli"], {}
        if args.trace_memory:
            Path(args.trace_memory).mkdir(parents=True, exist_ok=True)
            command = [PY, str(Path(__file__).with_name("traced_serve.py"))]
            extra = {"SOAK_TRACE_DIR": args.trace_memory, "SOAK_TRACE_FRAMES": str(args.trace_frames)}
        extra |= dict(kv.split("=", 1) for kv in args.server_env)
        server = launch([*command, "serve", "--port", str(port)], url, log, WHOLESALE_LOG_LEVEL="INFO", **extra)
        wait_ready(server, port)
        try:
            return await drive(args, url, base, seeded, server.pid, wal, log)
        finally:
            stop(server)
            print(f"server log: {log}")
    finally:
        if pg:
            pg.stop()


async def drive(args, url: str, base: str, seeded: dict, pid: int, wal: Path | None, log: Path) -> int:
    rng = random.Random(args.seed)
    d = Driver(
        base,
        seeded["partner-admin token"],
        seeded["customer template (provisioningId)"],
        rng,
        args.customers,
        args.subscribers,
    )
    warmup, total = args.warmup * 60, (args.warmup + args.minutes) * 60
    requests = int(total * args.rate)
    print(
        f"soak: {'PostgreSQL' if args.postgres else 'SQLite'}, {args.rate:g} req/s open loop, warm-up {warmup:.0f} s + measured {args.minutes * 60:.0f} s "
        f"({requests} requests), seed {args.seed}, server pid {pid}",
        flush=True,
    )
    sampler = Sampler(pid, wal, "" if wal else url)
    stop_sampling = asyncio.Event()
    # Idle connections are dropped after 2 s, before uvicorn's 5 s keep-alive timeout closes them from its side: with
    # equal timeouts a request sent on a connection the server is closing fails (ReadError), a client-side race.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0)
    tasks: set[asyncio.Task] = set()
    async with httpx.AsyncClient(limits=limits, timeout=args.timeout) as client:
        d.started = time.monotonic()
        sampler_task = asyncio.create_task(sampler.run(d.started, stop_sampling))
        next_bulk = 15.0
        lag_max = 0.0
        traced = False
        report_at = 30.0
        for k in range(requests):
            due = d.started + k / args.rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                lag_max = max(lag_max, now - due)
                await asyncio.sleep(0)  # behind schedule: still let the requests in flight progress
            elapsed = due - d.started
            if args.trace_memory and not traced and elapsed >= warmup:
                traced = True
                os.kill(pid, signal.SIGUSR1)  # tracemalloc snapshot 1: the start
            if len(tasks) >= args.max_in_flight:
                # The server has fallen this far behind: sending more would only queue them in the client.
                d.samples.append(("(not sent: client backlog)", elapsed, 0.0, False, 0))
                d.error(f"request due at {elapsed:.1f} s not sent: {len(tasks)} requests in flight")
                continue
            go = None
            if elapsed >= next_bulk:
                next_bulk += args.bulk_every
                go = d.bulk_post(args.bulk_rows)
            if go is None:
                go = d.choose()
            task = asyncio.create_task(go(client, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if elapsed >= report_at:
                report_at += 60
                last = sampler.rows[-1] if sampler.rows else {}
                recent = [s for s in d.samples if s[1] >= elapsed - 30]
                print(
                    f"  {elapsed:5.0f} s: {len(d.samples)} answered, {len(d.errors)} errors, in flight {len(tasks)}, "
                    f"customers {len(d.live('creating', 'ready', 'updating'))}, subscribers {len(d.subscribers)}, "
                    f"p99 last 30 s {pct([s[2] for s in recent], 99) * 1000:.0f} ms, RSS {last.get('rss', 0):.1f} MiB, "
                    f"fds {last.get('fds', 0)}" + (f", WAL {last.get('wal', 0):.1f} MiB" if wal else ""),
                    flush=True,
                )
        load_end = time.monotonic() - d.started
        end_row = sampler.sample(load_end)
        if args.trace_memory:
            os.kill(pid, signal.SIGUSR1)  # tracemalloc snapshot 2: the end
        if tasks:
            await asyncio.wait(tasks, timeout=args.timeout + 5)
        last_answer = time.monotonic()
        stop_sampling.set()
        await sampler_task
        # Keep reading until the customers in transit are known settled, so the client's state is complete.
        deadline = time.monotonic() + args.settle_timeout
        while d.live("creating", "updating", "deleting") and time.monotonic() < deadline:
            for cust in list(d.live("creating", "updating", "deleting")):
                r = await client.get(f"{base}/v1/wholesale/customers/{cust.id}", headers=d.headers)
                if r.status_code == 404 and cust.state == "deleting":
                    d.forget(cust)
                elif (
                    r.status_code == 200
                    and r.json()["status"] not in IN_TRANSIT
                    and cust.state in ("creating", "updating")
                ):
                    if r.json()["status"] != SETTLED_OK:
                        d.error(f"customer {cust.id} settled {r.json()['status']}")
                    cust.state = "ready"
            await asyncio.sleep(0.5)
        while d.bulks and time.monotonic() < deadline:
            for bulk_url in list(d.bulks):
                d.bulk_seen(bulk_url, (await client.get(bulk_url, headers=d.headers)).json())
            await asyncio.sleep(0.5)
        settled, settle_s, problems = await settle(d, client, url, args.settle_timeout, last_answer)
        after = sampler.sample(time.monotonic() - d.started)
    return report(args, d, sampler, warmup, load_end, end_row, after, settled, settle_s, problems, lag_max, wal, url)


def report(args, d, sampler, warmup, load_end, end_row, after, settled, settle_s, problems, lag_max, wal, url) -> int:
    measured = [s for s in d.samples if s[1] >= warmup]
    total = len(d.samples)
    bad = [s for s in d.samples if not s[3]]
    five = [s for s in d.samples if s[4] >= 500]
    print(
        f"\nrequests answered: {total} ({total / load_end:.1f}/s over {load_end:.0f} s), scheduling lag max {lag_max * 1000:.0f} ms"
    )
    print(
        f"errors: {len(d.errors)} ({len(bad)} unexpected statuses or failed requests, {len(five)} 5xx, "
        f"{len(d.errors) - len(bad)} other: a customer not provisioned, a bulk row failed); error rate {len(d.errors) / max(total, 1):.4%}"
    )
    by_route: dict[str, list[float]] = defaultdict(list)
    for route, _, latency, _, _ in measured:
        by_route[route].append(latency)
    print(f"\nlatency from the scheduled moment, measured period ({len(measured)} requests):")
    print(f"  {'route':<28} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for route in sorted(by_route):
        v = by_route[route]
        print(f"  {route:<28} {len(v):>6} {pct(v, 50) * 1000:>8.1f} {pct(v, 99) * 1000:>8.1f} {max(v) * 1000:>8.1f}")
    allv = [s[2] for s in measured]
    print(
        f"  {'all':<28} {len(allv):>6} {pct(allv, 50) * 1000:>8.1f} {pct(allv, 99) * 1000:>8.1f} {max(allv) * 1000:>8.1f}"
    )

    rows = sampler.rows
    start_row = min((r for r in rows if r["t"] >= warmup), key=lambda r: r["t"] - warmup)
    first = rows[0]
    window = [r for r in rows if warmup <= r["t"] <= load_end]
    peak = max(r["rss"] for r in window)
    growth = (end_row["rss"] - start_row["rss"]) / start_row["rss"]
    # Least-squares slope of RSS over the measured period: growth that a lucky end sample could hide.
    ts, vs = [r["t"] for r in window], [r["rss"] for r in window]
    mt, mv = sum(ts) / len(ts), sum(vs) / len(vs)
    slope = (
        sum((t - mt) * (v - mv) for t, v in zip(ts, vs, strict=False)) / max(sum((t - mt) ** 2 for t in ts), 1e-9) * 60
    )
    cpu = end_row["cpu"] - start_row["cpu"]
    span = end_row["t"] - start_row["t"]
    print("\nserver process (RSS start = at the end of the warm-up, end = at the end of the load):")
    print(
        f"  RSS: ready {first['rss']:.1f} MiB, start {start_row['rss']:.1f} MiB, end {end_row['rss']:.1f} MiB, "
        f"peak {peak:.1f} MiB (VmHWM {end_row['hwm']:.1f}), after settling {after['rss']:.1f} MiB"
    )
    print(
        f"  RSS growth start -> end: {growth:+.1%} (goal < 10 %); trend over the measured period {slope:+.2f} MiB/min"
    )
    print(
        f"  open fds: ready {first['fds']}, start {start_row['fds']}, end {end_row['fds']}, max {max(r['fds'] for r in window)}, after settling {after['fds']}"
    )
    print(f"  threads: start {start_row['threads']}, end {end_row['threads']}, after settling {after['threads']}")
    print(f"  CPU during the measured period: {cpu:.1f} s ({cpu / span:.0%} of a core)")
    if wal is not None:
        print(
            f"  SQLite WAL: ready {first['wal']:.2f} MiB, start {start_row['wal']:.2f} MiB, end {end_row['wal']:.2f} MiB, "
            f"max {max(r['wal'] for r in window):.2f} MiB, after settling {after['wal']:.2f} MiB; "
            f"database file {start_row['db']:.1f} -> {after['db']:.1f} MiB"
        )
    else:
        print(f"  PostgreSQL database size after settling: {database_size_mb(url):.1f} MiB")
    print(
        f"\nsettled: {'yes' if settled else 'NO'} ({settle_s:.1f} s after the last answer); "
        f"customers {len(d.live('ready'))}, subscribers {len(d.subscribers)}, workflows {workflow_counts(url)}"
    )
    for p in problems:
        print(f"  {p}")
    if args.samples:
        Path(args.samples).write_text(json.dumps({"rss": rows, "requests": d.samples}))
    if args.trace_memory:
        compare_snapshots(Path(args.trace_memory))
    ok = not d.errors and settled
    print(
        f"\nresult: {'PASS' if ok and growth < 0.10 else 'FAIL'} (error rate 0: {'yes' if not d.errors else 'no'}, "
        f"RSS growth < 10 %: {'yes' if growth < 0.10 else 'no'}, settled: {'yes' if settled else 'no'})"
    )
    return 0 if ok and growth < 0.10 else 1


def compare_snapshots(folder: Path, top: int = 25) -> None:
    """What the Python heap gained between the start and end snapshots, by allocating traceback."""
    import tracemalloc

    for _ in range(120):
        if (folder / "stats-2.json").exists():
            break
        time.sleep(1)
    s1, s2 = (json.loads((folder / f"stats-{n}.json").read_text()) for n in (1, 2))
    print(
        f"\ntracemalloc from the start (after gc): {s2['traced'] / 2**20:.1f} MiB allocated since and still alive, "
        f"gc objects {s1['gc_objects']} -> {s2['gc_objects']}"
    )
    for key in ("sqlite_memory_used", "malloc_in_use", "malloc_free", "malloc_mmap", "malloc_arena"):
        if key in s1:
            print(f"  {key}: {s1[key] / 2**20:.1f} -> {s2[key] / 2**20:.1f} MiB")
    print(f"  pools: {s1['pools']} -> {s2['pools']}")
    if not (folder / "snapshot-2.pickle").exists():
        return
    last = tracemalloc.Snapshot.load(str(folder / "snapshot-2.pickle"))
    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]
    stats = last.filter_traces(filters).statistics("traceback")
    print(f"  top {top} live allocations made since the start, by traceback:")
    for stat in stats[:top]:
        print(f"  {stat.size / 1024:+9.1f} KiB {stat.count:+7d} blocks")
        for line in stat.traceback.format(limit=6, most_recent_first=True):
            print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="measured load after the warm-up (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="warm-up minutes before RSS start is taken (default 1)"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, open loop (default 20)")
    parser.add_argument("--customers", type=int, default=30, help="customers the mix keeps alive (default 30)")
    parser.add_argument("--subscribers", type=int, default=400, help="subscribers the mix keeps alive (default 400)")
    parser.add_argument("--bulk-every", type=float, default=30.0, help="seconds between bulk imports (default 30)")
    parser.add_argument("--bulk-rows", type=int, default=50)
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=200,
        help="requests in flight beyond which one due is counted an error, not sent",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="a request unanswered this long is an error")
    parser.add_argument("--settle-timeout", type=float, default=180.0)
    parser.add_argument("--postgres", action="store_true", help="on a throw-away PostgreSQL (scripts/pg.sh)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--trace-memory",
        metavar="DIR",
        help="a trial: trace the server's allocations from the start (end of the warm-up) to the end of the load "
        "(slower) and print what is still alive by traceback (bench/traced_serve.py)",
    )
    parser.add_argument("--trace-frames", type=int, default=12, help="0: only SQLite's and malloc's figures")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="KEY=VALUE", help="an extra variable for the server"
    )
    parser.add_argument("--samples", help="write the RSS samples and every request's figures to this JSON file")
    args = parser.parse_args()
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    exit_on_sigterm()
    main()
