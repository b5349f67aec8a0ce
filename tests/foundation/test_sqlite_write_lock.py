"""The process write lock on SQLite: our writers and DBOS's queue on it instead of in SQLite's busy handler."""

import contextvars
import fcntl
import os
import threading
import time

import pytest
import sqlalchemy as sa

from conftest import PG_URL
from wholesale.db import session as dbsession

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the write lock is SQLite's")


@pytest.mark.parametrize(
    ("statement", "is_write"),
    [
        ("INSERT INTO t VALUES (1)", True),
        ("  update t set a = 1", True),
        ("-- why\nDELETE FROM t", True),
        ("/* a\nb */ REPLACE INTO t VALUES (1)", True),
        ("SELECT * FROM t", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),  # pysqlite opens no transaction for it either
        ("INSERTED", False),
    ],
)
def test_the_statements_that_take_the_lock_are_those_pysqlite_opens_a_transaction_for(statement, is_write):
    assert bool(dbsession._DML.match(statement)) is is_write


def test_a_system_database_write_waits_for_our_writer_and_succeeds(tmp_path):
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    db = dbsession.Database(url)
    system = dbsession.sqlite_system_engine(url, pool_size=2)
    try:
        with system.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
        waited_before = dbsession.WRITE_LOCK_WAIT._value.get()
        held = threading.Event()
        done: list[float] = []

        def dbos_like_writer() -> None:
            held.wait()
            with system.begin() as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (2)"))
            done.append(time.monotonic())

        writer = threading.Thread(target=dbos_like_writer)
        writer.start()
        with db.transaction() as session:
            session.execute(sa.text("INSERT INTO t VALUES (1)"))
            held.set()
            time.sleep(0.3)  # the other writer queues on the lock meanwhile
            committed_at = time.monotonic()
        writer.join(10)
        assert done and done[0] >= committed_at
        with system.connect() as conn:
            assert sorted(r[0] for r in conn.execute(sa.text("SELECT a FROM t"))) == [1, 2]
        assert dbsession.WRITE_LOCK_WAIT._value.get() - waited_before >= 0.2
    finally:
        system.dispose()
        db.dispose()


def test_the_lock_is_given_back_when_a_transaction_fails(tmp_path):
    url = f"sqlite:///{tmp_path / 'fail.db'}"
    system = dbsession.sqlite_system_engine(url, pool_size=1)
    try:
        with system.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (a INTEGER PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        with pytest.raises(sa.exc.IntegrityError), system.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert _free_from_another_thread()
    finally:
        system.dispose()


def _free_from_another_thread(timeout: float = 1) -> bool:
    took: list[bool] = []

    def take() -> None:
        took.append(dbsession._WRITE_LOCK.acquire(background=False, timeout=timeout))
        if took[0]:
            dbsession._WRITE_LOCK.release()

    t = threading.Thread(target=take)
    t.start()
    t.join(5)
    return took == [True]


def test_a_transaction_begun_in_one_thread_may_end_in_another(tmp_path):
    """An async dependency may start the request's transaction and the endpoint's thread end it."""
    db = dbsession.Database(f"sqlite:///{tmp_path / 'threads.db'}")
    try:
        session = db.session()
        began = threading.Thread(target=lambda: session.execute(sa.text("CREATE TABLE t (a INTEGER)")))
        began.start()
        began.join(5)
        session.commit()  # this thread did not take the lock
        session.close()
        assert _free_from_another_thread()
    finally:
        db.dispose()


def test_the_lock_figures_are_on_metrics(client):
    text = client.get("/metrics").text
    assert "wholesale_sqlite_write_lock_held_seconds_total" in text
    assert "wholesale_sqlite_write_lock_wait_seconds_total" in text


def _order_of_turns(monkeypatch, max_wait: float, background_first_for: float) -> list[str]:
    """Hold the lock; a background writer queues, then (after `background_first_for` s) a request; release."""
    monkeypatch.setattr(dbsession, "BACKGROUND_MAX_WAIT", max_wait)
    lock = dbsession._WriteLock()
    assert lock.acquire(background=False, timeout=1)
    order: list[str] = []

    def writer(name: str, background: bool) -> None:
        assert lock.acquire(background=background, timeout=5)
        order.append(name)
        lock.release()

    job = threading.Thread(target=writer, args=("job", True))
    job.start()
    time.sleep(background_first_for)
    request = threading.Thread(target=writer, args=("request", False))
    request.start()
    time.sleep(0.1)  # both wait now
    lock.release()
    job.join(5)
    request.join(5)
    return order


def test_requests_go_before_background_writers(monkeypatch):
    assert _order_of_turns(monkeypatch, max_wait=10.0, background_first_for=0.05) == ["request", "job"]


def test_a_background_writer_that_waited_long_enough_goes_next(monkeypatch):
    assert _order_of_turns(monkeypatch, max_wait=0.02, background_first_for=0.05) == ["job", "request"]


def test_a_background_writer_takes_a_free_lock_at_once():
    lock = dbsession._WriteLock()
    started = time.monotonic()
    assert lock.acquire(background=True, timeout=1)
    assert time.monotonic() - started < 0.5
    lock.release()


def test_waiting_for_the_lock_times_out_and_passes_the_turn_on():
    lock = dbsession._WriteLock()
    assert lock.acquire(background=False, timeout=1)
    assert lock.acquire(background=True, timeout=0.05) is False
    lock.release()
    assert lock.acquire(background=True, timeout=0.5)
    lock.release()


# Between processes on one box (`wholesale serve --worker-process`): flocks on `<database>-writer` and `-wanted`.
# flock locks belong to an open file, so a second open() in this process stands for another process.


def _another_process_holds(path: str, kind: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, kind)
    return fd


@pytest.fixture
def lock_db(tmp_path):
    """A database file with table t, and its path (the lock files are named after it)."""
    path = str(tmp_path / "lock.db")
    db = dbsession.Database(f"sqlite:///{path}")
    with db.transaction() as s:
        s.execute(sa.text("CREATE TABLE t (a INTEGER)"))
    yield db, path
    db.dispose()


def _write_in_thread(db: dbsession.Database, *, background: bool) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def write() -> None:
        if background:
            dbsession.mark_background_writer()
        with db.transaction() as s:
            s.execute(sa.text("INSERT INTO t VALUES (1)"))
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return thread, done


def test_a_writer_waits_for_another_process_holding_the_writer_and_is_woken_when_it_ends(lock_db):
    db, path = lock_db
    other = _another_process_holds(f"{path}-writer", fcntl.LOCK_EX)
    try:
        thread, done = _write_in_thread(db, background=False)
        assert not done.wait(0.2)  # the other process's transaction is open
        fcntl.flock(other, fcntl.LOCK_UN)
        released = time.monotonic()
        assert done.wait(5) and time.monotonic() - released < 0.5
        thread.join()
    finally:
        os.close(other)


def test_a_background_writer_lets_another_processs_waiting_request_go_first(lock_db, monkeypatch):
    """A request of another process holds `-wanted` while it waits for the writer: a job waits for it (up to
    BACKGROUND_MAX_WAIT), then takes its turn anyway."""
    monkeypatch.setattr(dbsession, "BACKGROUND_MAX_WAIT", 0.6)
    db, path = lock_db
    request = _another_process_holds(f"{path}-wanted", fcntl.LOCK_SH)
    try:
        thread, done = _write_in_thread(db, background=True)
        assert not done.wait(0.2)  # the request goes first
        fcntl.flock(request, fcntl.LOCK_UN)
        assert done.wait(5)
        thread.join()
        # A request that never goes away does not starve the job: it goes after BACKGROUND_MAX_WAIT.
        fcntl.flock(request, fcntl.LOCK_SH)
        started = time.monotonic()
        thread, done = _write_in_thread(db, background=True)
        assert done.wait(5) and 0.5 <= time.monotonic() - started < 3
        thread.join()
        # A request of this process announces itself the same way (a shared lock, so requests never wait for
        # each other on it).
        thread, done = _write_in_thread(db, background=False)
        assert done.wait(5)
        thread.join()
    finally:
        os.close(request)


def test_a_request_turn_is_borrowed_by_each_transaction_of_the_request_and_given_back_once(tmp_path, monkeypatch):
    """A write request served on the event loop (kit.http) takes its turn at the writer once; its transactions, in
    this thread or in a thread it hands work to (with its context, as anyio does), borrow the turn instead of queueing
    behind it (issue 15)."""
    monkeypatch.setattr(dbsession, "WRITE_LOCK_TIMEOUT", 0.5)  # a transaction that queued for it would fail fast
    db = dbsession.Database(f"sqlite:///{tmp_path / 'turn.db'}")

    def insert(value: int) -> None:
        with db.transaction() as session:
            session.execute(sa.text("INSERT INTO t VALUES (:a)"), {"a": value})

    try:
        with db.transaction() as session:
            session.execute(sa.text("CREATE TABLE t (a INTEGER)"))
        turn = dbsession.RequestTurn(db.url)
        assert turn.take(wait=False)
        with dbsession.holding(turn):
            insert(1)
            handed = threading.Thread(target=contextvars.copy_context().run, args=(insert, 2))
            handed.start()
            handed.join(5)
            insert(3)
            assert not _free_from_another_thread(timeout=0)  # the commits left the turn with the request
        turn.give_back()
        assert _free_from_another_thread(timeout=0)
        insert(4)  # outside the request: a turn of its own, as before
        with db.transaction(write=False) as session:
            assert [r[0] for r in session.execute(sa.text("SELECT a FROM t ORDER BY a"))] == [1, 2, 3, 4]
    finally:
        db.dispose()


def test_a_request_turn_is_not_taken_without_waiting_while_another_writer_holds_the_writer(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db = dbsession.Database(url)
    try:
        with db.transaction() as session:
            session.execute(sa.text("CREATE TABLE t (a INTEGER)"))
            turn = dbsession.RequestTurn(db.url)
            assert not turn.take(wait=False)
            assert not turn.held
            waited = threading.Thread(target=turn.take, kwargs={"wait": True})
            waited.start()
            time.sleep(0.2)
            assert not turn.held  # still waiting in its thread
            session.execute(sa.text("INSERT INTO t VALUES (1)"))
        waited.join(5)
        assert turn.held
        turn.give_back()
        assert _free_from_another_thread()
    finally:
        db.dispose()


def test_background_writers_let_requests_waiting_on_the_event_loop_go_first():
    lock = dbsession._WriteLock()
    assert lock.acquire(background=False, timeout=1)
    order: list[str] = []

    def job() -> None:
        assert lock.acquire(background=True, timeout=5)
        order.append("job")
        lock.release()

    waiting = threading.Thread(target=job)
    waiting.start()
    lock.waiting_elsewhere(1)  # a request queued on the event loop
    time.sleep(0.1)
    lock.release()
    time.sleep(0.2)
    assert order == []  # the free lock is kept for the request
    lock.waiting_elsewhere(-1)  # it got its turn some other way, or gave up
    waiting.join(5)
    assert order == ["job"]
