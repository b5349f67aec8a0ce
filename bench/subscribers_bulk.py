"""10,000 subscribers for one customer on SQLite with in-process workers, from first request to all `provisioned`:
  1. through the API: POST /v1/wholesale/subscribers, 32 concurrent clients (a 200 means provisioned);
  2. through the bulk API: 10 x POST /v1/wholesale/subscribers/bulk of 1,000 rows, polled until completed;
  3. through the CLI: `wholesale subscribers import CUSTOMER FILE.csv`.
Goal: each <= 30 s on a 2-core machine. Baseline, same run: the same number of requests from the same 32 clients
to a bare FastAPI route doing one SQLite insert (the floor for one request per subscriber on this machine).

    .venv/bin/python bench/subscribers_bulk.py [--subscribers 10000] [--clients 32]
"""

import argparse
import asyncio
import csv
import subprocess
import time

import httpx

from common import PY, customer_body, demo, env_for, free_port, fresh_sqlite, server_figures, start, stop


def bench_customer(template: str, tag: str) -> dict:
    return customer_body(
        template,
        f"bench-{tag}",
        f"Bench {tag}",
        f"admin-{tag}@bench.example.com",
        ["webex_meetings", "webex_calling", "webex_suite"],
    )


def row(tag: str, i: int) -> dict:
    """Every other subscriber is a calling user with its own extension."""
    base = {"email": f"{tag}{i}@bench.example.com", "firstName": "Bench", "lastName": str(i)}
    if i % 2:
        return base | {"package": "webex_calling", "extension": str(100000 + i)}
    return base | {"package": "webex_meetings"}


def api_body(customer_id: str, r: dict) -> dict:
    params = {k: r[k] for k in ("firstName", "lastName", "extension") if k in r}
    return {
        "customerId": customer_id,
        "email": r["email"],
        "packages": [r["package"]],
        "provisioningParameters": params,
    }


async def make_customer(c: httpx.AsyncClient, base: str, template: str, tag: str) -> str:
    r = await c.post(f"{base}/v1/wholesale/customers", json=bench_customer(template, tag))
    r.raise_for_status()
    url = r.json()["url"]
    while (await c.get(url)).json()["status"] != "provisioned":
        await asyncio.sleep(0.05)
    return url.rsplit("/", 1)[1]


async def count_provisioned(c: httpx.AsyncClient, base: str, customer_id: str) -> int:
    """Walk the list by its Link headers and count provisioned subscribers (the full admin included)."""
    total, url = 0, f"{base}/v1/wholesale/subscribers?customerId={customer_id}&status=provisioned&max=100"
    while url:
        r = await c.get(url)
        total += len(r.json()["items"])
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    return total


async def through_api(
    c: httpx.AsyncClient,
    base: str,
    customer_id: str,
    rows: list[dict],
    clients: int,
    path: str = "/v1/wholesale/subscribers",
    ok: int = 200,
) -> float:
    queue: asyncio.Queue = asyncio.Queue()
    for r in rows:
        queue.put_nowait(r)
    failures: list[str] = []

    async def client() -> None:
        while not queue.empty():
            r = queue.get_nowait()
            response = await c.post(f"{base}{path}", json=api_body(customer_id, r))
            if response.status_code != ok:
                failures.append(response.text)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.monotonic() - started
    if failures:
        raise RuntimeError(f"{len(failures)} failed, first: {failures[0]}")
    return elapsed


async def through_bulk(c: httpx.AsyncClient, base: str, customer_id: str, rows: list[dict]) -> float:
    started = time.monotonic()
    urls = []
    for start_at in range(0, len(rows), 1000):
        r = await c.post(
            f"{base}/v1/wholesale/subscribers/bulk",
            json={"customerId": customer_id, "rows": rows[start_at : start_at + 1000]},
        )
        r.raise_for_status()
        urls.append(r.headers["location"])
    pending = set(urls)
    failed = 0
    while pending:
        for url in list(pending):
            job = (await c.get(url)).json()
            if job["status"] == "completed":
                pending.discard(url)
                failed += job["failed"]
        if pending:
            await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    if failed:
        raise RuntimeError(f"{failed} bulk rows failed")
    return elapsed


def through_cli(url: str, customer_id: str, rows: list[dict], tmp) -> float:
    file = tmp / "subscribers.csv"
    with file.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["email", "firstName", "lastName", "package", "primaryPhoneNumber", "extension"]
        )
        writer.writeheader()
        writer.writerows(rows)
    started = time.monotonic()
    subprocess.run(
        [PY, "-m", "wholesale.cli", "subscribers", "import", customer_id, str(file)],
        env=env_for(url),
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    n = args.subscribers

    url, tmp = fresh_sqlite()
    seeded = demo(url)
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    template = seeded["customer template (provisioningId)"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(
        [PY, "-m", "wholesale.cli", "serve", "--port", str(port)],
        url,
        port,
        tmp / "serve.log",
        ready_path="/readyz",
        WHOLESALE_RATE_LIMIT_PER_MINUTE="0",
    )
    figures = {}
    try:
        limits = httpx.Limits(max_connections=args.clients)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=120) as c:
            api_customer = await make_customer(c, base, template, "api")
            before = server_figures(base)
            figures["api"] = await through_api(c, base, api_customer, [row("api", i) for i in range(n)], args.clients)
            figures["api_cpu"] = server_figures(base)["cpu"] - before["cpu"]
            assert await count_provisioned(c, base, api_customer) == n + 1
            bulk_customer = await make_customer(c, base, template, "bulk")
            figures["bulk"] = await through_bulk(c, base, bulk_customer, [row("bulk", i) for i in range(n)])
            assert await count_provisioned(c, base, bulk_customer) == n + 1
            cli_customer = await make_customer(c, base, template, "cli")
            figures["cli"] = through_cli(url, cli_customer, [row("cli", i) for i in range(n)], tmp)
            assert await count_provisioned(c, base, cli_customer) == n + 1
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
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=args.clients), timeout=120) as c:
            figures["bare"] = await through_api(
                c,
                f"http://127.0.0.1:{bare_port}",
                "bare",
                [row("bare", i) for i in range(n)],
                args.clients,
                "/insert",
                202,
            )
    finally:
        stop(bare)
    print(
        f"{n} subscribers for one customer, SQLite, in-process workers (half webex_calling with extensions, half webex_meetings)"
    )
    print(
        f"API, {args.clients} concurrent clients: {figures['api']:.1f} s ({n / figures['api']:.0f} subscribers/s); "
        f"server CPU {figures['api_cpu'] / n * 1000:.1f} ms per create, {figures['api_cpu'] / figures['api']:.0%} of a core"
    )
    print(
        f"  baseline, {n} requests to a bare FastAPI route doing one SQLite insert, same clients: {figures['bare']:.1f} s ({n / figures['bare']:.0f} requests/s); ratio {figures['bare'] / figures['api']:.2f}"
    )
    print(
        f"bulk API, {n // 1000} jobs of 1,000 rows: {figures['bulk']:.1f} s ({n / figures['bulk']:.0f} subscribers/s)"
    )
    print(f"CLI import (one process, batches of 250): {figures['cli']:.1f} s ({n / figures['cli']:.0f} subscribers/s)")
    print("goal: each <= 30 s")


if __name__ == "__main__":
    asyncio.run(main())
