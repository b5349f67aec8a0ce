"""How many durable jobs per second the in-process DBOS workers finish on SQLite: N job probes (two steps each,
no sleep) enqueued through the API, timed until all are done. The ceiling every workflow-based path shares.

    .venv/bin/python bench/jobs_throughput.py [--jobs 300]
"""

import argparse
import sqlite3
import time

import httpx

from common import PY, demo, free_port, fresh_sqlite, start, stop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    url, tmp = fresh_sqlite()
    headers = {"Authorization": f"Bearer {demo(url)['operator token']}"}
    port = free_port()
    server = start(
        [PY, "-m", "wholesale.cli", "serve", "--port", str(port)],
        url,
        port,
        tmp / "serve.log",
        ready_path="/readyz",
        WHOLESALE_RATE_LIMIT_PER_MINUTE="100000000",
    )
    try:
        started = time.monotonic()
        with httpx.Client(headers=headers) as c:
            for _ in range(args.jobs):
                c.post(f"http://127.0.0.1:{port}/v1/ops/jobProbes", json={"sleepSeconds": 0}).raise_for_status()
        enqueued = time.monotonic() - started
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        while db.execute("SELECT count(*) FROM job_probes WHERE status = 'done'").fetchone()[0] < args.jobs:
            time.sleep(0.05)
        done = time.monotonic() - started
    finally:
        stop(server)
    print(f"{args.jobs} job probes (2 steps each), SQLite, in-process workers")
    print(f"enqueued in {enqueued:.2f} s; all finished after {done:.2f} s: {args.jobs / done:.0f} jobs/s")


if __name__ == "__main__":
    main()
