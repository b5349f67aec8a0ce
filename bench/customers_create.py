"""Customer provisioning on SQLite with in-process workers:
  1. N customers (default 200) created concurrently: accepted/s and POST -> `provisioned` latency p50/p99 (goal p50 < 1 s, p99 < 3 s);
  2. 32-client create throughput against a bare FastAPI route doing one SQLite insert, same run (goal ratio >= 0.5).

    .venv/bin/python bench/customers_create.py [--customers 200] [--clients 32] [--throughput-requests 600]
"""

import argparse
import asyncio
import statistics
import time

import httpx

from common import PY, demo, free_port, fresh_sqlite, start, stop


def body(template: str, tag: str, i: int) -> dict:
    return {
        "provisioningId": template,
        "packages": ["webex_meetings", "webex_calling"],
        "externalId": f"{tag}-{i}",
        "address": {"addressLine1": "1 Main St", "city": "Austin", "stateOrProvince": "TX", "country": "US"},
        "customerInfo": {"name": f"Bench {tag} {i}", "primaryEmail": f"{tag}{i}@bench.example.com"},
        "provisioningParameters": {
            "calling": {
                "location": {
                    "name": "HQ",
                    "address": {"addressLine1": "1 Main St", "city": "Austin", "stateOrProvince": "TX", "country": "US"},
                    "timezone": "America/Chicago",
                    "language": "en_us",
                }
            }
        },
    }


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


async def watch(list_url: str, headers: dict, ids: set[str], timeout: float = 300) -> dict[str, float]:
    """Poll the list until every id is provisioned; return when each was first seen provisioned."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=60) as c:
        while len(seen) < len(ids) and time.monotonic() < deadline:
            offset = 0
            while True:
                r = await c.get(f"{list_url}?status=provisioned&max=1000&offset={offset}", headers=headers)
                items = r.json()["items"]
                now = time.monotonic()
                for item in items:
                    if item["id"] in ids and item["id"] not in seen:
                        seen[item["id"]] = now
                if "link" not in r.headers:
                    break
                offset += 1000
            await asyncio.sleep(0.05)
    return seen


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--throughput-requests", type=int, default=600)
    args = parser.parse_args()

    url, tmp = fresh_sqlite()
    seeded = demo(url)
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    template = seeded["customer template (provisioningId)"]
    port = free_port()
    server = start([PY, "-m", "wholesale.cli", "serve", "--port", str(port)], url, port, tmp / "serve.log", WHOLESALE_RATE_LIMIT_PER_MINUTE="100000000")
    try:
        create_url = f"http://127.0.0.1:{port}/v1/wholesale/customers"
        bodies = [body(template, "lat", i) for i in range(args.customers)]
        watcher_ids: set[str] = set()
        accepted, elapsed = await post_all(create_url, headers, bodies, args.clients)
        watcher_ids = {cid for cid, _ in accepted}
        seen = await watch(create_url, headers, watcher_ids)
        latencies = [seen[cid] - at for cid, at in accepted if cid in seen]
        missing = len(accepted) - len(latencies)
        # Throughput phase: a fresh batch, as fast as 32 clients can send.
        tp_bodies = [body(template, "tp", i) for i in range(args.throughput_requests)]
        _, tp_elapsed = await post_all(create_url, headers, tp_bodies, args.clients)
        ours_tp = len(tp_bodies) / tp_elapsed
    finally:
        stop(server)
    bare_port = free_port()
    bare = start([PY, "-m", "uvicorn", "bare_insert_app:app", "--port", str(bare_port), "--log-level", "warning", "--no-access-log", "--app-dir", "bench"], url, bare_port, tmp / "bare.log")
    try:
        _, bare_elapsed = await post_all(f"http://127.0.0.1:{bare_port}/insert", {}, [body(template, "bare", i) for i in range(args.throughput_requests)], args.clients)
        bare_tp = args.throughput_requests / bare_elapsed
    finally:
        stop(bare)
    print(f"{args.customers} customers, {args.clients} concurrent clients, SQLite, in-process workers")
    print(f"accepted: {len(accepted) / elapsed:.1f} customers/s ({elapsed:.2f} s for all POSTs)")
    print(f"POST -> provisioned: p50 {pct(latencies, 50):.3f} s, p99 {pct(latencies, 99):.3f} s, max {max(latencies):.3f} s (goal p50 < 1 s, p99 < 3 s); not provisioned: {missing}")
    print(f"create throughput, {args.throughput_requests} requests: wholesale {ours_tp:.1f} req/s, bare insert route {bare_tp:.1f} req/s")
    print(f"ratio: {ours_tp / bare_tp:.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
