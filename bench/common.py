"""Shared helpers for benchmarks: fresh databases, servers on free ports, load generation."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_sqlite() -> tuple[str, Path]:
    """A new SQLite URL in a temporary directory."""
    tmp = Path(tempfile.mkdtemp(prefix="wholesale-bench-"))
    return f"sqlite:///{tmp / 'bench.db'}", tmp


def env_for(url: str, **extra: str) -> dict[str, str]:
    """Environment for a child process on a database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHOLESALE_")}
    return (
        env
        | {
            "WHOLESALE_DATABASE_URL": url,
            "WHOLESALE_LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        }
        | extra
    )


def cli(url: str, *args: str) -> str:
    """Run the wholesale CLI; return stdout."""
    run = subprocess.run(
        [PY, "-m", "wholesale.cli", *args], env=env_for(url), capture_output=True, text=True, check=True
    )
    return run.stdout


def demo(url: str) -> dict[str, str]:
    """Migrate and seed; return the demo values by name."""
    cli(url, "migrate")
    out = cli(url, "demo")
    return {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in out.splitlines()) if v}


def start(
    args: list[str], url: str, port: int, log: Path, ready_path: str = "/healthz", **extra: str
) -> subprocess.Popen:
    """Start a server process and wait until `ready_path` answers 200 (use /readyz for `wholesale serve`:
    it waits for the screening index, which would otherwise be built inside the measurement)."""
    proc = subprocess.Popen(
        args,
        env=env_for(url, **extra),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"server on port {port} did not start; see {log}")


def serve_demo(
    command: list[str] | None = None, **extra: str
) -> tuple[str, Path, dict[str, str], int, subprocess.Popen]:
    """A fresh SQLite database with the demo partner, and `wholesale serve` (API and workers) on it, ready
    (screening index built): (url, tmp dir, seeded ids and tokens, port, server process). `command` replaces
    `python -m wholesale.cli` (e.g. a script that switches something off for a baseline)."""
    url, tmp = fresh_sqlite()
    seeded = demo(url)
    port = free_port()
    server = start(
        [*(command or [PY, "-m", "wholesale.cli"]), "serve", "--port", str(port)],
        url,
        port,
        tmp / "serve.log",
        ready_path="/readyz",
        **{"WHOLESALE_RATE_LIMIT_PER_MINUTE": "100000000"} | extra,
    )
    return url, tmp, seeded, port, server


def stop(proc: subprocess.Popen) -> None:
    """Stop a server process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def server_figures(base: str) -> dict[str, float]:
    """The server's own counters from /metrics: CPU seconds and, on SQLite, write-lock held and waited seconds."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    figures = {}
    for key, name in (
        ("cpu", "process_cpu_seconds_total"),
        ("held", "wholesale_sqlite_write_lock_held_seconds_total"),
        ("waited", "wholesale_sqlite_write_lock_wait_seconds_total"),
    ):
        found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
        figures[key] = float(found.group(1)) if found else float("nan")
    return figures


def load(url: str, headers: dict[str, str], seconds: float, connections: int) -> tuple[float, str]:
    """Requests/s of GET url: wrk when installed, else a threaded Python client (slower, says so)."""
    if shutil.which("wrk"):
        args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{int(seconds)}s"]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{non2xx.group(1)} non-2xx responses from {url}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "wrk"
    count = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        nonlocal count
        with httpx.Client(headers=headers) as c:
            n = 0
            while time.monotonic() < stop_at:
                c.get(url).raise_for_status()
                n += 1
        with lock:
            count += n

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count / (time.monotonic() - started), "python-threads (install wrk for a lighter client)"


US_ADDRESS = {"addressLine1": "1 Main St", "city": "Austin", "stateOrProvince": "TX", "country": "US"}


def customer_body(template: str, external_id: str, name: str, email: str, packages: list[str]) -> dict:
    """A valid create-customer body (US address, a calling location) for benchmarks."""
    return {
        "provisioningId": template,
        "packages": packages,
        "externalId": external_id,
        "address": US_ADDRESS,
        "customerInfo": {"name": name, "primaryEmail": email},
        "provisioningParameters": {
            "calling": {
                "location": {"name": "HQ", "address": US_ADDRESS, "timezone": "America/Chicago", "language": "en_us"}
            }
        },
    }


def exit_on_sigterm() -> None:
    """Turn SIGTERM (`kill`, `pkill -f bench/...`) into SystemExit, so the `finally` blocks that stop the servers and
    the throw-away PostgreSQL a bench started run; the servers live in sessions of their own and would outlive it."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
