"""A real `wholesale serve` SIGKILLed right after a customer step committed, before DBOS recorded the step's
output (issue 16, probe 5): after a restart DBOS runs the step again, the step finds its own result, the
customer settles exactly once and the workflow ends SUCCESS (SQLite, and PostgreSQL when the suite runs on it).
And SIGKILLed in the middle of a batch of runs (issue 15): the batch's transaction is lost whole, its runs stay
queued, and after a restart every accepted customer is provisioned exactly once."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from dbos import DBOSClient

import processes
from conftest import fresh_database_url
from helpers import customer_body, wait_for
from wholesale.db.session import normalise_url

pytestmark = pytest.mark.slow

URL = "/v1/wholesale/customers"

# `python -c LAUNCHER <kill at> <always fail at> serve ...`: the server SIGKILLs itself the first time it passes
# the fault point `kill at` (no shutdown hook runs, as in a power cut), or the nth time for `point#n`, and
# `always fail at` (or "-") raises.
LAUNCHER = """
import os, signal, sys
from wholesale.kit import faults
kill_at, fail_at = sys.argv[1], sys.argv[2]
kill_point, _, kill_nth = kill_at.partition("#")
seen = {"n": 0}
passed = faults.check
def check(point):
    if point == kill_point:
        seen["n"] += 1
        if seen["n"] == int(kill_nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
    if point == fail_at:
        raise faults.InjectedFault(point, 2500, "Identity directory unavailable.")
    passed(point)
faults.check = check
sys.argv = ["wholesale", *sys.argv[3:]]
from wholesale.cli import main
main()
"""


def _serve_killed_at(
    url: str, port: int, log: Path, kill_at: str, fail_at: str, *, healthy: bool = True
) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, kill_at, fail_at, "serve", "--port", str(port)],
        env=processes.env(url),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if healthy:  # else it may die before it serves (its workers start first and find queued work)
        wait_for(lambda: processes.healthy(port), bool, timeout=60, interval=0.2)
    return proc


def _audit_actions(url: str, customer_id: str) -> list[str]:
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.text("SELECT action FROM audit_events WHERE subject_id = :c ORDER BY id"), {"c": customer_id}
                )
            )
    finally:
        engine.dispose()


def _workflow(url: str, workflow_id: str) -> tuple[str, object]:
    client = DBOSClient(system_database_url=normalise_url(url), dbos_system_schema="dbos")
    try:
        status = wait_for(
            lambda: client.retrieve_workflow(workflow_id).get_status(),
            lambda s: s is not None and s.status in ("SUCCESS", "ERROR"),
            timeout=60,
            interval=0.2,
        )
        return status.status, status.output
    finally:
        client.destroy()


def _fresh(tmp_path: Path) -> tuple[str, dict[str, str], dict[str, str], int, str, Path]:
    """A fresh database with the demo partner: (url, demo, the partner's headers, a free port, its base, a log)."""
    url = fresh_database_url(tmp_path)
    demo = processes.prepare(url)
    port = processes.free_port()
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    return url, demo, headers, port, f"http://127.0.0.1:{port}", tmp_path / "serve.log"


def _workflows_named(url: str, name: str) -> list:
    client = DBOSClient(system_database_url=normalise_url(url), dbos_system_schema="dbos")
    try:
        return client.list_workflows(name=name)
    finally:
        client.destroy()


@pytest.mark.parametrize(
    ("kill_at", "fail_at", "status", "settled_action", "alone"),
    [
        # The usual run: org, admin, site, location, grants and the settled status in its batch's committed step.
        ("customers.batch.committed", "-", "provisioned", "customer.settled", False),
        # A run that never succeeds: it fails in its batch, is retried alone, and the compensation step of its
        # own workflow committed `error`, then the kill.
        ("customers.fail.committed", "customers.org", "error", "customer.failed", True),
    ],
)
def test_sigkill_after_a_step_committed_then_restart_settles_once_and_the_workflow_succeeds(
    tmp_path, kill_at, fail_at, status, settled_action, alone
):
    url, demo, headers, port, base, log = _fresh(tmp_path)
    server = _serve_killed_at(url, port, log, kill_at, fail_at)
    try:
        body = customer_body(demo["customer template (provisioningId)"])
        response = httpx.post(base + URL, json=body, headers=headers, timeout=30)
        assert response.status_code == 202, response.text
        customer_id = response.json()["url"].rsplit("/", 1)[-1]
        assert server.wait(timeout=60) == -9, log.read_text()[-3000:]  # it killed itself at the fault point
        server = processes.serve(url, port, log)
        customer = wait_for(
            lambda: httpx.get(f"{base}{URL}/{customer_id}", headers=headers, timeout=10).json(),
            lambda c: c.get("status") == status,
            timeout=60,
            interval=0.2,
        )
        if alone:
            workflow = _workflow(url, f"customers.provision:{customer_id}:1")
            assert workflow == ("SUCCESS", status), log.read_text()[-3000:]
        else:
            batches = wait_for(
                lambda: _workflows_named(url, "customers.converge_batch"),
                lambda ws: ws and all(w.status == "SUCCESS" for w in ws),
                timeout=60,
                interval=0.2,
            )
            # The recovered batch ran its step again and found its run done: the queue row went with the work.
            assert [w.output for w in batches] == [{"taken": 0}], log.read_text()[-3000:]
    finally:
        processes.stop(server)
    actions = _audit_actions(url, customer_id)
    assert actions.count(settled_action) == 1, actions
    assert actions.count("org.created") == (1 if status == "provisioned" else 0), actions
    if status == "provisioned":
        packages = customer["resourceDetails"]["packages"]
        assert {p["status"] for p in packages} == {"provisioned"}, customer


def test_sigkill_in_the_middle_of_a_batch_then_restart_provisions_every_customer_once(tmp_path):
    """Twelve creates accepted while no worker runs wait in the queue; the server that starts takes them in one
    batch and dies at the fifth customer's meetings site, four runs done in its open transaction. After a restart
    every customer is provisioned, with one org, one full admin and one settled row each."""
    url, demo, headers, port, base, log = _fresh(tmp_path)
    server = processes.serve(url, port, log, "--no-workers")
    try:
        ids = []
        for i in range(12):
            body = customer_body(
                demo["customer template (provisioningId)"],
                externalId=f"batch-{i}",
                customerInfo={"name": f"Batch {i}", "primaryEmail": f"admin{i}@batch.example.com"},
            )
            response = httpx.post(base + URL, json=body, headers=headers, timeout=30)
            assert response.status_code == 202, response.text
            ids.append(response.json()["url"].rsplit("/", 1)[-1])
    finally:
        processes.stop(server)
    server = _serve_killed_at(url, port, log, "customers.site#5", "-", healthy=False)
    try:
        assert server.wait(timeout=60) == -9, log.read_text()[-3000:]
        assert {_audit_actions(url, i).count("org.created") for i in ids} == {0}  # the batch left nothing
        server = processes.serve(url, port, log)
        statuses = wait_for(
            lambda: [httpx.get(f"{base}{URL}/{i}", headers=headers, timeout=10).json()["status"] for i in ids],
            lambda found: all(s == "provisioned" for s in found),
            timeout=90,
            interval=0.3,
        )
    finally:
        processes.stop(server)
    assert statuses == ["provisioned"] * 12
    for customer_id in ids:
        actions = _audit_actions(url, customer_id)
        assert [actions.count(a) for a in ("customer.created", "org.created", "customer.settled")] == [1, 1, 1], actions
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            admins = conn.scalar(sa.text("SELECT count(*) FROM users WHERE email LIKE 'admin%@batch.example.com'"))
            queued = conn.scalar(sa.text("SELECT count(*) FROM customer_run_queue"))
    finally:
        engine.dispose()
    assert (admins, queued) == (12, 0)
    assert _workflows_named(url, "customers.provision") == []  # nothing failed: no run was retried alone
