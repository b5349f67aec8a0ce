"""SQLite's WAL checkpoints run in a thread of their own, not in the commit of whichever writer crossed 1,000 pages
while it held the one writer (issue 15)."""

import os
import sqlite3
import time

import pytest
import sqlalchemy as sa

from conftest import PG_URL
from wholesale.db import session as dbsession

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the WAL is SQLite's")

ROWS = 400  # of 16 KiB: about 1,600 pages, past SQLite's 1,000-page automatic checkpoint


def _write(db: dbsession.Database) -> None:
    with db.transaction() as session:
        session.execute(sa.text("CREATE TABLE t (a BLOB)"))
    for _ in range(ROWS):
        with db.transaction() as session:
            session.execute(sa.text("INSERT INTO t VALUES (randomblob(16384))"))


def _wal_database(tmp_path) -> str:
    path = tmp_path / "wal.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # as `wholesale migrate` sets it
    return str(path)


def test_commits_do_not_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(dbsession, "CHECKPOINT_EVERY", 3600.0)  # the checkpointer sleeps through the writes
    path = _wal_database(tmp_path)
    db = dbsession.Database(f"sqlite:///{path}")
    try:
        _write(db)
        assert os.path.getsize(f"{path}-wal") > ROWS * 16384  # every page is still in the WAL
        assert os.path.getsize(path) < 1024 * 1024  # none was copied into the database file by a commit
    finally:
        db.dispose()


def test_the_checkpointer_copies_the_wal_into_the_database_file(tmp_path, monkeypatch):
    monkeypatch.setattr(dbsession, "CHECKPOINT_EVERY", 0.05)
    path = _wal_database(tmp_path)
    db = dbsession.Database(f"sqlite:///{path}")
    try:
        _write(db)
        deadline = time.monotonic() + 10
        while os.path.getsize(path) < ROWS * 16384 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.getsize(path) >= ROWS * 16384
        with db.transaction(write=False) as session:
            assert session.execute(sa.text("SELECT count(*) FROM t")).scalar() == ROWS
    finally:
        db.dispose()
    assert not db._checkpointer  # stopped with the database


def test_the_checkpointer_does_not_create_a_database_file(tmp_path, monkeypatch):
    monkeypatch.setattr(dbsession, "CHECKPOINT_EVERY", 0.01)
    db = dbsession.Database(f"sqlite:///{tmp_path / 'never.db'}")
    time.sleep(0.2)
    db.dispose()
    assert not (tmp_path / "never.db").exists()
