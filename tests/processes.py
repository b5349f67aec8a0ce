"""Real `wholesale` processes for tests that kill, restart or scale them (importable as `processes`)."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from helpers import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(url: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WHOLESALE_")}
    return base | {"WHOLESALE_DATABASE_URL": url, "WHOLESALE_LOG_REQUESTS": "false"} | extra


def cli(url: str, *args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "wholesale.cli", *args], env=env(url), capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def prepare(url: str) -> dict[str, str]:
    """Migrate a fresh database and seed the demo; return what the demo printed (`label: value` lines)."""
    cli(url, "migrate")
    printed = cli(url, "demo")
    return {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in printed.splitlines()) if v}


def start(args: list[str], url: str, log: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wholesale.cli", *args],
        env=env(url, **extra),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def serve(url: str, port: int, log: Path, *extra_args: str, **extra_env: str) -> subprocess.Popen:
    proc = start(["serve", "--port", str(port), *extra_args], url, log, **extra_env)
    wait_for(lambda: healthy(port), bool, timeout=60, interval=0.2)
    return proc


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the process group: no shutdown hook runs."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
