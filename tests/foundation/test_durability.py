"""Jobs survive SIGKILL (SQLite and PostgreSQL) and two workers never run the same job twice (PostgreSQL)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from dbos import DBOSClient

from conftest import PG_URL, fresh_database_url
from helpers import wait_for
from wholesale.db.session import normalise_url

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHOLESALE_")}
    return env | {"WHOLESALE_DATABASE_URL": url, "WHOLESALE_LOG_REQUESTS": "false"} | extra


def _cli(url: str, *args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "wholesale.cli", *args], env=_env(url), capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def _prepare(url: str) -> str:
    """Migrate a fresh database, seed it; return an operator token."""
    _cli(url, "migrate")
    demo = _cli(url, "demo")
    return next(line.split(": ", 1)[1] for line in demo.splitlines() if "operator token" in line)


def _start(args: list[str], url: str, log: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wholesale.cli", *args],
        env=_env(url, **extra),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _serve(url: str, port: int, log: Path, *extra_args: str) -> subprocess.Popen:
    proc = _start(["serve", "--port", str(port), *extra_args], url, log)
    wait_for(lambda: _healthy(port), bool, timeout=60, interval=0.2)
    return proc


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_sigkill_mid_job_then_restart_finishes_the_job_exactly_once(tmp_path):
    url = fresh_database_url(tmp_path)
    token = _prepare(url)
    headers = {"Authorization": f"Bearer {token}"}
    port = _free_port()
    log = tmp_path / "serve.log"
    server = _serve(url, port, log)
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
        server = _serve(url, port, log)
        done = wait_for(
            lambda: httpx.get(f"{base}/v1/ops/jobProbes/{probe['id']}", headers=headers).json(),
            lambda p: p["status"] == "done",
            timeout=60,
        )
    finally:
        _stop(server)
    # The first step was checkpointed before the kill, so it did not run again; the job finished once.
    assert [r["step"] for r in done["runs"]] == ["started", "finished"], log.read_text()[-3000:]


@pytest.mark.skipif(not PG_URL, reason="several worker processes need PostgreSQL")
def test_two_workers_on_postgres_never_run_the_same_job_twice(tmp_path):
    url = fresh_database_url(tmp_path)
    token = _prepare(url)
    headers = {"Authorization": f"Bearer {token}"}
    port = _free_port()
    log = tmp_path / "processes.log"
    api = _serve(url, port, log, "--no-workers")
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
        workers = [_start(["worker"], url, log, WHOLESALE_EXECUTOR_ID=f"worker-{n}") for n in (1, 2)]
        probes = wait_for(
            lambda: [httpx.get(f"{base}/v1/ops/jobProbes/{i}", headers=headers).json() for i in ids],
            lambda ps: all(p["status"] == "done" for p in ps),
            timeout=90,
            interval=0.5,
        )
    finally:
        for proc in [api, *workers]:
            _stop(proc)
    for p in probes:
        assert [r["step"] for r in p["runs"]] == ["started", "finished"], p
        assert len({r["executorId"] for r in p["runs"]}) == 1
    used = {p["finishedBy"] for p in probes}
    assert used == {"worker-1", "worker-2"}, used
