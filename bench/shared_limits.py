"""What the per-process rate limiter and token cache mean with several API processes, and what the rate limit kept
in PostgreSQL (WHOLESALE_RATE_LIMIT_STORE=database) costs (issue 16, docs/SCALING.md). On a throw-away PostgreSQL
(scripts/pg.sh):

    .venv/bin/python bench/shared_limits.py

1. Rate limit: every API process runs with WHOLESALE_RATE_LIMIT_PER_MINUTE=60 and WHOLESALE_RATE_LIMIT_BURST=10;
   one token sends 200 GETs (8 at a time) spread round-robin over 1 API process, over 2, and to one node with
   `--http-workers 2` (uvicorn processes sharing a port), with the buckets per process and in the database: how
   many got 200 and how many 429.
2. Token cache: a token in use on every API process (a GET each 50 ms per process) is revoked with `wholesale
   tokens revoke`: seconds from the revoke's commit until each process answers 401 (WHOLESALE_TOKEN_CACHE_SECONDS
   is 5).
3. The shared store's statement alone (`kit.ratelimit._spend_statement`: an atomic upsert that refills and
   spends, in its own transaction) on the migrated table, from 16 client threads for 5 s, on one hot key (every
   request of one token) and on a key per thread; baseline: `SELECT 1` from the same threads, same run.
   Throughput, latency p50/p99 and PostgreSQL's CPU per statement.
4. Through the API: 3,000 GETs over 2 API processes with a limit never reached, buckets per process vs in the
   database (twice each, alternating): requests/s, p50/p99, and the ratio database / process."""

import asyncio
import itertools
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from common import PY, cli, demo, exit_on_sigterm, free_port, stop
from procs import Postgres, launch, tree_cpu_seconds, wait_ready
from wholesale.db.session import normalise_url
from wholesale.kit.ratelimit import _spend_statement

LIMIT = {"WHOLESALE_RATE_LIMIT_PER_MINUTE": "60", "WHOLESALE_RATE_LIMIT_BURST": "10", "WHOLESALE_LOG_REQUESTS": "false"}


def start_apis(
    url: str, n: int, log: Path, http_workers: int = 1, **extra: str
) -> tuple[list[subprocess.Popen], list[int]]:
    procs, ports = [], []
    for _ in range(n):
        port = free_port()
        args = [PY, "-m", "wholesale.cli", "serve", "--no-workers", "--port", str(port)]
        if http_workers > 1:
            args += ["--http-workers", str(http_workers)]
        procs.append(launch(args, url, log, **(LIMIT | extra)))
        ports.append(port)
    for proc, port in zip(procs, ports, strict=True):
        wait_ready(proc, port)
    return procs, ports


async def burst(
    ports: list[int], token: str, n: int = 200, concurrency: int = 8, latencies: list[float] | None = None
) -> tuple[int, int, float]:
    """n GETs round-robin over the ports: (200s, 429s, seconds); each one's seconds go to `latencies`."""
    bases = itertools.cycle(f"http://127.0.0.1:{p}/v1/wholesale/customers?max=1" for p in ports)
    codes: list[int] = []
    queue = list(range(n))

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:

        async def worker() -> None:
            while queue:
                queue.pop()
                sent = time.perf_counter()
                codes.append((await c.get(next(bases))).status_code)
                if latencies is not None:
                    latencies.append(time.perf_counter() - sent)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    other = [x for x in codes if x not in (200, 429)]
    if other:
        raise RuntimeError(f"unexpected statuses {set(other)}")
    return codes.count(200), codes.count(429), time.monotonic() - started


def rate_limits(url: str, partner: str, tmp: Path) -> None:
    print("1. rate limit 60/min, burst 10, per token; 200 GETs of one token as fast as 8 connections go")
    for label, n, workers, store in (
        ("1 API process", 1, 1, "process"),
        ("2 API processes", 2, 1, "process"),
        ("1 node, --http-workers 2", 1, 2, "process"),
        ("2 API processes, store=database", 2, 1, "database"),
        ("1 node, --http-workers 2, database", 1, 2, "database"),
    ):
        procs, ports = start_apis(url, n, tmp / "limits.log", workers, WHOLESALE_RATE_LIMIT_STORE=store)
        # A token of its own per row: the shared store remembers a bucket across processes and runs.
        token = cli(url, "tokens", "create", "--org", partner, "--role", "partner-admin").strip()
        try:
            ok, limited, seconds = asyncio.run(burst(ports, token))
        finally:
            for p in procs:
                stop(p)
        print(f"   {label:<36} {ok:>4} answered 200, {limited:>4} got 429 ({seconds:.1f} s)")


def store_cost(url: str, token: str, tmp: Path, n: int = 3000) -> None:
    print(f"4. what the shared store costs a request: {n} GETs (8 connections) over 2 API processes, limit not reached")
    figures = {}
    for store in ("process", "database", "process", "database"):  # twice each, alternating: drift shows up
        procs, ports = start_apis(
            url,
            2,
            tmp / "cost.log",
            WHOLESALE_RATE_LIMIT_STORE=store,
            WHOLESALE_RATE_LIMIT_PER_MINUTE="10000000",
            WHOLESALE_RATE_LIMIT_BURST="1000000",
        )
        latencies: list[float] = []
        try:
            asyncio.run(burst(ports, token, n=200))  # warm-up
            ok, limited, seconds = asyncio.run(burst(ports, token, n=n, latencies=latencies))
        finally:
            for p in procs:
                stop(p)
        if ok != n:
            raise RuntimeError(f"{limited} limited with a limit that cannot be reached")
        q = statistics.quantiles(latencies, n=100, method="inclusive")
        figures.setdefault(store, []).append(n / seconds)
        print(
            f"   store={store:<8} {n / seconds:>6.0f} requests/s, p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"
        )
    ratio = statistics.mean(figures["database"]) / statistics.mean(figures["process"])
    print(f"   database / process throughput: {ratio:.2f}")


def token_cache(url: str, partner: str, tmp: Path) -> None:
    print("2. token cache (5 s): a token used every 50 ms on each of 2 API processes is revoked")
    token = cli(url, "tokens", "create", "--org", partner, "--role", "partner-admin").strip()
    procs, ports = start_apis(url, 2, tmp / "cache.log")
    first_401: dict[int, float] = {}
    revoked_at: list[float] = []
    stop_polling = threading.Event()

    def poll(port: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
            while not stop_polling.is_set():
                code = c.get(f"http://127.0.0.1:{port}/v1/wholesale/customers?max=1").status_code
                if code == 401 and port not in first_401:
                    first_401[port] = time.monotonic()
                time.sleep(0.05)

    threads = [threading.Thread(target=poll, args=(p,)) for p in ports]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)  # both processes have the token cached
        cli(url, "tokens", "revoke", token)
        revoked_at.append(time.monotonic())  # the CLI has exited: its transaction committed before
        deadline = time.monotonic() + 30
        while len(first_401) < len(ports) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_polling.set()
        for t in threads:
            t.join()
        for p in procs:
            stop(p)
    for i, port in enumerate(ports, 1):
        after = first_401.get(port)
        print(
            f"   API process {i}: 401 {after - revoked_at[0]:.2f} s after the revoke" if after else "   no 401 in 30 s"
        )


UPSERT = _spend_statement("postgresql")  # the statement the shared store runs per request


def db_bucket(pg: Postgres, threads: int = 16, seconds: float = 5.0) -> None:
    print(
        f"3. a token bucket in PostgreSQL: one upsert per request, own transaction, {threads} threads x {seconds:.0f} s"
    )
    url = pg.fresh_database("wholesale_limits")
    cli(url, "migrate")  # the real table
    engine = sa.create_engine(normalise_url(url), pool_size=threads, isolation_level="AUTOCOMMIT")
    postmaster = pg.postmaster_pid()

    def run(label: str, statement: sa.TextClause, key_of) -> None:
        latencies: list[list[float]] = [[] for _ in range(threads)]
        stop_at = time.monotonic() + seconds

        def worker(i: int) -> None:
            with engine.connect() as conn:
                params = {"key": key_of(i), "burst": 1e9, "rate": 1e9}
                while time.monotonic() < stop_at:
                    started = time.perf_counter()
                    conn.execute(statement, params).all()
                    latencies[i].append(time.perf_counter() - started)

        cpu_before = tree_cpu_seconds(postmaster) if postmaster else float("nan")
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.monotonic() - started
        cpu = (tree_cpu_seconds(postmaster) if postmaster else float("nan")) - cpu_before
        values = [v for lst in latencies for v in lst]
        q = statistics.quantiles(values, n=100, method="inclusive")
        print(
            f"   {label:<34} {len(values) / elapsed:>7.0f}/s, p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms, "
            f"PostgreSQL CPU {cpu / len(values) * 1e6:.0f} µs per statement"
        )

    # Warm the connections and the table's first rows.
    run("(warm-up)", UPSERT, lambda i: f"warm-{i}")
    run("SELECT 1 (baseline)", sa.text("SELECT 1"), lambda i: "")
    run("upsert, one hot key (one token)", UPSERT, lambda i: "hot")
    run("upsert, a key per thread", UPSERT, lambda i: f"key-{i}")
    engine.dispose()


def main() -> int:
    pg = Postgres.start()
    tmp = Path(tempfile.mkdtemp(prefix="wholesale-limits-"))
    print(f"shared limits: PostgreSQL {'throw-away cluster (fsync off)' if pg.pg_dir else pg.url}; logs {tmp}")
    try:
        url = pg.fresh_database("wholesale_limits_api")
        seeded = demo(url)
        rate_limits(url, seeded["partner org id"], tmp)
        token_cache(url, seeded["partner org id"], tmp)
        db_bucket(pg)
        store_cost(url, seeded["partner-admin token"], tmp)
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
