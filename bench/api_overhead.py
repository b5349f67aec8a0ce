"""Requests/s of an authenticated GET /v1/wholesale/customers served by `wholesale serve`, against a bare FastAPI
route doing the same queries under the same uvicorn settings, in the same run; prints both and the ratio (goal >= 0.6).

    .venv/bin/python bench/api_overhead.py [--customers 20] [--seconds 10] [--connections 32]
"""

import argparse
import time

import httpx

from common import PY, demo, free_port, fresh_sqlite, load, start, stop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    url, tmp = fresh_sqlite()
    seeded = demo(url)
    token, template, partner = (
        seeded["partner-admin token"],
        seeded["customer template (provisioningId)"],
        seeded["partner org id"],
    )
    headers = {"Authorization": f"Bearer {token}"}
    ours_port, bare_port = free_port(), free_port()
    ours = start(
        [PY, "-m", "wholesale.cli", "serve", "--port", str(ours_port)],
        url,
        ours_port,
        tmp / "serve.log",
        ready_path="/readyz",
        WHOLESALE_LOG_REQUESTS="true",
        WHOLESALE_RATE_LIMIT_PER_MINUTE="100000000",
    )
    try:
        base = f"http://127.0.0.1:{ours_port}/v1/wholesale/customers"
        for i in range(args.customers):
            body = {
                "provisioningId": template,
                "packages": ["webex_meetings"],
                "externalId": f"bench-{i}",
                "address": {"addressLine1": "1 Main St", "city": "Berlin", "country": "DE"},
                "customerInfo": {"name": f"Bench {i}", "primaryEmail": f"bench{i}@example.com"},
            }
            httpx.post(base, json=body, headers=headers).raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            items = httpx.get(base, headers=headers).json()["items"]
            if all(c["status"] == "provisioned" for c in items):
                break
            time.sleep(0.2)
        load(base, headers, 2, args.connections)  # warm-up
        ours_rps, tool = load(base, headers, args.seconds, args.connections)
    finally:
        stop(ours)
    bare = start(
        [
            PY,
            "-m",
            "uvicorn",
            "bare_app:app",
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
        BENCH_PARTNER_ORG_ID=partner,
    )
    try:
        bare_url = f"http://127.0.0.1:{bare_port}/v1/wholesale/customers"
        assert len(httpx.get(bare_url).json()["items"]) == args.customers
        load(bare_url, {}, 2, args.connections)
        bare_rps, _ = load(bare_url, {}, args.seconds, args.connections)
    finally:
        stop(bare)
    print(
        f"customers listed per request: {args.customers}; connections: {args.connections}; seconds: {args.seconds}; load tool: {tool}"
    )
    print(f"wholesale serve (auth, tenancy, logging, metrics): {ours_rps:8.1f} req/s")
    print(f"bare FastAPI route, same queries:                  {bare_rps:8.1f} req/s")
    print(f"ratio: {ours_rps / bare_rps:.2f}  (goal >= 0.6)")


if __name__ == "__main__":
    main()
