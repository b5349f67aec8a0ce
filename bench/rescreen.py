"""Re-screening after a list update (R10) on SQLite with in-process workers: N customers created through the API,
then `wholesale lists load` with the shipped lists (a new version in force), timed until every live customer
carries a `lists_updated` screening of it. No goal in an issue; the figure shows the job keeps up with a list
update on a platform of this size.

    .venv/bin/python bench/rescreen.py [--customers 1000]
"""

import argparse
import asyncio
import sqlite3
import time

from common import cli, serve_demo, stop
from customers_create import body, post_all, wait_settled


def rescreened(db_path: str) -> tuple[int, int]:
    """(live customers, live customers with a `lists_updated` screening)."""
    conn = sqlite3.connect(db_path)
    try:
        live = conn.execute("SELECT count(*) FROM customers WHERE deleted_at IS NULL").fetchone()[0]
        done = conn.execute(
            "SELECT count(DISTINCT s.customer_id) FROM screenings s JOIN customers c ON c.id = s.customer_id "
            "WHERE c.deleted_at IS NULL AND s.\"trigger\" = 'lists_updated'"
        ).fetchone()[0]
        return live, done
    finally:
        conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args()
    url, _tmp, seeded, port, server = serve_demo()
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    template = seeded["customer template (provisioningId)"]
    db_path = url.removeprefix("sqlite:///")
    try:
        create_url = f"http://127.0.0.1:{port}/v1/wholesale/customers"
        await post_all(create_url, headers, [body(template, "rs", i) for i in range(args.customers)], 32)
        await wait_settled(create_url, headers)
        from wholesale.compliance.screening import default_list_paths

        started = time.monotonic()
        cli(url, "lists", "load", *[str(p) for p in default_list_paths()])
        live, done = rescreened(db_path)
        while done < live:
            if time.monotonic() - started > 1800:
                raise RuntimeError(f"only {done} of {live} re-screened after 30 minutes")
            time.sleep(0.2)
            live, done = rescreened(db_path)
        elapsed = time.monotonic() - started
    finally:
        stop(server)
    print(
        f"{live} customers re-screened after a list load in {elapsed:.1f} s ({live / elapsed:.0f} customers/s), SQLite, in-process workers"
    )
    print(
        "(from `wholesale lists load` until every live customer has its `lists_updated` screening; includes indexing the new lists)"
    )


if __name__ == "__main__":
    asyncio.run(main())
