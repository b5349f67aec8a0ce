"""Pumps: a thread per kind of batched work that runs as soon as a commit queued some, instead of polling.

A service queues work as rows of its own table, in its own transaction, and calls `wake_after_commit`; once that
transaction commits, the pump for the work wakes at once and runs its drain function, which takes the waiting
rows in batches (each batch a DBOS workflow: `wholesale.provisioning.workflows.converge_batch`).

The wake reaches the workers wherever they run:
- in this process: a `threading.Event`;
- on PostgreSQL, every process: `pg_notify` in the committing transaction (sent at commit, never on rollback),
  which each worker process's listener thread receives (`LISTEN`);
- on SQLite, a worker process on the same box (`wholesale serve --worker-process`): a datagram to the Unix
  socket the worker binds next to nothing else (`/tmp/wholesale-<hash of the database path>.wake`).
Every pump also looks every `poll_seconds`, so the table stays the source of truth and a lost wake costs one
poll interval, never the work.
"""

import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from wholesale.config import get_settings

log = logging.getLogger("wholesale.jobs")

WAKE_KEY = "wholesale.pump.wake"
CHANNEL = "wholesale_pump"  # PostgreSQL's notification channel; the payload is the pump's name


@dataclass
class Pump:
    """One kind of batched work: `drain()` runs one batch and returns how many items it took (0 = none left)."""

    name: str
    drain: Callable[[], int]
    wake: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


PUMPS: dict[str, Pump] = {}


def register(name: str, drain: Callable[[], int]) -> None:
    """Declare the pump `name` (at import time, like a job); `start` runs it in the processes with workers."""
    if name in PUMPS and PUMPS[name].drain is not drain:
        raise ValueError(f"pump {name!r} registered twice")
    PUMPS[name] = Pump(name, drain)


def wake(name: str) -> None:
    """Wake this process's pump `name` (a no-op where no worker runs: the workers' polling finds the work)."""
    pump = PUMPS.get(name)
    if pump is not None:
        pump.wake.set()


def wake_after_commit(session: Session, name: str, *, notified: bool = False) -> None:
    """Wake pump `name` when the caller's transaction commits (not before: the pump would not see the rows).

    `notified`: the caller's own statement already sent this transaction's `pg_notify` (`notify_to_return`)."""
    waking = session.info.setdefault(WAKE_KEY, set())
    if name in waking:
        return
    waking.add(name)
    if not notified and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_notify(:channel, :name)"), {"channel": CHANNEL, "name": name})


def notify_to_return(session: Session, name: str) -> bool:
    """True when the caller's INSERT of the pump's work should RETURN `notifying(name)` (PostgreSQL, and no wake of
    `name` asked for in this transaction yet): the NOTIFY then goes with that statement, one round trip fewer than
    `wake_after_commit`'s own (issue 15). The caller then calls `wake_after_commit(..., notified=True)`."""
    return name not in session.info.get(WAKE_KEY, ()) and session.get_bind().dialect.name == "postgresql"


def notifying(name: str) -> sa.ColumnElement[object]:
    """The `pg_notify` that wakes pump `name`'s listeners, for an INSERT's RETURNING (one row: one call)."""
    return sa.func.pg_notify(CHANNEL, name)


@event.listens_for(Session, "after_commit")
def _wake_committed(session: Session) -> None:
    for name in session.info.pop(WAKE_KEY, ()):
        if _running():
            wake(name)
        else:
            _send_datagram(name)


def _running() -> bool:
    return any(p.thread is not None for p in PUMPS.values())


def socket_path(database_url: str) -> str | None:
    """The wake socket of a SQLite database file's worker process (None for other databases)."""
    if not database_url.startswith("sqlite") or ":memory:" in database_url:
        return None
    path = os.path.abspath(database_url.split(":///", 1)[1])
    digest = hashlib.sha256(path.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"wholesale-{digest}.wake")


_sender: socket.socket | None = None


def _send_datagram(name: str) -> None:
    """Wake a SQLite worker process on this box, if one listens (nothing happens when none does)."""
    global _sender
    path = socket_path(get_settings().database_url)
    if path is None or not os.path.exists(path):
        return
    with contextlib.suppress(OSError):
        if _sender is None:
            _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            _sender.setblocking(False)
        _sender.sendto(name.encode(), path)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(WAKE_KEY, None)


def _run(pump: Pump, poll_seconds: float) -> None:
    while not pump.stop.is_set():
        pump.wake.wait(poll_seconds)
        pump.wake.clear()
        while not pump.stop.is_set():
            try:
                if pump.drain() == 0:
                    break
            except Exception:  # a failed batch stays queued in its table; the next wake or poll takes it again
                log.exception("pump drain failed", extra={"fields": {"pump": pump.name}})
                pump.stop.wait(poll_seconds)
                break


class _Listener:
    """A thread that wakes this process's pumps when another process queued work (see the module doc)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pump-listener", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.url.startswith("sqlite"):
                    self._datagrams()
                else:
                    self._notifications()
            except Exception:
                log.exception("pump listener failed; polling only until it reconnects")
                self.stop.wait(5.0)

    def _notifications(self) -> None:
        url = self.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            while not self.stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    wake(note.payload)

    def _datagrams(self) -> None:
        path = socket_path(self.url)
        if path is None:
            self.stop.wait()
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            sock.settimeout(1.0)
            try:
                while not self.stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        wake(sock.recv(256).decode(errors="replace"))
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5.0)


_listener: _Listener | None = None


def start(poll_seconds: float, database_url: str) -> None:
    """Start every registered pump in a daemon thread (the process runs workers), and the listener for wakes
    from other processes."""
    global _listener
    if _listener is None:
        _listener = _Listener(database_url)
    for pump in PUMPS.values():
        if pump.thread is not None and pump.thread.is_alive():
            continue
        pump.stop.clear()
        pump.wake.set()  # look once at start: work may have waited while no worker ran
        pump.thread = threading.Thread(target=_run, args=(pump, poll_seconds), name=f"pump-{pump.name}", daemon=True)
        pump.thread.start()


def stop(timeout: float = 30.0) -> None:
    """Stop every pump and wait for its batch in progress to finish."""
    global _listener
    if _listener is not None:
        _listener.close()
        _listener = None
    for pump in PUMPS.values():
        pump.stop.set()
        pump.wake.set()
    for pump in PUMPS.values():
        if pump.thread is not None:
            pump.thread.join(timeout)
            pump.thread = None
