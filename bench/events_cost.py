"""What the partner event rows (issue 12) add to a customer create: the server's CPU per customer, from the POST
to `provisioned` (the create writes `customer.created`, its provisioning run `org.created` and `customer.settled`),
with the events on, as a ratio to the same server with them switched off (bench/events_off.py), measured
alternately on fresh databases in the same run. Goal: ratio <= 1.1.

    .venv/bin/python bench/events_cost.py [--customers 300] [--clients 16] [--rounds 2]
    .venv/bin/python bench/events_cost.py --in-process [--customers 150] [--rounds 3]

The server figures scatter by +-20 % between rounds (screening jobs and queue polls land in the window), so
`--in-process` measures the same path without HTTP or jobs: per customer, its create and its provisioning run
(`steps.converge`), one transaction each, through the services, process CPU time, events on and off alternating
in one process on one SQLite database.
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


def in_process(n: int, rounds: int) -> None:
    """The paired measurement without HTTP: create + provisioning through the services (no jobs enqueued)."""
    import os
    import sys
    import tempfile
    import time
    from pathlib import Path

    os.environ["WHOLESALE_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='wholesale-bench-')}/bench.db"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from helpers import customer_body
    from wholesale.config import get_settings
    from wholesale.customers import service as customers
    from wholesale.customers.schemas import CustomerCreate, TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.db.session import get_database
    from wholesale.events import catalog
    from wholesale.identity.roles import Role
    from wholesale.identity.schemas import Principal
    from wholesale.migrate import migrate
    from wholesale.partners import tenancy
    from wholesale.partners.service import create_partner
    from wholesale.provisioning import steps

    migrate(get_settings())
    customers._enqueue_converge = lambda *a, **k: None  # type: ignore[assignment]  # the runs are called below
    customers.request_screening = lambda *a, **k: None  # type: ignore[assignment]
    db = get_database()
    with db.transaction() as s:
        partner = create_partner(s, name="Bench")
        template = add_template(s, partner.org_id, TemplateIn(name="Standard")).id
    principal = Principal("bench", partner.org_id, Role.PARTNER_ADMIN, frozenset(), partner.org_id)

    def per_customer(count: int) -> float:
        started = time.process_time()
        for _ in range(count):
            with db.transaction() as s:
                tenant = tenancy.resolve(s, principal, None, writing=True)
                body = CustomerCreate.model_validate(customer_body(template))
                customer = customers.create_customer(s, tenant, body)
            with db.transaction() as s:
                steps.converge(s, s.merge(customer), new=True)
        return (time.process_time() - started) / count * 1000

    per_customer(30)  # warm up
    published = dict(catalog.PUBLISHED)
    on, off = [], []
    for _ in range(rounds):  # alternate, so drift hits both alike
        catalog.PUBLISHED.clear()
        off.append(per_customer(n))
        catalog.PUBLISHED.update(published)
        on.append(per_customer(n))
    m_on, m_off = statistics.median(on), statistics.median(off)
    each = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(on, off, strict=True))
    print(f"{n} customers per side and round, {rounds} rounds, in process, SQLite")
    print(
        f"CPU per customer (create + provisioning run), events on {m_on:.2f} ms, off {m_off:.2f} ms; "
        f"ratio {m_on / m_off:.2f} (goal <= 1.1); rounds on/off: {each}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-process", action="store_true", help="the paired measurement without HTTP or jobs")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.customers, args.rounds)
        return
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
