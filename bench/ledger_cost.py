"""What the usage ledger (R2) adds to a subscriber create, through the API (one request each) and the bulk API:
the server's CPU per subscriber with the ledger, as a ratio to the same server with the ledger switched off
(bench/ledger_off.py), measured alternately in the same run. Goal (issue 11): ratio <= 1.1 for each path.

    .venv/bin/python bench/ledger_cost.py [--subscribers 2000] [--clients 32] [--rounds 2]
"""

import argparse
import asyncio
import statistics

import httpx

from common import PY, serve_demo, server_figures, stop
from subscribers_bulk import make_customer, row, through_api, through_bulk


async def one_round(ledger: bool, n: int, clients: int) -> dict[str, float]:
    """Server CPU (ms) per subscriber for each path, on a fresh database."""
    command = None if ledger else [PY, "bench/ledger_off.py"]
    _url, _tmp, seeded, port, server = serve_demo(command, WHOLESALE_RATE_LIMIT_PER_MINUTE="0")
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    base = f"http://127.0.0.1:{port}"
    out: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(headers=headers, limits=httpx.Limits(max_connections=clients), timeout=120) as c:
            template = seeded["customer template (provisioningId)"]
            api_customer = await make_customer(c, base, template, "api")
            bulk_customer = await make_customer(c, base, template, "bulk")
            await asyncio.sleep(1)  # let the screening jobs of the two customers finish
            before = server_figures(base)["cpu"]
            out["api seconds"] = await through_api(c, base, api_customer, [row("api", i) for i in range(n)], clients)
            middle = server_figures(base)["cpu"]
            out["bulk seconds"] = await through_bulk(c, base, bulk_customer, [row("bulk", i) for i in range(n)])
            after = server_figures(base)["cpu"]
            out["api"] = (middle - before) / n * 1000
            out["bulk"] = (after - middle) / n * 1000
    finally:
        stop(server)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for _ in range(args.rounds):
        for ledger in (False, True):  # alternate, so drift hits both alike
            runs[ledger].append(await one_round(ledger, args.subscribers, args.clients))
    print(f"{args.subscribers} subscribers per path and round, {args.rounds} rounds, SQLite, in-process workers")
    for path in ("api", "bulk"):
        on = statistics.median(r[path] for r in runs[True])
        off = statistics.median(r[path] for r in runs[False])
        each = ", ".join(f"{a[path]:.2f}/{b[path]:.2f}" for a, b in zip(runs[True], runs[False], strict=True))
        print(
            f"{path:>4}: server CPU per subscriber, ledger on {on:.2f} ms, off {off:.2f} ms; "
            f"ratio {on / off:.2f} (goal <= 1.1); rounds on/off: {each}"
        )


if __name__ == "__main__":
    asyncio.run(main())
