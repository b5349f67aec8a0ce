"""A real `wholesale serve` SIGKILLed right after a customer step committed, before DBOS recorded the step's
output (issue 16, probe 5): after a restart DBOS runs the step again, the step finds its own result, the
customer settles exactly once and the workflow ends SUCCESS (SQLite, and PostgreSQL when the suite runs on it)."""

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
# the fault point `kill at` (no shutdown hook runs, as in a power cut), and `always fail at` (or "-") raises.
LAUNCHER = """
import os, signal, sys
from wholesale.kit import faults
kill_at, fail_at = sys.argv[1], sys.argv[2]
passed = faults.check
def check(point):
    if point == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    if point == fail_at:
        raise faults.InjectedFault(point, 2500, "Identity directory unavailable.")
    passed(point)
faults.check = check
sys.argv = ["wholesale", *sys.argv[3:]]
from wholesale.cli import main
main()
"""


def _serve_killed_at(url: str, port: int, log: Path, kill_at: str, fail_at: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, kill_at, fail_at, "serve", "--port", str(port)],
        env=processes.env(url),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
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


@pytest.mark.parametrize(
    ("kill_at", "fail_at", "status", "settled_action"),
    [
        # The usual run: org, admin, site, location, grants and the settled status in one committed step.
        ("customers.prepare.committed", "-", "provisioned", "customer.settled"),
        # A run whose step never succeeds: the compensation step committed `error`, then the kill.
        ("customers.fail.committed", "customers.org", "error", "customer.failed"),
    ],
)
def test_sigkill_after_a_step_committed_then_restart_settles_once_and_the_workflow_succeeds(
    tmp_path, kill_at, fail_at, status, settled_action
):
    url = fresh_database_url(tmp_path)
    demo = processes.prepare(url)
    headers = {"Authorization": f"Bearer {demo['partner-admin token']}"}
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
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
        workflow = _workflow(url, f"customers.provision:{customer_id}:1")
    finally:
        processes.stop(server)
    assert workflow == ("SUCCESS", status), log.read_text()[-3000:]
    actions = _audit_actions(url, customer_id)
    assert actions.count(settled_action) == 1, actions
    assert actions.count("org.created") == (1 if status == "provisioned" else 0), actions
    if status == "provisioned":
        packages = customer["resourceDetails"]["packages"]
        assert {p["status"] for p in packages} == {"provisioned"}, customer
