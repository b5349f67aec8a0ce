"""Helpers for the soak and scale-out benchmarks: /proc figures of a process (tree), throw-away PostgreSQL
databases, percentiles."""

import contextlib
import os
import signal
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from common import ROOT, env_for

TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (index 0 is field 3, `state`)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """User + system CPU seconds of a process (utime + stime), plus its waited-for children's with
    `reaped_children` (cutime + cstime: PostgreSQL backends that have exited are counted in the postmaster's)."""
    f = _stat_fields(pid)
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if reaped_children else 0)
    return ticks / TICK


def children(pid: int) -> list[int]:
    """Every live descendant of a process."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its live descendants and the descendants it has reaped."""
    total = cpu_seconds(pid, reaped_children=True)
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(child)
    return total


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB: resident now, and its peak since it started."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def open_fds(pid: int) -> int:
    """Open file descriptors of a process."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (inclusive method), or nan without values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Postgres:
    """A PostgreSQL server for benchmarks: `pg_dir` is set when we started it (scripts/pg.sh) and must stop it."""

    url: str
    pg_dir: str = ""

    @classmethod
    def start(cls) -> "Postgres":
        """WHOLESALE_TEST_DATABASE_URL's server when set, else a throw-away cluster from scripts/pg.sh."""
        url = os.environ.get("WHOLESALE_TEST_DATABASE_URL", "")
        if url:
            return cls(url)
        out = subprocess.run(
            [str(ROOT / "scripts" / "pg.sh"), "start"], capture_output=True, text=True, check=True
        ).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return cls(values["WHOLESALE_TEST_DATABASE_URL"], values["PG_DIR"])

    def stop(self) -> None:
        if self.pg_dir:
            subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", self.pg_dir], check=False)

    def fresh_database(self, prefix: str) -> str:
        """A new empty database on this server; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return sa.make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid when we started the cluster (for its CPU seconds), else None."""
        if not self.pg_dir:
            return None
        return int(Path(self.pg_dir, "data", "postmaster.pid").read_text().split()[0])


def database_size_mb(url: str) -> float:
    """PostgreSQL: the database's size on disk (MiB)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return size / 2**20


def launch(args: list[str], url: str, log: Path, **extra: str) -> subprocess.Popen:
    """Start a process in its own session (stop it with common.stop), output appended to `log`."""
    return subprocess.Popen(
        args,
        env=env_for(url, **extra),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )


def wait_ready(proc: subprocess.Popen, port: int, path: str = "/readyz", timeout: float = 300) -> None:
    """Wait until http://127.0.0.1:port/path answers 200 (kill the process group and raise after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"{proc.args} not ready on port {port} after {timeout:.0f} s")
