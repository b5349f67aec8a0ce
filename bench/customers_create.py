"""Customer provisioning on SQLite with in-process workers:
1. N customers (default 200) created concurrently: accepted/s and POST -> `provisioned` latency p50/p99 (goal p50 < 1 s, p99 < 3 s);
2. 32-client create throughput against a bare FastAPI route doing one SQLite insert, same run (goal ratio >= 0.5).

  .venv/bin/python bench/customers_create.py [--customers 200] [--clients 32] [--throughput-requests 600]
"""

import argparse
import asyncio
import sqlite3
import statistics
import time
from datetime import datetime

import httpx

from common import PY, customer_body, free_port, serve_demo, server_figures, start, stop


def body(template: str, tag: str, i: int) -> dict:
    return customer_body(
        template, f"{tag}-{i}", f"Bench {tag} {i}", f"{tag}{i}@bench.example.com", ["webex_meetings", "webex_calling"]
    )


async def post_all(url: str, headers: dict, bodies: list[dict], clients: int) -> tuple[list[tuple[str, float]], float]:
    """POST every body with `clients` concurrent connections; return (customer id, accepted-at) and the elapsed time."""
    queue: asyncio.Queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    accepted: list[tuple[str, float]] = []

    async def client(c: httpx.AsyncClient) -> None:
        while not queue.empty():
            b = queue.get_nowait()
            r = await c.post(url, json=b, headers=headers)
            r.raise_for_status()
            accepted.append((r.json()["url"].rsplit("/", 1)[1], time.monotonic()))

    started = time.monotonic()
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as c:
        await asyncio.gather(*(client(c) for _ in range(clients)))
    return accepted, time.monotonic() - started


async def wait_settled(list_url: str, headers: dict, timeout: float = 300) -> None:
    """Wait until no customer is provisioning (one cheap filtered query per poll, so polling costs little)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=60) as c:
        while time.monotonic() < deadline:
            r = await c.get(f"{list_url}?status=provisioning,updating&max=1", headers=headers)
            if not r.json()["items"]:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("customers still provisioning after the timeout")


def latencies_from_audit(db_path: str, ids: list[str]) -> tuple[list[float], int]:
    """Acceptance -> provisioned per customer, from the audit trail's own timestamps (created, settled)."""
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT subject_id, action, occurred_at FROM audit_events WHERE action IN ('customer.created', 'customer.settled')"
    ).fetchall()
    conn.close()
    created, settled = {}, {}
    for subject, action, at in rows:
        when = datetime.fromisoformat(at)
        (created if action == "customer.created" else settled).setdefault(subject, when)
    values = [(settled[i] - created[i]).total_seconds() for i in ids if i in settled and i in created]
    return values, len(ids) - len(values)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--throughput-requests", type=int, default=600)
    args = parser.parse_args()

    url, tmp, seeded, port, server = serve_demo()
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    template = seeded["customer template (provisioningId)"]
    try:
        create_url = f"http://127.0.0.1:{port}/v1/wholesale/customers"
        bodies = [body(template, "lat", i) for i in range(args.customers)]
        before = server_figures(f"http://127.0.0.1:{port}")
        burst_started = time.monotonic()
        accepted, elapsed = await post_all(create_url, headers, bodies, args.clients)
        await wait_settled(create_url, headers)
        burst = time.monotonic() - burst_started
        after = server_figures(f"http://127.0.0.1:{port}")
        latencies, missing = latencies_from_audit(url.removeprefix("sqlite:///"), [cid for cid, _ in accepted])
        # Throughput phase: a fresh batch, as fast as 32 clients can send.
        tp_bodies = [body(template, "tp", i) for i in range(args.throughput_requests)]
        _, tp_elapsed = await post_all(create_url, headers, tp_bodies, args.clients)
        ours_tp = len(tp_bodies) / tp_elapsed
    finally:
        stop(server)
    bare_port = free_port()
    bare = start(
        [
            PY,
            "-m",
            "uvicorn",
            "bare_insert_app:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--app-dir",
            "bench",
        ],
        url,
        bare_port,
        tmp / "bare.log",
    )
    try:
        _, bare_elapsed = await post_all(
            f"http://127.0.0.1:{bare_port}/insert",
            {},
            [body(template, "bare", i) for i in range(args.throughput_requests)],
            args.clients,
        )
        bare_tp = args.throughput_requests / bare_elapsed
    finally:
        stop(bare)
    print(f"{args.customers} customers, {args.clients} concurrent clients, SQLite, in-process workers")
    print(f"accepted: {len(accepted) / elapsed:.1f} customers/s ({elapsed:.2f} s for all POSTs)")
    print(
        f"accepted -> provisioned (audit trail timestamps): p50 {pct(latencies, 50):.3f} s, p99 {pct(latencies, 99):.3f} s, max {max(latencies):.3f} s (goal p50 < 1 s, p99 < 3 s); not provisioned: {missing}"
    )
    print(
        f"until all settled ({burst:.2f} s): server CPU {after['cpu'] - before['cpu']:.2f} s "
        f"({(after['cpu'] - before['cpu']) / args.customers * 1000:.1f} ms per customer, {(after['cpu'] - before['cpu']) / burst:.0%} of a core), "
        f"SQLite write lock held {(after['held'] - before['held']) / burst:.0%} of the time"
    )
    print(
        f"create throughput, {args.throughput_requests} requests: wholesale {ours_tp:.1f} req/s, bare insert route {bare_tp:.1f} req/s"
    )
    print(f"ratio: {ours_tp / bare_tp:.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
