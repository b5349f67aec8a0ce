"""Engines and sessions: SQLite gets WAL and BEGIN IMMEDIATE for writers; PostgreSQL gets a pool."""

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from wholesale.config import Settings, get_settings

log = logging.getLogger("wholesale.db")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for postgresql:// URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# SQLite lets one connection write at a time. Every writer of this process (ours and DBOS's) takes this
# lock before SQLite's write lock and gives it back when its transaction ends, so writers queue here and
# are woken the moment the previous one is done. Left to SQLite's busy handler they poll with growing
# sleeps (up to 100 ms each) and the write lock sits idle between them (docs/PERFORMANCE.md).
WRITE_LOCK_TIMEOUT = 60.0
# Background writers (jobs, DBOS's bookkeeping) yield to requests, but one that waited this long gets the
# next turn: a burst of requests is served first (the caller is waiting; a job's latency is ours to spend),
# while under sustained load jobs get every other turn and the backlog cannot grow without bound.
# Measured with bench/customers_create.py (docs/PERFORMANCE.md): 0.05 s gave jobs so many turns that
# requests slowed to 0.26 of the bare insert; 1 s kept them at 0.6-0.7 and provisioned the burst sooner.
BACKGROUND_MAX_WAIT = 1.0
_background_writer: ContextVar[bool] = ContextVar("background_writer", default=False)


def mark_background_writer() -> None:
    """Mark this context's writes as background work (jobs): requests go first at SQLite's one writer."""
    _background_writer.set(True)


class _WriteLock:
    """The process's turn at SQLite's writer: requests first, background writers after them, but a
    background writer that waited BACKGROUND_MAX_WAIT gets the next turn.

    Not tied to a thread (unlike an RLock): a transaction may begin in one thread and end in another (an
    async dependency and a sync endpoint).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._requests = threading.Condition(self._mutex)
        self._background = threading.Condition(self._mutex)
        self._held = False
        self._requests_waiting = 0
        self._background_since: list[float] = []  # when each waiting background writer arrived
        self._background_turn = False

    def acquire(self, *, background: bool, timeout: float) -> bool:
        """Wait for the turn; False after `timeout` seconds."""
        arrived = time.monotonic()
        deadline = arrived + timeout
        with self._mutex:
            if background:
                self._background_since.append(arrived)
            else:
                self._requests_waiting += 1
            try:
                while True:
                    if not self._held and (
                        (background and (self._background_turn or not self._requests_waiting))
                        or (not background and not self._background_turn)
                    ):
                        self._held = True
                        if background:
                            self._background_turn = False
                        return True
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._wake_next()  # a wake-up meant for us must not be lost with us
                        return False
                    (self._background if background else self._requests).wait(remaining)
            finally:
                if background:
                    self._background_since.remove(arrived)
                else:
                    self._requests_waiting -= 1

    def waiting_elsewhere(self, count: int) -> None:
        """Count requests waiting for their turn outside this lock (on an event loop, kit.http), so background writers
        let them go first as they do requests waiting here."""
        with self._mutex:
            self._requests_waiting += count
            if count < 0:
                self._wake_next()  # a background writer held back for it must not sleep on a free lock

    def release(self) -> None:
        """Give the turn to the next writer."""
        with self._mutex:
            self._held = False
            self._wake_next()

    def _wake_next(self) -> None:
        if self._held:
            return
        if self._background_since and (
            not self._requests_waiting or time.monotonic() - min(self._background_since) >= BACKGROUND_MAX_WAIT
        ):
            self._background_turn = bool(self._requests_waiting)
            self._background.notify()
        elif self._requests_waiting:
            self._requests.notify()


_WRITE_LOCK = _WriteLock()
WRITE_LOCK_WAIT = Counter(
    "wholesale_sqlite_write_lock_wait_seconds", "Time this process's SQLite writers waited for each other (SQLite only)"
)
WRITE_LOCK_HELD = Counter(
    "wholesale_sqlite_write_lock_held_seconds",
    "Time this process held SQLite's write lock (SQLite only); near 1 s/s = saturated",
)
# pysqlite opens a transaction implicitly before these statements (and only these), after any comments.
_DML = re.compile(r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE | re.DOTALL)


# The turn between processes on one box (`wholesale serve --worker-process`, a CLI import beside a server): the
# holder of the process write lock also takes an exclusive flock on `<database>-writer`, so the next process is
# woken by the kernel the moment the holder's transaction ends, instead of polling in SQLite's busy handler.
# Requests go first here too: a request holds a shared flock on `<database>-wanted` while it waits for and holds
# the writer, and a background writer (a job of the worker process) waits while any request of another process
# holds it, looking every 2 ms, for at most BACKGROUND_MAX_WAIT (then it takes its turn, as within a process).
_WRITER_FILES: dict[str, tuple[int, int]] = {}
_WRITER_FILES_LOCK = threading.Lock()
_REQUESTS_LOOK_EVERY = 0.002


def _file_of(url: str) -> str | None:
    """The absolute path of a SQLite URL's database file (None in memory)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return os.path.abspath(path.split("?", 1)[0])


def _writer_files(url: str) -> tuple[int, int] | None:
    """This process's descriptors of a database file's `-writer` and `-wanted` lock files (None in memory)."""
    path = _file_of(url)
    if path is None:
        return None
    with _WRITER_FILES_LOCK:
        if path not in _WRITER_FILES:
            _WRITER_FILES[path] = (
                os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600),
                os.open(f"{path}-wanted", os.O_RDWR | os.O_CREAT, 0o600),
            )
        return _WRITER_FILES[path]


def _after_other_processes_requests(wanted: int) -> None:
    """Wait while a request of another process wants or holds the writer (at most BACKGROUND_MAX_WAIT)."""
    deadline = time.monotonic() + BACKGROUND_MAX_WAIT
    while True:
        try:
            fcntl.flock(wanted, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return
            time.sleep(_REQUESTS_LOOK_EVERY)
            continue
        fcntl.flock(wanted, fcntl.LOCK_UN)
        return


def _take_turn(writer_files: tuple[int, int] | None, *, background: bool, wait: bool) -> bool:
    """Take this process's turn at SQLite's writer, and the other processes' (flocks); False when `wait` is off and
    another writer holds it (nothing is held then). Raises SQLite's busy error after WRITE_LOCK_TIMEOUT."""
    if not _WRITE_LOCK.acquire(background=background, timeout=WRITE_LOCK_TIMEOUT if wait else 0.0):
        if not wait:
            return False
        raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
    if writer_files is None:
        return True
    writer, wanted = writer_files
    wanting = False
    try:
        if background:
            _after_other_processes_requests(wanted)
        else:
            fcntl.flock(wanted, fcntl.LOCK_SH)
            wanting = True
        # Other processes' writers: woken by the kernel, not polled.
        fcntl.flock(writer, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException as exc:
        if wanting:
            fcntl.flock(wanted, fcntl.LOCK_UN)
        _WRITE_LOCK.release()
        if isinstance(exc, BlockingIOError):  # `wait` is off and another process is writing
            return False
        raise
    return True


class _Turn:
    """A turn at SQLite's writer: this process's write lock and, between processes, the flocks (_take_turn)."""

    def __init__(self, writer_files: tuple[int, int] | None, *, background: bool) -> None:
        self.writer_files = writer_files
        self.background = background
        self.held = False
        self.took_at = 0.0

    def take(self, *, wait: bool) -> bool:
        """Take the turn; False when `wait` is off and another writer holds it."""
        asked = time.perf_counter()
        if not _take_turn(self.writer_files, background=self.background, wait=wait):
            return False
        self.held = True
        self.took_at = time.perf_counter()
        WRITE_LOCK_WAIT.inc(self.took_at - asked)
        return True

    def give_back(self) -> None:
        """Let the next writer in (nothing when the turn is not held)."""
        if not self.held:
            return
        self.held = False
        WRITE_LOCK_HELD.inc(time.perf_counter() - self.took_at)
        if self.writer_files is not None:
            fcntl.flock(self.writer_files[0], fcntl.LOCK_UN)
            if not self.background:  # a request holds the shared flock on `-wanted` too
                fcntl.flock(self.writer_files[1], fcntl.LOCK_UN)
        _WRITE_LOCK.release()


class RequestTurn(_Turn):
    """A write request's turn at SQLite's writer, taken before its work starts and held until it ends (issue 15).

    While it is held, every transaction the request begins (in the event loop's thread or in a worker thread it
    hands work to) borrows it instead of queueing for its own, so the request runs from its first statement to its
    commit without waiting on a lock or a thread, and gives the turn back once, when it is done.
    """

    def __init__(self, url: str) -> None:
        super().__init__(_writer_files(url), background=False)


def requests_waiting_elsewhere(count: int) -> None:
    """Count (+1) or uncount (-1) a write request that waits for its RequestTurn outside this module."""
    _WRITE_LOCK.waiting_elsewhere(count)


_request_turn: ContextVar[RequestTurn | None] = ContextVar("request_turn", default=None)


@contextmanager
def holding(turn: RequestTurn) -> Iterator[None]:
    """Let the transactions begun in this block (and in the threads it hands work to) borrow `turn`."""
    token = _request_turn.set(turn)
    try:
        yield
    finally:
        _request_turn.reset(token)


class _LockingConnection(sqlite3.Connection):
    """A SQLite connection that gives the process write lock back when its transaction ends."""

    writer_files: tuple[int, int] | None = None
    # The turn this connection's transaction holds: its own, or its request's (a RequestTurn, borrowed: the request
    # gives it back).
    turn: _Turn | None = None

    def take_write_lock(self, *, background: bool | None = None) -> None:
        """Wait for the process write lock (SQLite's busy error if it takes longer than its busy timeout)."""
        if self.turn is not None:
            return
        borrowed = _request_turn.get()
        if borrowed is not None and borrowed.held:
            self.turn = borrowed
            return
        turn = _Turn(self.writer_files, background=_background_writer.get() if background is None else background)
        turn.take(wait=True)
        self.turn = turn

    def give_back_write_lock(self) -> None:
        """Release the process write lock if this connection holds it (a borrowed turn stays with its request)."""
        turn, self.turn = self.turn, None
        if turn is not None and not isinstance(turn, RequestTurn):
            turn.give_back()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back_write_lock()


def _locking_sqlite_engine(
    url: str, pool_size: int, isolation_level: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None
) -> sa.Engine:
    """A pooled engine of _LockingConnections with our pragmas; `isolation_level` None leaves BEGIN to us."""
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60, "factory": _LockingConnection},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=120,
        # The connection used last goes out first: its page cache is the one most likely still valid (SQLite drops
        # a connection's cache when another connection has written since), and on SQLite every write request
        # runs one after another (issue 15).
        pool_use_lifo=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = isolation_level
        if isinstance(dbapi_conn, _LockingConnection):
            dbapi_conn.writer_files = _writer_files(url)
        # WAL is set once, persistently, by `wholesale migrate` (switching needs a lock every connect would fight for).
        # mmap_size: pages of the database file are read through a memory map, not a read() each. With a LIFO pool
        # it made a single subscriber's statements 25-30 % faster in the server (0.85 instead of 1.2 ms a request,
        # timed per statement; issue 15).
        for pragma in ("busy_timeout=60000", "synchronous=NORMAL", "foreign_keys=ON", "mmap_size=268435456"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    return engine


def sqlite_system_engine(url: str, pool_size: int = 20) -> sa.Engine:
    """The engine DBOS keeps its tables with on SQLite: as DBOS builds it, but its writers take the process
    write lock, and no ping per checkout (a local file does not drop connections)."""
    # DBOS relies on pysqlite's implicit BEGIN IMMEDIATE before a write, as its own engine does.
    engine = _locking_sqlite_engine(url, pool_size, "IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if isinstance(dbapi_conn, _LockingConnection) and not dbapi_conn.in_transaction and _DML.match(statement):
            dbapi_conn.take_write_lock(background=True)  # DBOS's bookkeeping never holds a request up

    return engine


# Our writers leave the WAL's checkpoints (copying committed pages into the database file, with an fsync of each) to
# a thread of their own (_Checkpointer), instead of the writer whose commit crosses SQLite's 1,000 pages doing one
# while it holds the one writer: measured on this machine, commits took 6-10 ms when they did (one in about 80 of a
# request's size), 225 us on average with them and 100 us without (issue 15).
CHECKPOINT_EVERY = 0.5


class _Checkpointer:
    """A thread that checkpoints a database file's WAL every CHECKPOINT_EVERY seconds (PASSIVE: it never waits for
    or blocks a reader or writer; SQLite does the copying and fsyncs without Python's interpreter lock)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self.stop.wait(CHECKPOINT_EVERY):
                if conn is None:
                    if not os.path.exists(self.path):  # not migrated yet: never create the file here
                        continue
                    conn = sqlite3.connect(self.path, check_same_thread=False)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed", extra={"fields": {"error": repr(exc)}})
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> sa.Engine:
    # SQLite has one writer at a time. Writers queue on the process write lock at BEGIN (requests before
    # jobs), not in the pool: one pooled writer connection would make a request wait behind a job that
    # holds it while it waits for its turn. pysqlite's own transaction control is off: BEGIN is ours.
    engine = _locking_sqlite_engine(url, pool_size, None)
    if immediate and _file_of(url) is not None:

        @event.listens_for(engine, "connect")
        def _no_checkpoints_on_commit(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # the Database's _Checkpointer does them

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY instead of waiting when another writer got in between.
        if not immediate:
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        if not isinstance(dbapi_conn, _LockingConnection):  # the engine's connect_args make every one of them
            raise TypeError(f"expected a _LockingConnection, got {type(dbapi_conn).__name__}")
        dbapi_conn.take_write_lock()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn.give_back_write_lock()
            raise

    return engine


# A pooled PostgreSQL connection idle longer than this is pinged before use; one used more recently is not. SQLAlchemy's
# pool_pre_ping pinged every checkout: a round trip and two autocommit switches before every transaction, about a
# tenth of a single subscriber's time below HTTP (issue 15). Connections that a restart or failover cut are found
# the same way after a pause; one cut while in use within this second fails its transaction once, and SQLAlchemy
# then replaces every older connection of the pool (its disconnect handling).
PING_AFTER_IDLE = 1.0
PINGS = Counter("wholesale_db_pings", "Pings of pooled PostgreSQL connections idle for more than a second")


def _postgresql_engine(url: str, *, pool_size: int) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used_now(_dbapi_conn: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) <= PING_AFTER_IDLE:
            return
        PINGS.inc()
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool drops this connection and checks out another (up to three times)
            raise sa.exc.DisconnectionError(f"a pooled connection is gone: {exc!r}") from exc

    return engine


class Database:
    """The engines of one database URL: a reader and a writer (the same engine on PostgreSQL)."""

    def __init__(self, url: str, *, pool_size: int = 20):
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(self.url, immediate=True, pool_size=pool_size)
            self.read_engine = _sqlite_engine(self.url, immediate=False, pool_size=pool_size)
            path = _file_of(self.url)
            if path is not None:
                self._checkpointer = _Checkpointer(path)
        else:
            self.write_engine = _postgresql_engine(self.url, pool_size=pool_size)
            self.read_engine = self.write_engine
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)

    def session(self, *, write: bool = True) -> Session:
        """Open a session; writers serialise on SQLite, readers never block."""
        return (self._write if write else self._read)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Run a block in one transaction: commit on success, roll back on error."""
        with self.session(write=write) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection (and stop checkpointing)."""
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


_db: Database | None = None


def get_database(settings: Settings | None = None) -> Database:
    """Return the process database, creating it from settings on first use."""
    global _db
    if _db is None:
        settings = settings or get_settings()
        _db = Database(settings.database_url, pool_size=settings.db_pool_size)
    return _db


def reset_database() -> None:
    """Forget the process database (tests, and after the URL changed)."""
    global _db
    if _db is not None:
        _db.dispose()
    _db = None


def serialize_on(session: Session, key: str) -> None:
    """Make this write transaction the only one holding `key` until it ends: check-then-insert on a value no
    unique index guards (an email a pending customer will give its admin) is then atomic. SQLite writers are
    serialized already (BEGIN IMMEDIATE); PostgreSQL takes a transaction-level advisory lock on the key's hash."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def core(session: Session) -> sa.Connection:
    """The session's connection, for a Core statement on a table of the hottest paths (issue 15): `session.execute`
    wraps each statement in the ORM's execute, which costs about a third of a small statement. The autoflush that
    execute would make is made here, so objects added to the session are written first (foreign keys)."""
    if session.autoflush:
        session.flush()
    return session.connection()
