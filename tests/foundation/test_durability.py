"""Jobs survive SIGKILL (SQLite and PostgreSQL) and two workers never run the same job twice (PostgreSQL)."""

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from dbos import DBOSClient

import processes
from conftest import PG_URL, fresh_database_url
from helpers import wait_for
from wholesale.db.session import normalise_url

pytestmark = pytest.mark.slow


def _prepare(url: str) -> str:
    """Migrate a fresh database, seed it; return an operator token."""
    return next(v for k, v in processes.prepare(url).items() if "operator token" in k)


def test_sigkill_mid_job_then_restart_finishes_the_job_exactly_once(tmp_path):
    url = fresh_database_url(tmp_path)
    token = _prepare(url)
    headers = {"Authorization": f"Bearer {token}"}
    port = processes.free_port()
    log = tmp_path / "serve.log"
    server = processes.serve(url, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        probe = httpx.post(f"{base}/v1/ops/jobProbes", json={"sleepSeconds": 4}, headers=headers).json()
        wait_for(
            lambda: httpx.get(f"{base}/v1/ops/jobProbes/{probe['id']}", headers=headers).json(),
            lambda p: [r["step"] for r in p["runs"]] == ["started"],
        )
        # Kill only once DBOS has checkpointed the first step and entered the durable sleep: a kill between
        # the step's own commit and its checkpoint would (rightly) run the step again, which is not this test.
        client = DBOSClient(system_database_url=normalise_url(url), dbos_system_schema="dbos")
        try:
            wait_for(lambda: len(client.list_workflow_steps(f"probe:{probe['id']}")), lambda n: n >= 2)
        finally:
            client.destroy()
        os.killpg(server.pid, signal.SIGKILL)  # mid-job: the durable sleep is running
        server.wait()
        server = processes.serve(url, port, log)
        done = wait_for(
            lambda: httpx.get(f"{base}/v1/ops/jobProbes/{probe['id']}", headers=headers).json(),
            lambda p: p["status"] == "done",
            timeout=60,
        )
    finally:
        processes.stop(server)
    # The first step was checkpointed before the kill, so it did not run again; the job finished once.
    assert [r["step"] for r in done["runs"]] == ["started", "finished"], log.read_text()[-3000:]


@pytest.mark.skipif(not PG_URL, reason="several worker processes need PostgreSQL")
def test_two_workers_on_postgres_never_run_the_same_job_twice(tmp_path):
    url = fresh_database_url(tmp_path)
    token = _prepare(url)
    headers = {"Authorization": f"Bearer {token}"}
    port = processes.free_port()
    log = tmp_path / "processes.log"
    api = processes.serve(url, port, log, "--no-workers")
    base = f"http://127.0.0.1:{port}"
    workers = []
    try:
        ids = [
            httpx.post(f"{base}/v1/ops/jobProbes", json={"sleepSeconds": 0.2}, headers=headers).json()["id"]
            for _ in range(40)
        ]
        time.sleep(1)
        # The API node only enqueues: nothing ran yet.
        assert all(
            httpx.get(f"{base}/v1/ops/jobProbes/{i}", headers=headers).json()["status"] == "enqueued" for i in ids
        )
        workers = [processes.start(["worker"], url, log, WHOLESALE_EXECUTOR_ID=f"worker-{n}") for n in (1, 2)]
        probes = wait_for(
            lambda: [httpx.get(f"{base}/v1/ops/jobProbes/{i}", headers=headers).json() for i in ids],
            lambda ps: all(p["status"] == "done" for p in ps),
            timeout=90,
            interval=0.5,
        )
        # Workers yield the CPU to API processes on the same cores (WHOLESALE_WORKER_NICE, docs/SCALING.md).
        nice = [int(Path(f"/proc/{w.pid}/stat").read_text().rsplit(")", 1)[1].split()[16]) for w in workers]
        assert nice == [10, 10], nice
    finally:
        for proc in [api, *workers]:
            processes.stop(proc)
    for p in probes:
        assert [r["step"] for r in p["runs"]] == ["started", "finished"], p
        assert len({r["executorId"] for r in p["runs"]}) == 1
    used = {p["finishedBy"] for p in probes}
    assert used == {"worker-1", "worker-2"}, used
