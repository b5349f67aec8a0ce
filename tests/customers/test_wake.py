"""Wake instead of poll (issue 15): a queued run wakes the workers at once, whichever process they run in.

The workers here poll only every 60 s, so a customer provisioned within seconds was woken: on SQLite by a
datagram from the API process to `wholesale serve --worker-process`'s worker, on PostgreSQL (when the suite runs
on it) by a NOTIFY from the API process to a `wholesale worker`'s listener.
"""

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import processes
from conftest import fresh_database_url
from helpers import customer_body, partner_admin, wait_for

pytestmark = pytest.mark.slow

URL = "/v1/wholesale/customers"
POLL_RARELY = {"WHOLESALE_QUEUE_POLLING_INTERVAL": "60"}


def _provisioned(base: str, headers: dict, template: str, tag: str) -> float:
    """Create a customer and wait until it is provisioned; the seconds from its acceptance to then."""
    body = customer_body(template, externalId=tag, customerInfo={"name": tag, "primaryEmail": f"{tag}@example.com"})
    response = httpx.post(base + URL, json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    location = response.json()["url"]
    started = time.monotonic()
    wait_for(
        lambda: httpx.get(location, headers=headers, timeout=10).json()["status"],
        lambda status: status == "provisioned",
        timeout=90,
        interval=0.05,
    )
    return time.monotonic() - started


def test_a_worker_in_another_process_is_woken_by_the_commit(tmp_path):
    url = fresh_database_url(tmp_path)
    demo = processes.prepare(url)
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    port = processes.free_port()
    log = tmp_path / "serve.log"
    if url.startswith("sqlite"):
        procs = [processes.serve(url, port, log, "--worker-process", **POLL_RARELY)]
    else:
        procs = [
            processes.serve(url, port, log, "--no-workers", **POLL_RARELY),
            processes.start(["worker"], url, log, WHOLESALE_EXECUTOR_ID="worker-1", **POLL_RARELY),
        ]
    base = f"http://127.0.0.1:{port}"
    try:
        for i in range(4):
            took = _provisioned(base, headers, demo["customer template (provisioningId)"], f"wake-{i}")
            # The first may wait for the worker to start (it looks at the queue once it has); then it listens.
            assert i == 0 or took < 10, log.read_text()[-3000:]
    finally:
        for proc in procs:
            processes.stop(proc)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def test_serve_starts_its_worker_process_again_when_it_dies(tmp_path):
    """`wholesale serve --worker-process` supervises its worker: killed (SIGKILL, nothing of it runs), it is started
    again, and customers accepted after that are still provisioned."""
    url = fresh_database_url(tmp_path)
    demo = processes.prepare(url)
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    template = demo["customer template (provisioningId)"]
    port = processes.free_port()
    log = tmp_path / "serve.log"
    serve = processes.serve(url, port, log, "--worker-process")
    base = f"http://127.0.0.1:{port}"
    try:
        _provisioned(base, headers, template, "before-kill")
        (worker,) = _children(serve.pid)
        os.kill(worker, signal.SIGKILL)
        (again,) = wait_for(lambda: _children(serve.pid) - {worker}, lambda pids: len(pids) == 1, timeout=60)
        _provisioned(base, headers, template, "after-kill")
        assert "worker process exited with -9; starting it again" in log.read_text()
        assert serve.poll() is None and _children(serve.pid) == {again}
    finally:
        processes.stop(serve)


def _listeners(url: str) -> set[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'")
            )
            return {pid for (pid,) in rows}
    finally:
        engine.dispose()


def test_a_worker_listens_again_after_its_postgresql_connection_is_cut(tmp_path):
    """The pump's listener (PostgreSQL) reconnects after its connection is cut, and wakes are heard again: the worker
    polls only every 60 s, so a customer provisioned within seconds after the cut was woken."""
    url = fresh_database_url(tmp_path)
    if url.startswith("sqlite"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    demo = processes.prepare(url)
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    template = demo["customer template (provisioningId)"]
    port = processes.free_port()
    log = tmp_path / "serve.log"
    procs = [
        processes.serve(url, port, log, "--no-workers", **POLL_RARELY),
        processes.start(["worker"], url, log, WHOLESALE_EXECUTOR_ID="worker-1", **POLL_RARELY),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        _provisioned(base, headers, template, "before-cut")
        cut = _listeners(url)  # the worker's listener and any other process's
        assert cut
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            for pid in cut:
                assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        engine.dispose()
        wait_for(lambda: _listeners(url), lambda pids: len(pids) == len(cut) and not pids & cut, timeout=30)
        assert _provisioned(base, headers, template, "after-cut") < 20, log.read_text()[-3000:]
        assert "pump listener failed" in log.read_text()
    finally:
        for proc in procs:
            processes.stop(proc)


def test_on_postgresql_a_create_sends_its_wake_with_its_queued_run(db, partner):
    """Issue 15: the NOTIFY goes with the INSERT of the queued run (RETURNING pg_notify(...)), not as a round trip of
    its own, and a listener hears it once the create commits (never before)."""
    if db.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import psycopg

    from wholesale.customers import runs
    from wholesale.customers import service as customers
    from wholesale.customers.schemas import CustomerCreate
    from wholesale.jobs import pump
    from wholesale.partners import tenancy

    listener = psycopg.connect(db.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    sa.event.listen(db.write_engine, "before_cursor_execute", spy)
    try:
        listener.execute(f"LISTEN {pump.CHANNEL}")
        with db.transaction() as session:
            tenant = tenancy.resolve(session, partner_admin(partner.org_id), None, writing=True)
            body = customer_body(partner.template_id, externalId="notify-1")
            created = customers.create_customer(session, tenant, CustomerCreate.model_validate(body))
            assert list(listener.notifies(timeout=0.2, stop_after=1)) == []  # not before the commit
        heard = list(listener.notifies(timeout=10, stop_after=1))
    finally:
        sa.event.remove(db.write_engine, "before_cursor_execute", spy)
        listener.close()
    with db.transaction() as session:  # no worker runs here: later tests that take queued runs must not find it
        session.execute(sa.delete(runs.QueuedRun).where(runs.QueuedRun.customer_id == created.id))
    assert [(n.channel, n.payload) for n in heard] == [(pump.CHANNEL, "customers.runs")]
    notifying = [s for s in statements if "pg_notify" in s]
    assert len(notifying) == 1 and notifying[0].startswith("INSERT INTO customer_run_queue"), notifying
