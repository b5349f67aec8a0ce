"""What the partner event rows (issue 12) add to a customer create: the server's CPU per customer, from the POST
to `provisioned` (the create writes `customer.created`, its provisioning run `org.created` and `customer.settled`),
with the events on, as a ratio to the same server with them switched off (bench/events_off.py), measured
alternately on fresh databases in the same run. Goal: ratio <= 1.1.

    .venv/bin/python bench/events_cost.py [--customers 300] [--clients 16] [--rounds 2]
"""

import argparse
import asyncio
import statistics

from common import PY, serve_demo, server_figures, stop
from customers_create import body, post_all, wait_settled


async def idle_cpu(base: str, quiet: float = 0.15) -> float:
    """The server's CPU seconds once it is idle (less than `quiet` s of CPU in a second; idle polling stays under)."""
    last = server_figures(base)["cpu"]
    while True:
        await asyncio.sleep(1)
        now = server_figures(base)["cpu"]
        if now - last < quiet:
            return now
        last = now


async def one_round(events: bool, n: int, clients: int) -> float:
    """Server CPU (ms) per customer created and provisioned, on a fresh database."""
    command = None if events else [PY, "bench/events_off.py"]
    _url, _tmp, seeded, port, server = serve_demo(command, WHOLESALE_RATE_LIMIT_PER_MINUTE="0")
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    base = f"http://127.0.0.1:{port}"
    try:
        template = seeded["customer template (provisioningId)"]
        list_url = f"{base}/v1/wholesale/customers"
        await asyncio.sleep(1)
        before = server_figures(base)["cpu"]
        await post_all(list_url, headers, [body(template, "ev", i) for i in range(n)], clients)
        await wait_settled(list_url, headers)
        after = await idle_cpu(base)  # the screening jobs of the burst drain after provisioning: count them too
    finally:
        stop(server)
    return (after - before) / n * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for events in (False, True):  # alternate, so drift hits both alike
            runs[events].append(await one_round(events, args.customers, args.clients))
    on, off = statistics.median(runs[True]), statistics.median(runs[False])
    each = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(runs[True], runs[False], strict=True))
    print(f"{args.customers} customers per round, {args.rounds} rounds, SQLite, in-process workers")
    print(
        f"server CPU per customer (create + provisioning), events on {on:.2f} ms, off {off:.2f} ms; "
        f"ratio {on / off:.2f} (goal <= 1.1); rounds on/off: {each}"
    )


if __name__ == "__main__":
    asyncio.run(main())
