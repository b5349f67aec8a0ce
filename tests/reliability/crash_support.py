"""The crash harness of issue 16: real `wholesale` processes under a burst of customer and subscriber creates
(single API creates and bulk imports) from concurrent clients, SIGKILLed at a seeded random moment, restarted; then
every invariant the burst must keep is checked. `tests/reliability/test_crash.py` runs it once, small;
`bench/crash.py` runs it long.

One run (`run(Config(...))`):
1. A fresh database (SQLite, or a new PostgreSQL database), migrated and seeded with the demo partner.
2. The processes: `wholesale serve` on SQLite; on PostgreSQL two `wholesale serve --no-workers` (clients spread
   over both ports, a refused connection goes to the other one, as behind a load balancer) and two `wholesale
   worker` (each its own WHOLESALE_EXECUTOR_ID).
3. The plan, from the seed: customers (meetings, or meetings and calling; some with a meetings cap, R8), and
   subscribers spread over them, half single creates, half in bulk imports of varying size (some over one chunk).
   Every create carries its own Idempotency-Key. A customer's subscribers are sent once it reads provisioned.
4. The kills (`KillPlan`, from the seed). The API process (SQLite: `serve`, which runs the jobs too) gets SIGKILL
   when so many requests were answered ("answered": mid-request), or then once a bulk import runs ("mid-batch",
   SQLite), or it SIGKILLs itself right after committing its Nth create, before answering it ("after-commit",
   `LAUNCHER`). On PostgreSQL one worker is also killed while it runs a bulk import (mid-batch). Each stays down a
   seeded while and restarts (a worker with its executor id, so it recovers its workflows). A refused connection
   is sent again when a server is up (it never arrived); a request sent but never answered (the kill dropped it)
   is recorded as unanswered and not sent again yet.
5. Settle: every customer terminal, every bulk import completed, no customer/bulk/screening workflow pending.
6. The unanswered requests are checked not to be half-made (absent, or whole), then sent again with the same key
   and body; the retry must converge (the same resource when it existed, a new one when it did not, never two).
7. Settle again. Replay probe: 150 creates answered 2xx (the last 30 before the kill among them) are sent again with
   their keys, 64 at once to one API process: each must be a replay of its answer.
8. The invariants (`check`), each PASS or FAIL with what broke it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

import processes
from helpers import wait_for
from wholesale.db.session import normalise_url

CUSTOMERS = "/v1/wholesale/customers"
SUBSCRIBERS = "/v1/wholesale/subscribers"
BULK = "/v1/wholesale/subscribers/bulk"
EVENTS = "/v1/wholesale/events"
SETTLED = ("provisioned", "provisioned_with_errors", "error")
CAP_REACHED = 409500  # R8: the refusal a subscriber create or a bulk row gets when the cap is reached
WORKFLOWS = (
    "customers.provision",
    "customers.converge_batch",
    "subscribers.bulk_import",
    "compliance.screen_customer",
    "compliance.screen_batch",
)
FAILED_WORKFLOW = ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "CANCELLED")
# The replay probe sends this many at once: more than a server's 40 worker threads (100 at once found kit.http's
# write gate missing: the server stalled for minutes).
REPLAY_CLIENTS = 64
ENV = {"WHOLESALE_RATE_LIMIT_PER_MINUTE": "0"}  # the burst is the point, not the rate limit
ADDRESS = {
    "addressLine1": "771 Alder Drive",
    "city": "Milpitas",
    "stateOrProvince": "CA",
    "zipOrPostalCode": "95035",
    "country": "US",
}


@dataclass
class Config:
    """What one run does; everything random derives from `seed`."""

    seed: int
    customers: int = 60
    subscribers: int = 200
    postgres_url: str = ""  # a PostgreSQL server URL (its database is replaced by a new one); "" = SQLite
    clients: int = 12  # concurrent client tasks (a third create customers, the rest subscribers)
    bulk_share: float = 0.5  # of the subscribers, the share sent in bulk imports
    # A kill falls when this share of the requests was answered (past 1 - the share never sent: after the burst,
    # while its jobs still run).
    kill_window: tuple[float, float] = (0.05, 1.0)
    settle_timeout: float = 600.0
    work_dir: Path | None = None  # logs (and the SQLite file); a new temporary directory when None


# ---------------------------------------------------------------------------------------------- the plan


@dataclass
class Call:
    """One create a client sends: what, with which key, and what came of it."""

    kind: str  # customer | subscriber | bulk
    n: int  # its number among the calls of its kind
    customer: int  # the planned customer it belongs to (a customer call: itself)
    body: dict[str, Any]
    key: str
    outcome: str = "unsent"  # unsent | ack (2xx) | refused (4xx) | failed (5xx) | unanswered | skipped
    status: int | None = None
    answer: Any = None
    sent: float = 0.0
    answered: float = 0.0
    error: str = ""
    retried: bool = False
    replayed: bool = False  # the answer was an Idempotency-Key replay (Idempotent-Replayed: true)
    before_retry: str = ""  # absent | whole | half-made: what the unanswered call had left before its retry
    existing_id: str | None = None  # the resource an unanswered call had made before its retry

    @property
    def path(self) -> str:
        return {"customer": CUSTOMERS, "subscriber": SUBSCRIBERS, "bulk": BULK}[self.kind]

    @property
    def made_id(self) -> str | None:
        """The id of what a 2xx made."""
        if self.outcome != "ack" or not isinstance(self.answer, dict):
            return None
        if self.kind == "customer":
            return str(self.answer["url"]).rsplit("/", 1)[-1]
        return str(self.answer.get("id"))

    @property
    def emails(self) -> list[str]:
        if self.kind == "subscriber":
            return [self.body["email"]]
        if self.kind == "bulk":
            return [r["email"] for r in self.body["rows"]]
        return []


@dataclass
class Plan:
    """The customers and subscriber calls of a run."""

    customers: list[Call]
    subscribers: dict[int, list[Call]]  # by planned customer: its single creates and bulk imports
    # externalId -> the package capped at 0 of a customer whose full admin gets no unit: it still provisions,
    # with one warning (3200) on that package, and its admin is a user without a subscriber.
    no_unit: dict[str, str] = field(default_factory=dict)

    @property
    def calls(self) -> list[Call]:
        return [*self.customers, *(c for calls in self.subscribers.values() for c in calls)]


def make_plan(seed: int, customers: int, subscribers: int, bulk_share: float, template: str) -> Plan:
    """Customers (70 % meetings + calling, 30 % meetings only; 40 % with a meetings cap below or near what they
    will be sent) and their subscribers (a quarter of a calling customer's are calling users with an extension)."""
    rng = random.Random(seed)
    tag = f"{seed:x}"
    calling = [rng.random() < 0.7 for _ in range(customers)]
    next_extension = [2000] * customers
    wanted_meetings = [0] * customers

    def person(i: int, c: int) -> dict[str, Any]:
        row: dict[str, Any] = {"email": f"u{i}-{tag}@crash.example.com", "firstName": "Crash", "lastName": f"U{i}"}
        if calling[c] and rng.random() < 0.25:
            next_extension[c] += 1
            return row | {"package": "webex_calling", "extension": str(next_extension[c])}
        wanted_meetings[c] += 1
        return row | {"package": "webex_meetings"}

    by_customer: dict[int, list[Call]] = defaultdict(list)
    bulk_rows = round(subscribers * bulk_share)
    i = 0
    n_bulk = 0
    low, high = max(2, bulk_rows // 20), max(3, min(1000, int(bulk_rows / 2.5)))
    while i < bulk_rows:
        size = min(bulk_rows - i, rng.randint(low, high))
        c = rng.randrange(customers)
        rows = [person(i + k, c) for k in range(size)]
        body = {"customerId": f"{{customer {c}}}", "rows": rows}
        by_customer[c].append(Call("bulk", n_bulk, c, body, f"crash-{tag}-bulk-{n_bulk}"))
        i += size
        n_bulk += 1
    for n in range(subscribers - bulk_rows):
        c = rng.randrange(customers)
        row = person(i, c)
        params = {k: row[k] for k in ("firstName", "lastName", "extension") if k in row}
        body = {
            "customerId": f"{{customer {c}}}",
            "email": row["email"],
            "packages": [row["package"]],
            "provisioningParameters": params,
        }
        by_customer[c].append(Call("subscriber", n, c, body, f"crash-{tag}-sub-{n}"))
        i += 1
    made = []
    no_unit: dict[str, str] = {}
    for c in range(customers):
        packages = ["webex_meetings", "webex_calling"] if calling[c] else ["webex_meetings"]
        params: dict[str, Any] = {}
        if calling[c]:
            params["calling"] = {
                "location": {
                    "name": "Head Office",
                    "address": {k: v for k, v in ADDRESS.items() if k != "zipOrPostalCode"},
                    "timezone": "America/Los_Angeles",
                    "language": "en_us",
                }
            }
        limits = {}
        if rng.random() < 0.4:  # R8: a cap some of its subscribers will run into
            limits["webex_meetings"] = max(1, int(wanted_meetings[c] * rng.uniform(0.5, 1.1)))
        if rng.random() < 0.05:  # R5 + R8: the admin's tier package capped at 0
            tier = "webex_calling" if calling[c] else "webex_meetings"
            limits[tier] = 0
            no_unit[f"crash-{tag}-{c:04d}"] = tier
        if limits:
            params["packages"] = {"limits": limits}
        body = {
            "provisioningId": template,
            "packages": packages,
            "externalId": f"crash-{tag}-{c:04d}",
            "address": ADDRESS,
            "customerInfo": {
                "name": f"Pizza {tag} {c:04d}",
                "primaryEmail": f"admin{c}-{tag}@crash.example.com",
                "language": "en_us",
            },
            "provisioningParameters": params,
        }
        made.append(Call("customer", c, c, body, f"crash-{tag}-customer-{c}"))
        rng.shuffle(by_customer[c])
    return Plan(made, dict(by_customer), no_unit)


# ---------------------------------------------------------------------------------------------- the processes


# `python -c LAUNCHER N serve ...`: `wholesale serve` that SIGKILLs itself right after the Nth commit of a create
# sent with an Idempotency-Key, before the response leaves (the client sees the connection drop): a create that
# committed and was never answered, which only the key's replay can tell the client about.
LAUNCHER = """
import os, signal, sys, threading
from wholesale.kit import http
after = int(sys.argv[1])
finish = http.UnitOfWork.finish
lock = threading.Lock()
count = [0]
def finish_then_die(self, response):
    claimed = self.claim is not None and self.write and response.status_code < 400
    finish(self, response)
    if claimed:
        with lock:
            count[0] += 1
            if count[0] == after:
                os.kill(os.getpid(), signal.SIGKILL)
http.UnitOfWork.finish = finish_then_die
sys.argv = ["wholesale", *sys.argv[2:]]
from wholesale.cli import main
main()
"""


@dataclass(frozen=True)
class KillPlan:
    """When a run kills what, drawn from its seed."""

    api: int  # which API process (SQLite: 0, `serve`)
    api_mode: str  # answered | mid-batch (SQLite only) | after-commit
    api_target: int  # answered requests (after-commit: committed creates) before the kill
    api_down: float  # seconds it stays down
    worker_target: int  # PostgreSQL: answered requests before a worker is killed mid-batch
    worker_down: float

    @classmethod
    def draw(cls, cfg: Config, total: int) -> KillPlan:
        rng = random.Random(cfg.seed * 104729 + 3)
        lo, hi = cfg.kill_window
        postgres = bool(cfg.postgres_url)
        modes = ["answered", "after-commit"] if postgres else ["answered", "mid-batch", "after-commit"]
        api, mode, target = rng.randrange(2 if postgres else 1), rng.choice(modes), int(total * rng.uniform(lo, hi))
        if mode == "after-commit" and postgres:
            target //= 2  # the clients spread the creates over both API processes
        return cls(
            api=api,
            api_mode=mode,
            api_target=max(1, target),
            api_down=rng.uniform(0.2, 2.0),
            worker_target=int(total * rng.uniform(lo, hi)),
            worker_down=rng.uniform(0.2, 2.0),
        )


class Topology:
    """The processes of a run: `wholesale serve` (SQLite), or 2 API processes and 2 workers (PostgreSQL)."""

    def __init__(self, url: str, work: Path, postgres: bool) -> None:
        self.url, self.postgres = url, postgres
        self.log = work / "processes.log"
        self.ports = [processes.free_port() for _ in range(2 if postgres else 1)]
        self.apis: list[subprocess.Popen | None] = [None] * len(self.ports)
        self.workers: list[subprocess.Popen | None] = [None, None] if postgres else []
        self.up = [False] * len(self.ports)

    def start(self, kills: KillPlan) -> None:
        for i in range(len(self.ports)):
            after = kills.api_target if kills.api_mode == "after-commit" and i == kills.api else None
            self.start_api(i, kill_after_commit=after)
        for i in range(len(self.workers)):
            self.start_worker(i)

    def start_api(self, i: int, kill_after_commit: int | None = None) -> None:
        """Start API process i (SQLite: `serve`) and wait until it answers; `kill_after_commit`: it SIGKILLs
        itself right after committing that many creates (LAUNCHER), before it answers the last one."""
        args = ["serve", "--port", str(self.ports[i]), *(["--no-workers"] if self.postgres else [])]
        launcher = ["-c", LAUNCHER, str(kill_after_commit)] if kill_after_commit else ["-m", "wholesale.cli"]
        self.apis[i] = subprocess.Popen(
            [sys.executable, *launcher, *args],
            env=processes.env(self.url, **ENV),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: processes.healthy(self.ports[i]), bool, timeout=120, interval=0.2)
        self.up[i] = True

    def kill_api(self, i: int) -> None:
        self.up[i] = False
        proc = self.apis[i]
        assert proc is not None
        if proc.poll() is None:  # not dead already (it may have killed itself)
            processes.kill(proc)

    def died(self, i: int) -> bool:
        """True once API process i is gone (it killed itself); it then takes no more connections."""
        proc = self.apis[i]
        if proc is None or proc.poll() is None:
            return False
        self.up[i] = False
        return True

    def executor(self, i: int) -> str:
        return f"worker-{i + 1}"

    def start_worker(self, i: int) -> None:
        self.workers[i] = processes.start(["worker"], self.url, self.log, WHOLESALE_EXECUTOR_ID=self.executor(i), **ENV)

    def kill_worker(self, i: int) -> None:
        proc = self.workers[i]
        assert proc is not None
        processes.kill(proc)

    def stop(self) -> None:
        for proc in [*self.apis, *self.workers]:
            if proc is not None:
                processes.stop(proc)


# ---------------------------------------------------------------------------------------------- the burst


@dataclass
class Kill:
    """One SIGKILL: of what, when, and how long the process took to come back."""

    what: str
    answered: int  # requests answered when it fell
    elapsed: float  # seconds into the burst
    in_flight: int  # requests sent to it (a worker: to any API process) and not yet answered
    down: float = 0.0  # seconds from the kill to the restarted process being ready
    note: str = ""
    executor: str = ""  # a process that runs jobs: its executor id
    restarted_at: float = 0.0  # wall clock
    recovered: int = 0  # workflows it had left unfinished, recovered by its restart
    recovered_in: float = 0.0  # seconds from the restart until the last of them finished


class Burst:
    """The clients: customer creates, then each provisioned customer's subscriber creates and bulk imports."""

    def __init__(self, cfg: Config, plan: Plan, topology: Topology, token: str, kills: KillPlan) -> None:
        self.cfg, self.plan, self.top, self.kill_plan = cfg, plan, topology, kills
        self.rng = random.Random(cfg.seed * 7919 + 1)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.customer_ids: dict[int, str] = {}  # planned customer -> id, once its create was answered 2xx
        self.resolved: set[int] = set()  # planned customers whose subscribers were queued or dropped
        self.answered = 0
        self.in_flight: Counter[int] = Counter()  # requests sent and not yet answered, by port
        self.kills: list[Kill] = []
        self.started = 0.0
        self.finished = 0.0
        self.done = asyncio.Event()
        self.total = len(plan.calls)
        self.sub_queue: asyncio.Queue[Call] = asyncio.Queue()

    # -- sending

    def _port(self, preferred: int) -> int | None:
        ups = [i for i, up in enumerate(self.top.up) if up]
        if not ups:
            return None
        return self.top.ports[preferred if self.top.up[preferred] else ups[0]]

    async def send(self, client: httpx.AsyncClient, call: Call, preferred: int, body: dict[str, Any]) -> None:
        """Send until a server takes the connection; record the answer, or `unanswered` when it dropped."""
        while True:
            port = self._port(preferred % len(self.top.ports))
            if port is None:
                await asyncio.sleep(0.1)
                continue
            call.sent = time.monotonic()
            self.in_flight[port] += 1
            try:
                response = await client.post(
                    f"http://127.0.0.1:{port}{call.path}", json=body, headers={"Idempotency-Key": call.key}
                )
            except httpx.ConnectError:  # never reached a server: send it again once one is up
                await asyncio.sleep(0.1)
                continue
            except httpx.TransportError as exc:  # sent, never answered: the kill dropped it
                call.outcome, call.error = "unanswered", type(exc).__name__
                return
            finally:
                self.in_flight[port] -= 1
            call.answered = time.monotonic()
            call.status = response.status_code
            call.replayed = response.headers.get("idempotent-replayed") == "true"
            try:
                call.answer = response.json()
            except ValueError:
                call.answer = response.text
            call.outcome = "ack" if response.is_success else "refused" if response.status_code < 500 else "failed"
            self.answered += 1
            return

    def body_of(self, call: Call) -> dict[str, Any]:
        if call.kind == "customer":
            return call.body
        return call.body | {"customerId": self.customer_ids[call.customer]}

    # -- the clients

    async def customer_client(self, client: httpx.AsyncClient, queue: asyncio.Queue[Call], n: int) -> None:
        while not queue.empty():
            call = queue.get_nowait()
            await self.send(client, call, n, call.body)
            if call.outcome == "ack":
                cid = call.made_id
                assert cid is not None
                self.customer_ids[call.customer] = cid
            else:  # refused or unanswered: its subscribers are not sent (an unanswered one is retried at the end)
                self.drop(call.customer)

    def drop(self, customer: int) -> None:
        for sub in self.plan.subscribers.get(customer, []):
            sub.outcome = "skipped"
        self.resolved.add(customer)

    async def subscriber_client(self, client: httpx.AsyncClient, n: int) -> None:
        while True:
            try:
                call = await asyncio.wait_for(self.sub_queue.get(), timeout=0.2)
            except TimeoutError:
                if len(self.resolved) >= len(self.plan.customers) and self.sub_queue.empty():
                    return
                continue
            await self.send(client, call, n, self.body_of(call))

    async def poll_customers(self, client: httpx.AsyncClient) -> None:
        """Queue a customer's subscribers once it reads provisioned (drop them if it settles otherwise)."""
        last_progress = time.monotonic()
        while len(self.resolved) < len(self.plan.customers):
            await asyncio.sleep(1.0)
            waiting = {cid: c for c, cid in self.customer_ids.items() if c not in self.resolved}
            if not waiting:
                continue
            port = self._port(0)
            if port is None:
                continue
            url: str | None = f"http://127.0.0.1:{port}{CUSTOMERS}?status={','.join(SETTLED)}&max=1000"
            settled: dict[str, str] = {}
            try:
                while url:
                    response = await client.get(url)
                    response.raise_for_status()
                    settled |= {c["id"]: c["status"] for c in response.json()["items"]}
                    link = response.headers.get("link")
                    url = link[1 : link.index(">")] if link else None
            except httpx.HTTPError:
                continue
            for cid, c in waiting.items():
                if cid in settled:
                    last_progress = time.monotonic()
                    if settled[cid] != "provisioned":
                        self.drop(c)
                        continue
                    for sub in self.plan.subscribers.get(c, []):
                        self.sub_queue.put_nowait(sub)
                    self.resolved.add(c)
            if time.monotonic() - last_progress > self.cfg.settle_timeout:
                for c in waiting.values():  # never settled: the checks will say so
                    self.drop(c)

    # -- the kills

    async def _wait_answered(self, target: int) -> None:
        while self.answered < target and not self.done.is_set():
            await asyncio.sleep(0.02)

    def _kill(self, what: str, note: str = "", port: int | None = None) -> Kill:
        in_flight = self.in_flight[port] if port is not None else sum(self.in_flight.values())
        kill = Kill(what, self.answered, time.monotonic() - self.started, in_flight, note=note)
        self.kills.append(kill)
        return kill

    async def _bulk_running(self, engine: sa.Engine, timeout: float = 30) -> list[str]:
        """Wait (at most `timeout`) until a bulk import runs; the executor ids running one (none: timed out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = await asyncio.to_thread(_running_on, engine, "subscribers.bulk_import")
            if running:
                return running
            if self.done.is_set() and not (await asyncio.to_thread(unsettled, engine))["bulk imports"]:
                return []  # the burst is over and every import finished: none will run
            await asyncio.sleep(0.05)
        return []

    async def kill_api(self, engine: sa.Engine) -> None:
        """Kill an API process (SQLite: `serve`, which runs the jobs too), as the plan says: once so many requests
        were answered (`answered`), then when a bulk import runs (`mid-batch`), or it kills itself right after
        committing its so-manyth create (`after-commit`); restart it after a while."""
        kp = self.kill_plan
        i = kp.api
        note = ""
        if kp.api_mode == "after-commit":
            while not self.top.died(i) and not self.done.is_set():
                await asyncio.sleep(0.005)
            if self.top.died(i):
                note = f"it killed itself right after committing create #{kp.api_target}, before answering it"
        else:
            await self._wait_answered(kp.api_target)
            note = "mid-request" if self.in_flight[self.top.ports[i]] else ""
            if kp.api_mode == "mid-batch":
                running = await self._bulk_running(engine)
                note = "mid-batch (a bulk import running)" if running else "mid-batch wanted: no bulk import ran"
        if self.done.is_set() and not note:
            note = "after the burst (its jobs still running)"
        kill = self._kill(f"api-{i + 1}" if self.top.postgres else "serve", note, self.top.ports[i])
        kill.executor = "" if self.top.postgres else "local"
        t0 = time.monotonic()
        await asyncio.to_thread(self.top.kill_api, i)
        down_for = kp.api_down
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.top.start_api, i)
        kill.down = time.monotonic() - t0
        kill.restarted_at = time.time()

    async def kill_worker_mid_batch(self, engine: sa.Engine) -> None:
        """Kill the worker running a bulk import (or, when none runs within 30 s, the busier worker)."""
        await self._wait_answered(self.kill_plan.worker_target)
        down_for = self.kill_plan.worker_down
        running = await self._bulk_running(engine)
        note = "mid-batch (a bulk import running on it)"
        if running:
            executor = running[0]
        else:
            busy = await asyncio.to_thread(_running_on, engine, None)
            executor = Counter(busy).most_common(1)[0][0] if busy else self.top.executor(0)
            note = "no bulk import running within 30 s: the busier worker"
        i = next((n for n in range(len(self.top.workers)) if self.top.executor(n) == executor), 0)
        kill = self._kill(self.top.executor(i), note)
        kill.executor = self.top.executor(i)
        t0 = time.monotonic()
        await asyncio.to_thread(self.top.kill_worker, i)
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.top.start_worker, i)
        kill.down = time.monotonic() - t0  # a worker is up once started: it has no port to wait for
        kill.restarted_at = time.time()

    # -- the whole burst

    async def run(self, engine: sa.Engine) -> None:
        customers: asyncio.Queue[Call] = asyncio.Queue()
        order = list(self.plan.customers)
        self.rng.shuffle(order)
        for call in order:
            customers.put_nowait(call)
        n_customer_clients = max(1, self.cfg.clients // 3)
        limits = httpx.Limits(max_connections=self.cfg.clients + 4)
        async with httpx.AsyncClient(headers=self.headers, timeout=120, limits=limits) as client:
            self.started = time.monotonic()
            killers = [self.kill_api(engine)]
            if self.top.postgres:
                killers.append(self.kill_worker_mid_batch(engine))
            clients = [
                *(self.customer_client(client, customers, n) for n in range(n_customer_clients)),
                *(self.subscriber_client(client, n) for n in range(self.cfg.clients - n_customer_clients)),
                self.poll_customers(client),
            ]

            async def burst() -> None:
                await asyncio.gather(*clients)
                self.finished = time.monotonic()
                self.done.set()

            await asyncio.gather(burst(), *killers)  # a killer that fails ends the run instead of hanging it

    async def retry(self, calls: list[Call]) -> None:
        """Send each unanswered call again, same key and body."""
        async with httpx.AsyncClient(headers=self.headers, timeout=120) as client:
            await asyncio.gather(*(self._retry(client, call, n) for n, call in enumerate(calls)))

    async def _retry(self, client: httpx.AsyncClient, call: Call, n: int) -> None:
        call.retried = True
        await self.send(client, call, n, self.body_of(call))

    def replay_sample(self, size: int = 150) -> list[Call]:
        """2xx creates to send again after the crash: the last 30 answered before the first kill, and a seeded
        sample of the others."""
        acked = sorted((c for c in self.plan.calls if c.outcome == "ack" and not c.retried), key=lambda c: c.answered)
        first_kill = self.started + min((k.elapsed for k in self.kills), default=float("inf"))
        before = [c for c in acked if c.answered <= first_kill][-30:]
        rest = [c for c in acked if c not in before]
        return before + random.Random(self.cfg.seed + 17).sample(rest, min(len(rest), size - len(before)))

    async def replay(self, calls: list[Call]) -> list[tuple[Call, Call]]:
        """Send each call again with its key and body: (the call, what the second sending got)."""
        again = [dataclasses.replace(c, outcome="unsent", answer=None, status=None, replayed=False) for c in calls]
        gate = asyncio.Semaphore(REPLAY_CLIENTS)

        async def one(call: Call) -> None:
            async with gate:
                await self.send(client, call, 0, self.body_of(call))  # all to one API process

        async with httpx.AsyncClient(headers=self.headers, timeout=120) as client:
            await asyncio.gather(*(one(c) for c in again))
        return list(zip(calls, again, strict=True))


def _running_on(engine: sa.Engine, name: str | None) -> list[str]:
    """Executor ids of the PENDING workflows (of one name)."""
    query = f"SELECT executor_id FROM {_workflows_table(engine)} WHERE status = 'PENDING'"
    if name:
        query += " AND name = :name"
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(query), {"name": name})]


# ---------------------------------------------------------------------------------------------- settling


def _workflows_table(engine: sa.Engine) -> str:
    return "dbos.workflow_status" if engine.dialect.name == "postgresql" else "workflow_status"


def unsettled(engine: sa.Engine) -> dict[str, int]:
    """What is still moving: customers not terminal, bulk imports not completed, our workflows not finished."""
    names = ", ".join(f"'{n}'" for n in WORKFLOWS)
    with engine.connect() as conn:
        return {
            "customers": conn.execute(
                sa.text(
                    f"SELECT count(*) FROM customers WHERE deleted_at IS NULL AND status NOT IN {SETTLED!r}"
                    " AND is_partner_org = :f"
                ),
                {"f": False},
            ).scalar_one(),
            # A run still queued is not done: its batch has not committed (issue 15).
            "queued runs": conn.execute(sa.text("SELECT count(*) FROM customer_run_queue")).scalar_one(),
            "bulk imports": conn.execute(
                sa.text("SELECT count(*) FROM subscriber_bulk_imports WHERE status != 'completed'")
            ).scalar_one(),
            "workflows": conn.execute(
                sa.text(
                    f"SELECT count(*) FROM {_workflows_table(engine)}"
                    f" WHERE status IN ('PENDING', 'ENQUEUED') AND name IN ({names})"
                )
            ).scalar_one(),
        }


def settle(engine: sa.Engine, timeout: float) -> tuple[dict[str, float], dict[str, int]]:
    """Wait until nothing moves; return when each kind of thing had settled (seconds from the call; the slowest
    is the time to settle) and what was still moving at the end (nothing, unless `timeout` passed)."""
    started = time.monotonic()
    left = unsettled(engine)
    when = {k: 0.0 for k, n in left.items() if not n}
    while any(left.values()) and time.monotonic() - started < timeout:
        time.sleep(0.25)
        left = unsettled(engine)
        when |= {k: time.monotonic() - started for k, n in left.items() if not n and k not in when}
    return when, left


# ---------------------------------------------------------------------------------------------- the checks


@dataclass
class Check:
    """One invariant: PASS when `problems` is empty."""

    name: str
    problems: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def line(self) -> str:
        head = f"{'PASS' if self.ok else 'FAIL'}  {self.name}"
        if self.detail:
            head += f" ({self.detail})"
        shown = [f"        - {p}" for p in self.problems[:8]]
        if len(self.problems) > 8:
            shown.append(f"        ... and {len(self.problems) - 8} more")
        return "\n".join([head, *shown])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class Snapshot:
    """The database as the checks read it (the demo partner's data)."""

    customers: dict[str, dict[str, Any]]  # live customers by id
    packages: list[dict[str, Any]]
    subscribers: dict[str, dict[str, Any]]  # by id
    users: list[dict[str, Any]]  # users of customer orgs
    orgs: list[str]  # customer orgs of the partner
    audit: list[tuple[str, str]]  # (action, subject id) in order
    ledger: list[dict[str, Any]]
    bulks: dict[str, dict[str, Any]]
    events: int  # rows of the partner's event feed
    workflows: list[dict[str, Any]]

    @classmethod
    def read(cls, engine: sa.Engine, partner: str) -> Snapshot:
        p = {"p": partner}
        with engine.connect() as conn:

            def rows(query: str, **params: Any) -> list[dict[str, Any]]:
                return [dict(r) for r in conn.execute(sa.text(query), p | params).mappings()]

            customers = {
                r["id"]: r
                for r in rows(
                    "SELECT id, external_id, status, org_id, primary_email, package_limits FROM customers"
                    " WHERE partner_org_id = :p AND deleted_at IS NULL AND is_partner_org = :f",
                    f=False,
                )
            }
            return cls(
                customers=customers,
                packages=rows(
                    "SELECT cp.customer_id, cp.name, cp.status, cp.quantity_limit, cp.assigned, cp.warnings, cp.errors"
                    " FROM customer_packages cp"
                    " JOIN customers c ON c.id = cp.customer_id WHERE c.partner_org_id = :p"
                ),
                subscribers={
                    r["id"]: r
                    for r in rows(
                        "SELECT id, customer_id, email, package, status, user_id, org_id FROM subscribers"
                        " WHERE partner_org_id = :p"
                    )
                },
                users=rows(
                    "SELECT u.id, u.org_id, u.email FROM users u JOIN orgs o ON o.id = u.org_id"
                    " WHERE o.managed_by_org_id = :p"
                ),
                orgs=[r["id"] for r in rows("SELECT id FROM orgs WHERE kind = 'customer' AND managed_by_org_id = :p")],
                audit=[
                    (r["action"], r["subject_id"])
                    for r in rows("SELECT action, subject_id FROM audit_events WHERE partner_org_id = :p ORDER BY id")
                ],
                ledger=rows(
                    "SELECT seq, kind, customer_id, subscriber_id, package, delta, units_after, quantity_limit"
                    " FROM usage_ledger WHERE partner_org_id = :p ORDER BY seq"
                ),
                bulks={
                    r["id"]: r | {"rows": _json(r["rows"]), "results": _json(r["results"])}
                    for r in rows(
                        "SELECT id, customer_id, status, rows, results FROM subscriber_bulk_imports"
                        " WHERE partner_org_id = :p"
                    )
                },
                events=conn.execute(sa.text("SELECT count(*) FROM events WHERE partner_org_id = :p"), p).scalar_one(),
                workflows=rows(
                    "SELECT workflow_uuid, name, status, recovery_attempts, executor_id, updated_at"
                    f" FROM {_workflows_table(engine)}"
                ),
            )

    @cached_property
    def by_email(self) -> dict[str, dict[str, Any]]:
        return {s["email"]: s for s in self.subscribers.values()}

    @cached_property
    def by_external(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in self.customers.values():
            found[c["external_id"]].append(c)
        return found

    def bulk_of(self, call: Call) -> dict[str, Any] | None:
        """The bulk import a planned bulk call made, found by its rows' emails."""
        emails = call.emails
        for bulk in self.bulks.values():
            if [r["email"] for r in bulk["rows"]] == emails:
                return bulk
        return None


def state_of(call: Call, snap: Snapshot) -> tuple[str, str | None]:
    """What a call left in the database: ("absent" | "whole" | "half-made: ...", the id of what it made)."""
    if call.kind == "customer":
        found = snap.by_external.get(call.body["externalId"], [])
        if not found:
            return "absent", None
        c = found[0]
        if len(found) > 1:
            return f"half-made: {len(found)} customers", c["id"]
        if c["status"] not in SETTLED or (c["status"] == "provisioned" and not c["org_id"]):
            return f"half-made: status {c['status']}, org {c['org_id']}", c["id"]
        return "whole", c["id"]
    if call.kind == "subscriber":
        s = snap.by_email.get(call.body["email"])
        if s is None:
            users = [u for u in snap.users if u["email"] == call.body["email"]]
            return ("half-made: a user without subscriber", None) if users else ("absent", None)
        if s["status"] != "provisioned":
            return f"half-made: status {s['status']}", s["id"]
        return "whole", s["id"]
    bulk = snap.bulk_of(call)
    if bulk is None:
        made = [e for e in call.emails if e in snap.by_email]
        return (f"half-made: {len(made)} of its rows exist without the import", None) if made else ("absent", None)
    if bulk["status"] != "completed" or len(bulk["results"]) != len(bulk["rows"]):
        return f"half-made: {bulk['status']} with {len(bulk['results'])} of {len(bulk['rows'])} results", bulk["id"]
    return "whole", bulk["id"]


def read_feed(base: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The partner's whole event feed, page after page from the start."""
    items: list[dict[str, Any]] = []
    cursor = ""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while True:
            response = client.get(EVENTS, params={"after": cursor, "max": "1000"})
            response.raise_for_status()
            page = response.json()
            items.extend(page["items"])
            cursor = page["cursor"]
            if not page["items"]:
                return items


def ledger_verify(url: str) -> tuple[int, str]:
    """`wholesale ledger verify`: its exit code and what it printed."""
    run = subprocess.run(
        [sys.executable, "-m", "wholesale.cli", "ledger", "verify"],
        env=processes.env(url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.returncode, (run.stdout + run.stderr).strip()


def check(
    plan: Plan,
    snap: Snapshot,
    feed: list[dict[str, Any]],
    verified: tuple[int, str],
    committed_unanswered: bool = False,
    replays: list[tuple[Call, Call]] | None = None,
) -> list[Check]:
    """Every invariant of a settled run; `committed_unanswered`: a process killed itself right after a commit, so
    at least one unanswered create must have committed (and its retry be a replay)."""
    calls = plan.calls
    acked = [c for c in calls if c.outcome == "ack"]
    planned_emails = {e for c in calls for e in c.emails} | {
        c.body["customerInfo"]["primaryEmail"] for c in plan.customers
    }
    planned_external = {c.body["externalId"] for c in plan.customers}
    checks: list[Check] = []

    # 1. Every 2xx ends in a terminal state.
    terminal = Check(
        "every 2xx ends terminal (customer provisioned, subscriber provisioned, bulk completed with every row)"
    )
    for call in acked:
        made = call.made_id
        if call.kind == "customer":
            c = snap.customers.get(made or "")
            if c is None:
                continue  # lost: the next check says so
            if c["status"] != "provisioned":
                terminal.fail(f"customer {call.n} ({made}) is {c['status']}, expected provisioned")
        elif call.kind == "subscriber":
            s = snap.subscribers.get(made or "")
            if s is not None and s["status"] != "provisioned":
                terminal.fail(f"subscriber {call.body['email']} is {s['status']}")
        else:
            bulk = snap.bulks.get(made or "")
            if bulk is None:
                continue
            if bulk["status"] != "completed":
                terminal.fail(f"bulk import {call.n} is {bulk['status']}")
            if len(bulk["results"]) != len(bulk["rows"]) or [r["row"] for r in bulk["results"]] != list(
                range(1, len(bulk["rows"]) + 1)
            ):
                terminal.fail(f"bulk import {call.n}: {len(bulk['results'])} results for {len(bulk['rows'])} rows")
            for r in bulk["results"]:
                if r["status"] == "provisioned":
                    s = snap.subscribers.get(r.get("subscriberId") or "")
                    if s is None or s["email"] != r["email"]:
                        terminal.fail(
                            f"bulk import {call.n} row {r['row']} reads provisioned, its subscriber is not there"
                        )
                elif r["status"] != "error" or [e["errorCode"] for e in r.get("errors") or []] != [CAP_REACHED]:
                    terminal.fail(f"bulk import {call.n} row {r['row']}: {r['status']} {r.get('errors')}")
    # ... and each provisioned customer's packages as planned: no error, no warning but the one of a full admin
    # whose tier package is capped at 0 (exactly once: a step run again after a kill must not repeat it).
    for p in snap.packages:
        c = snap.customers.get(p["customer_id"])
        if c is None:
            continue
        warnings = [w.get("errorCode") for w in _json(p["warnings"]) or []]
        expected = [3200] if plan.no_unit.get(c["external_id"]) == p["name"] else []
        if p["status"] != "provisioned" or _json(p["errors"]) or warnings != expected:
            terminal.fail(
                f"customer {c['external_id']} {p['name']}: {p['status']}, warnings {warnings}, expected {expected}"
            )
    checks.append(terminal)

    # 2. None lost.
    lost = Check("none lost (every 2xx-acknowledged customer, subscriber and bulk import exists)")
    for call in acked:
        made = call.made_id
        table = {"customer": snap.customers, "subscriber": snap.subscribers, "bulk": snap.bulks}[call.kind]
        if made not in table:
            lost.fail(f"{call.kind} {call.n} answered {call.status} ({made}) is not in the database")
        elif call.kind == "subscriber" and table[made]["email"] != call.body["email"]:
            lost.fail(f"subscriber {call.n}: {made} has another email")
        elif call.kind == "customer" and table[made]["external_id"] != call.body["externalId"]:
            lost.fail(f"customer {call.n}: {made} has another externalId")
    checks.append(lost)

    # 3. None duplicated.
    dup = Check("none duplicated (externalId, email, org, admin, provisioning run, audit rows each once)")
    for ext, found in snap.by_external.items():
        if len(found) > 1:
            dup.fail(f"externalId {ext}: {len(found)} customers")
        if ext not in planned_external:
            dup.fail(f"customer {ext} was never asked for")
    emails = Counter(s["email"] for s in snap.subscribers.values())
    dup.problems += [f"email {e}: {n} subscribers" for e, n in emails.items() if n > 1]
    users = Counter(u["email"] for u in snap.users)
    dup.problems += [f"email {e}: {n} users" for e, n in users.items() if n > 1]
    dup.problems += [f"subscriber {e} was never asked for" for e in emails if e not in planned_emails]
    org_ids = Counter(c["org_id"] for c in snap.customers.values() if c["org_id"])
    dup.problems += [f"org {o} belongs to {n} customers" for o, n in org_ids.items() if n > 1]
    dup.problems += [f"org {o} belongs to no customer" for o in snap.orgs if o not in org_ids]
    actions = Counter(snap.audit)
    for cid, c in snap.customers.items():
        for action in ("customer.created", "org.created", "customer.settled"):
            if actions[(action, cid)] != 1:
                dup.fail(f"customer {c['external_id']}: {actions[(action, cid)]} {action} audit rows")
        admins = [s for s in snap.subscribers.values() if s["customer_id"] == cid and s["email"] == c["primary_email"]]
        expected_admins = 0 if c["external_id"] in plan.no_unit else 1  # an admin without a unit is no subscriber
        if len(admins) != expected_admins:
            dup.fail(f"customer {c['external_id']}: {len(admins)} full admin subscribers, expected {expected_admins}")
        admin_users = [u for u in snap.users if u["org_id"] == c["org_id"] and u["email"] == c["primary_email"]]
        if len(admin_users) != 1:
            dup.fail(f"customer {c['external_id']}: {len(admin_users)} full admin users")
    for sid, s in snap.subscribers.items():
        if actions[("subscriber.created", sid)] != 1:
            dup.fail(f"subscriber {s['email']}: {actions[('subscriber.created', sid)]} subscriber.created audit rows")
    for bid in snap.bulks:
        for action in ("subscribers.import_requested", "subscribers.import_finished"):
            if actions[(action, bid)] != 1:
                dup.fail(f"bulk import {bid}: {actions[(action, bid)]} {action} audit rows")
    # Runs go in batches (`customers.converge_batch`); one that failed in its batch is retried alone, once.
    runs = Counter(w["workflow_uuid"].rsplit(":", 1)[0] for w in snap.workflows if w["name"] == "customers.provision")
    dup.problems += [f"{w}: {n} provisioning runs of their own" for w, n in runs.items() if n > 1]
    checks.append(dup)

    # 4. Answers: each a 2xx or an expected refusal, and a refusal left nothing.
    answers = Check("every answer a 2xx or a cap refusal (409500), and a refusal left nothing")
    for call in calls:
        if call.outcome in ("refused", "failed"):
            codes = [e.get("errorCode") for e in call.answer.get("errors", [])] if isinstance(call.answer, dict) else []
            if call.kind != "subscriber" or call.status != 409 or codes != [CAP_REACHED]:
                answers.fail(f"{call.kind} {call.n}: {call.status} {str(call.answer)[:200]}")
            state, _ = state_of(call, snap)
            if state != "absent":
                answers.fail(f"{call.kind} {call.n} refused ({call.status}) but {state}")
    checks.append(answers)

    # 5. Caps (R8).
    caps = Check("caps hold: assigned <= quantity limit, assigned == subscribers holding the package")
    holders = Counter((s["customer_id"], s["package"]) for s in snap.subscribers.values())
    capped = 0
    for p in snap.packages:
        if p["customer_id"] not in snap.customers:
            continue
        if p["quantity_limit"] is not None:
            capped += 1
            if p["assigned"] > p["quantity_limit"]:
                caps.fail(
                    f"{p['customer_id']} {p['name']}: {p['assigned']} assigned over the limit {p['quantity_limit']}"
                )
        if p["assigned"] != holders[(p["customer_id"], p["name"])]:
            caps.fail(
                f"{p['customer_id']} {p['name']}: assigned {p['assigned']}, held by {holders[(p['customer_id'], p['name'])]}"
            )
    packages = {(p["customer_id"], p["name"]) for p in snap.packages}
    caps.problems += [
        f"subscriber {s['email']} holds {s['package']}, not a package of its customer"
        for s in snap.subscribers.values()
        if (s["customer_id"], s["package"]) not in packages
    ]
    full = sum(1 for p in snap.packages if p["quantity_limit"] is not None and p["assigned"] == p["quantity_limit"])
    caps.detail = f"{capped} capped packages, {full} full"
    checks.append(caps)

    # 6. The ledger: its chain verifies, and its holdings are the data's.
    ledger = Check("usage ledger: `wholesale ledger verify` passes and its holdings are the data's")
    code, printed = verified
    ledger.detail = printed.splitlines()[-1] if printed else ""
    if code != 0:
        ledger.fail(f"ledger verify exit {code}: {printed[-500:]}")
    units: dict[tuple[str, str], int] = {}
    per_subscriber: dict[tuple[str, str], int] = defaultdict(int)
    assigned_rows: Counter[str] = Counter()
    added: Counter[tuple[str, str]] = Counter()
    for row in snap.ledger:
        if row["kind"] in ("customer.details", "subscriber.details"):
            continue
        units[(row["customer_id"], row["package"])] = row["units_after"]
        if row["customer_id"] not in snap.customers:
            ledger.fail(f"row seq {row['seq']} names customer {row['customer_id']}, which does not exist")
        if row["subscriber_id"]:
            per_subscriber[(row["subscriber_id"], row["package"])] += row["delta"]
            if row["kind"] == "subscriber.assigned":
                assigned_rows[row["subscriber_id"]] += 1
        if row["kind"] == "package.added":
            added[(row["customer_id"], row["package"])] += 1
    for p in snap.packages:
        key = (p["customer_id"], p["name"])
        if units.get(key) != p["assigned"]:
            ledger.fail(f"{key}: the ledger says {units.get(key)} units, the data {p['assigned']}")
        if added[key] != 1:
            ledger.fail(f"{key}: {added[key]} package.added rows")
    for sid, s in snap.subscribers.items():
        if assigned_rows[sid] != 1:
            ledger.fail(f"subscriber {s['email']}: {assigned_rows[sid]} subscriber.assigned rows")
    for (sid, package), held in per_subscriber.items():
        s = snap.subscribers.get(sid)
        expected = 1 if s is not None and s["package"] == package else 0
        if held != expected:
            ledger.fail(f"subscriber {sid} {package}: the ledger holds {held}, the data {expected}")
    # Each package's rows run without a jump: every row's units are the previous row's plus its delta, and every
    # row carries the package's cap (no cap changes in this burst).
    running: dict[tuple[str, str], int] = {}
    limits = {(p["customer_id"], p["name"]): p["quantity_limit"] for p in snap.packages}
    jumps = 0
    for row in snap.ledger:
        if row["kind"] in ("customer.details", "subscriber.details"):
            continue
        key = (row["customer_id"], row["package"])
        expected_units = running.get(key, 0) + row["delta"]
        if row["units_after"] != expected_units or (key in limits and row["quantity_limit"] != limits[key]):
            jumps += 1
            if jumps <= 5:
                ledger.fail(
                    f"row seq {row['seq']} ({row['kind']} {key}): {row['units_after']} units (limit "
                    f"{row['quantity_limit']}) after {running.get(key, 0)} and delta {row['delta']}"
                    f" (limit {limits.get(key)})"
                )
        running[key] = row["units_after"]
    checks.append(ledger)

    # 7. The event feed.
    feed_check = Check("event feed: each event once, one created event per customer/subscriber/import, in order")
    ids = Counter(e["id"] for e in feed)
    feed_check.problems += [f"event {i} read {n} times" for i, n in ids.items() if n > 1]
    if len(feed) != snap.events:
        feed_check.fail(f"the feed gave {len(feed)} events, the database holds {snap.events}")
    position: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, e in enumerate(feed):
        position[(e["type"], e["data"]["id"])].append(n)
    for cid, c in snap.customers.items():
        got = [position.get((t, cid), []) for t in ("customer.created", "org.created", "customer.settled")]
        if any(len(g) != 1 for g in got):
            feed_check.fail(f"customer {c['external_id']}: created/org/settled events {[len(g) for g in got]}")
        elif not got[0][0] < got[1][0] < got[2][0]:
            feed_check.fail(f"customer {c['external_id']}: created, org and settled out of order")
    for sid, s in snap.subscribers.items():
        got = position.get(("subscriber.created", sid), [])
        if len(got) != 1:
            feed_check.fail(f"subscriber {s['email']}: {len(got)} created events")
        elif (feed[got[0]]["data"].get("customerId"), feed[got[0]]["data"].get("package")) != (
            s["customer_id"],
            s["package"],
        ):
            feed_check.fail(f"subscriber {s['email']}: its created event says {feed[got[0]]['data']}")
        elif position.get(("customer.created", s["customer_id"]), [len(feed)])[0] > got[0]:
            feed_check.fail(f"subscriber {s['email']}: created before its customer")
    for bid in snap.bulks:
        got = [position.get((t, bid), []) for t in ("subscribers.import_requested", "subscribers.import_finished")]
        if any(len(g) != 1 for g in got) or got[0][0] > got[1][0]:
            feed_check.fail(f"bulk import {bid}: requested/finished events {got}")
    created = {
        "customer": "customer.created",
        "subscriber": "subscriber.created",
        "bulk": "subscribers.import_requested",
    }
    # Real-time order: a create answered 2xx before another was sent comes first in the feed.
    first_time = sorted(
        (c for c in acked if not c.retried and (created[c.kind], c.made_id) in position), key=lambda c: c.answered
    )
    by_sent = sorted(first_time, key=lambda c: c.sent)
    best, i, last = -1, 0, None
    order_problems = 0
    for call in by_sent:
        while i < len(first_time) and first_time[i].answered < call.sent:
            at = position[(created[first_time[i].kind], first_time[i].made_id)][0]
            if at > best:
                best, last = at, first_time[i]
            i += 1
        at = position[(created[call.kind], call.made_id)][0]
        if at < best:
            order_problems += 1
            if order_problems <= 5:
                assert last is not None
                feed_check.fail(
                    f"{call.kind} {call.n} was sent after {last.kind} {last.n} was answered, yet comes before it"
                )
    feed_check.detail = f"{len(feed)} events, real-time order checked on {len(first_time)} acknowledged creates"
    checks.append(feed_check)

    # 8. Nothing half-made anywhere: users, orgs and subscribers agree.
    whole = Check("nothing half-made: each customer org's users are its subscribers, each import's rows exist")
    subs_by_user = {s["user_id"]: s for s in snap.subscribers.values()}
    unit_less = {c["primary_email"] for c in snap.customers.values() if c["external_id"] in plan.no_unit}
    for u in snap.users:
        s = subs_by_user.get(u["id"])
        if s is None and u["email"] not in unit_less:
            whole.fail(f"user {u['email']} of a customer org has no subscriber")
        elif s is None:
            continue
        elif s["org_id"] != u["org_id"] or s["email"] != u["email"]:
            whole.fail(f"user {u['email']} and its subscriber disagree")
    whole.problems += [
        f"subscriber {s['email']}: its user is not in a customer org"
        for s in snap.subscribers.values()
        if s["user_id"] not in {u["id"] for u in snap.users}
    ]
    for call in calls:
        if call.kind != "customer" and call.outcome in ("skipped", "unsent"):
            state, _ = state_of(call, snap)
            if state != "absent":
                whole.fail(f"{call.kind} {call.n} was never sent but {state}")
    checks.append(whole)

    # 9. The unanswered: absent or whole before the retry, converged after it.
    unanswered = [c for c in calls if c.retried]
    conv = Check("unanswered requests: absent or whole before the retry; the retry converged, never a duplicate")
    for call in unanswered:
        if call.before_retry.startswith("half-made"):
            conv.fail(f"{call.kind} {call.n} before its retry: {call.before_retry}")
        if call.outcome not in ("ack", "refused"):
            conv.fail(f"{call.kind} {call.n}: the retry got {call.outcome} {call.status} {call.error}")
            continue
        if call.existing_id is not None and call.outcome == "ack" and call.made_id != call.existing_id:
            conv.fail(f"{call.kind} {call.n}: existed as {call.existing_id}, the retry answered {call.made_id}")
        if call.existing_id is not None and call.outcome != "ack":
            conv.fail(f"{call.kind} {call.n}: existed as {call.existing_id}, the retry got {call.status}")
        if call.replayed != (call.existing_id is not None):
            what = "a replay" if call.replayed else "no replay"
            conv.fail(f"{call.kind} {call.n}: {call.before_retry} before the retry, which got {what}")
        state, now = state_of(call, snap)
        if call.outcome == "ack" and (state != "whole" or now != call.made_id):
            conv.fail(f"{call.kind} {call.n}: after the retry {state} ({now}), answered {call.made_id}")
    made_before = sum(1 for c in unanswered if c.before_retry == "whole")
    if committed_unanswered and not made_before:
        conv.fail("a process killed itself right after a commit, yet no unanswered create had committed")
    conv.detail = (
        f"{len(unanswered)} unanswered, {made_before} had committed before the kill"
        f" ({sum(1 for c in unanswered if c.replayed)} retries answered by a replay)"
    )
    checks.append(conv)

    # 10. Idempotency-Keys outlive the crash: a 2xx create sent again with its key is a replay of its answer.
    keys = Check("idempotency keys survive the crash: a 2xx create sent again with its key replays its answer")
    for first, again in replays or []:
        if not again.replayed or again.status != first.status or again.made_id != first.made_id:
            keys.fail(
                f"{first.kind} {first.n}: answered {first.status} {first.made_id}, sent again: {again.outcome} "
                f"{again.status} {again.error} {again.made_id} (replayed: {again.replayed})"
            )
    keys.detail = f"{len(replays or [])} sent again, the last 30 answered before the kill among them"
    checks.append(keys)

    # 11. Jobs: every workflow finished, none failed.
    jobs = Check("jobs: no workflow failed or left pending; recovered ones finished once")
    by_status = Counter((w["name"], w["status"]) for w in snap.workflows)
    for w in snap.workflows:
        if w["status"] in FAILED_WORKFLOW or (w["name"] in WORKFLOWS and w["status"] != "SUCCESS"):
            jobs.fail(f"{w['workflow_uuid']}: {w['status']}")
    recovered = sum(1 for w in snap.workflows if (w["recovery_attempts"] or 0) > 1)
    jobs.detail = f"{sum(by_status.values())} workflows, {recovered} recovered after the kill"
    checks.append(jobs)
    return checks


# ---------------------------------------------------------------------------------------------- one run


@dataclass
class Result:
    """What one run found."""

    cfg: Config
    backend: str
    kills: list[Kill]
    counts: dict[str, Any]
    times: dict[str, float]
    checks: list[Check]
    log: Path
    plan: Plan
    snapshot: Snapshot  # what the checks read: kept so a test can show they catch a broken database
    feed: list[dict[str, Any]]
    verified: tuple[int, str]
    load: tuple[float, float, float]  # the machine's load average when the run ended

    @property
    def calls(self) -> list[Call]:
        return self.plan.calls

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def report(self) -> str:
        lines = [f"run seed={self.cfg.seed} backend={self.backend} log={self.log}"]
        for k in self.kills:
            lines.append(
                f"  kill {k.what}: after {k.answered} answered requests, {k.elapsed:.1f} s into the burst, "
                f"{k.in_flight} in flight; back in {k.down:.1f} s{'; ' + k.note if k.note else ''}"
            )
            if k.executor:
                lines.append(
                    f"    {k.recovered} unfinished workflows recovered by its restart, the last finished "
                    f"{k.recovered_in:.1f} s after it"
                )
        for key, value in self.counts.items():
            lines.append(f"  {key}: {value}")
        lines.append("  times: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.times.items()))
        lines.append("  machine load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in self.load))
        lines += ["  " + c.line() for c in self.checks]
        lines.append(f"  => {'PASS' if self.ok else 'FAIL'}")
        return "\n".join(lines)


def _fresh_url(cfg: Config, work: Path) -> str:
    if not cfg.postgres_url:
        return f"sqlite:///{work / 'crash.db'}"
    name = f"wholesale_crash_{cfg.seed}_{uuid.uuid4().hex[:6]}"
    engine = sa.create_engine(normalise_url(cfg.postgres_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.make_url(normalise_url(cfg.postgres_url)).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, url: str) -> None:
    name = sa.make_url(url).database
    engine = sa.create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _by(calls: Iterable[Call], pick: Callable[[Call], bool]) -> str:
    counted = Counter(c.kind for c in calls if pick(c))
    return ", ".join(f"{counted[k]} {k}" for k in ("customer", "subscriber", "bulk")) or "0"


def run(cfg: Config) -> Result:
    """One crash run (see the module docstring)."""
    work = cfg.work_dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"wholesale-crash-{cfg.seed}-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True, exist_ok=True)
    url = _fresh_url(cfg, work)
    demo = processes.prepare(url)
    token = demo["partner-admin token"]
    partner = demo["partner org id"]
    plan = make_plan(
        cfg.seed, cfg.customers, cfg.subscribers, cfg.bulk_share, demo["customer template (provisioningId)"]
    )
    top = Topology(url, work, postgres=bool(cfg.postgres_url))
    engine = sa.create_engine(normalise_url(url))
    times: dict[str, float] = {}
    try:
        kills = KillPlan.draw(cfg, len(plan.calls))
        top.start(kills)
        burst = Burst(cfg, plan, top, token, kills)
        asyncio.run(burst.run(engine))
        times["burst"] = burst.finished - burst.started
        when, left = settle(engine, cfg.settle_timeout)
        times["settle after the burst"] = max(when.values(), default=0.0) if not any(left.values()) else float("inf")
        times |= {f"  {k} settled": v for k, v in when.items()}
        snap = Snapshot.read(engine, partner)
        unanswered = [c for c in plan.calls if c.outcome == "unanswered"]
        for call in unanswered:
            call.before_retry, call.existing_id = state_of(call, snap)
        retry_started = time.monotonic()
        asyncio.run(burst.retry(unanswered))
        times["retries"] = time.monotonic() - retry_started
        when, left = settle(engine, cfg.settle_timeout)
        times["settle after the retries"] = max(when.values(), default=0.0) if not any(left.values()) else float("inf")
        replays = asyncio.run(burst.replay(burst.replay_sample()))
        snap = Snapshot.read(engine, partner)
        feed = read_feed(f"http://127.0.0.1:{top.ports[0]}", {"Authorization": f"Bearer {token}"})
    finally:
        top.stop()
    # Only the killed process that ran jobs (serve, or the worker) left workflows to recover; a worker's restart
    # hands its queued ones back to the queue, so the other worker may be the one that finishes them.
    recovered = [w for w in snap.workflows if (w["recovery_attempts"] or 0) > 1]
    for kill in burst.kills:
        if kill.executor:
            kill.recovered = len(recovered)
            if recovered:
                kill.recovered_in = max(int(w["updated_at"]) for w in recovered) / 1000 - kill.restarted_at
    verified = ledger_verify(url)
    self_killed = any(k.note.startswith("it killed itself") for k in burst.kills)
    checks = check(plan, snap, feed, verified, committed_unanswered=self_killed, replays=replays)
    if any(left.values()):
        checks.insert(0, Check("everything settled", [f"still moving after {cfg.settle_timeout:.0f} s: {left}"]))
    engine.dispose()
    if cfg.postgres_url and all(c.ok for c in checks):  # a failed run's database stays, to be looked into
        _drop_database(cfg.postgres_url, url)
    statuses = Counter(c["status"] for c in snap.customers.values())
    counts = {
        "planned": f"{cfg.customers} customers, {cfg.subscribers} subscribers "
        f"({sum(1 for c in plan.calls if c.kind == 'subscriber')} single creates, "
        f"{sum(1 for c in plan.calls if c.kind == 'bulk')} bulk imports of "
        f"{sum(len(c.body['rows']) for c in plan.calls if c.kind == 'bulk')} rows)",
        "acknowledged (2xx)": _by(plan.calls, lambda c: c.outcome == "ack" and not c.retried),
        "refused (cap reached)": _by(plan.calls, lambda c: c.outcome == "refused"),
        "failed (5xx)": _by(plan.calls, lambda c: c.outcome == "failed"),
        "unanswered (retried)": _by(plan.calls, lambda c: c.retried)
        + f" ({', '.join(f'{n} {e}' for e, n in Counter(c.error for c in plan.calls if c.retried).items()) or 'none'})",
        "  of which had committed": _by(plan.calls, lambda c: c.before_retry == "whole"),
        "  retry answered 2xx": _by(plan.calls, lambda c: c.retried and c.outcome == "ack"),
        "not sent (their customer was unanswered)": _by(plan.calls, lambda c: c.outcome == "skipped"),
        "final": f"{len(snap.customers)} customers {dict(statuses)}, {len(snap.subscribers)} subscribers "
        f"(incl. {len(snap.customers) - len(plan.no_unit)} full admins; {len(plan.no_unit)} admins got no unit), {len(snap.bulks)} bulk imports, "
        f"{len(snap.ledger)} ledger rows, {len(feed)} events",
    }
    return Result(
        cfg,
        "postgresql (2 API + 2 workers)" if cfg.postgres_url else "sqlite (serve)",
        burst.kills,
        counts,
        times,
        checks,
        top.log,
        plan,
        snap,
        feed,
        verified,
        os.getloadavg(),
    )
