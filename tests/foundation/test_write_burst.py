"""More concurrent write requests than the server has worker threads (issue 16, found by the crash harness): a write
request held a lock from one worker-thread hop to a later one (SQLite: the process write lock, from its tenancy
dependency's or Idempotency-Key claim's first query; PostgreSQL: the partner's ledger head, FOR UPDATE, from the
endpoint) until its commit, so 40 requests waiting for the lock in every thread left its holder no thread to finish
in: 100 concurrent creates stalled SQLite until the lock's 60 s timeout (94 unanswered after 120 s), and 80 stuck a
PostgreSQL API process for good. Write requests beyond a few now wait on the event loop
(kit.http.WRITE_REQUESTS_IN_FLIGHT)."""

import concurrent.futures
import time

import httpx
import pytest
import sqlalchemy as sa

import processes
from conftest import PG_URL, fresh_database_url
from helpers import customer_body

pytestmark = pytest.mark.slow

BURST = 80  # twice anyio's 40 worker threads


@pytest.mark.parametrize(
    "database",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL"))],
)
def test_a_burst_of_writes_wider_than_the_thread_pool_is_served_and_replayed_at_once(tmp_path, database):
    url = f"sqlite:///{tmp_path / 'burst.db'}" if database == "sqlite" else fresh_database_url(tmp_path)
    demo = processes.prepare(url)
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}/v1/wholesale/customers"
    server = processes.serve(url, port, tmp_path / "serve.log", WHOLESALE_RATE_LIMIT_PER_MINUTE="0")
    bodies = [
        customer_body(demo["customer template (provisioningId)"], packages=["webex_meetings"]) for _ in range(BURST)
    ]

    def burst() -> list[tuple[int, str, str | None]]:
        def create(n: int) -> tuple[int, str, str | None]:
            r = httpx.post(base, json=bodies[n], headers=headers | {"Idempotency-Key": f"burst-{n}"}, timeout=30)
            return r.status_code, r.text, r.headers.get("idempotent-replayed")

        with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
            return list(pool.map(create, range(BURST)))

    try:
        started = time.monotonic()
        first = burst()
        again = burst()  # every one a replay of its key
        elapsed = time.monotonic() - started
    finally:
        processes.stop(server)
    assert [s for s, _, _ in first] == [202] * BURST, first
    assert [(s, replayed) for s, _, replayed in again] == [(202, "true")] * BURST, again
    assert [body for _, body, _ in again] == [body for _, body, _ in first]
    assert elapsed < 60, elapsed


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's one writer")
def test_a_write_request_waiting_for_the_writer_leaves_the_event_loop_free(tmp_path):
    """On SQLite a create runs on the event loop holding the writer (kit.http, issue 15). While another process holds
    the writer it waits for its turn in a worker thread: reads are served meanwhile, and the create is accepted once
    the writer is free."""
    from wholesale.db.session import Database

    url = f"sqlite:///{tmp_path / 'held.db'}"
    demo = processes.prepare(url)
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}/v1/wholesale/customers"
    server = processes.serve(url, port, tmp_path / "serve.log", WHOLESALE_RATE_LIMIT_PER_MINUTE="0")
    db = Database(url)
    try:
        body = customer_body(demo["customer template (provisioningId)"], packages=["webex_meetings"])
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            with db.transaction() as session:  # another process's writer (the same turn-taking as a worker's)
                session.execute(sa.text("UPDATE partners SET org_id = org_id WHERE 0"))
                create = pool.submit(httpx.post, base, json=body, headers=headers, timeout=30)
                time.sleep(0.5)
                started = time.monotonic()
                read = httpx.get(base, params={"max": "1"}, headers=headers, timeout=5)
                read_took = time.monotonic() - started
                assert not create.done()  # still waiting for the writer
            created = create.result(timeout=30)
    finally:
        db.dispose()
        processes.stop(server)
    assert read.status_code == 200 and read_took < 2, (read.status_code, read_took)
    assert created.status_code == 202, created.text
