"""Engines and sessions: SQLite gets WAL and BEGIN IMMEDIATE for writers; PostgreSQL gets a pool."""

import sqlite3
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from wholesale.config import Settings, get_settings


def normalise_url(url: str) -> str:
    """Use psycopg 3 for postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> sa.Engine:
    # SQLite has one writer at a time. Writers of this process share ONE connection, so they queue in
    # the pool (woken the moment the previous writer is done) instead of in SQLite's busy handler,
    # which polls with sleeps and leaves the lock idle between waiters.
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60},
        pool_size=1 if immediate else pool_size,
        max_overflow=0 if immediate else pool_size,
        pool_timeout=120,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Take transaction control from pysqlite so BEGIN is ours to issue.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # WAL is set once, persistently, by `wholesale migrate` (switching needs a lock every connect would fight for).
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY instead of waiting when another writer got in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engines of one database URL: a reader and a writer (the same engine on PostgreSQL)."""

    def __init__(self, url: str, *, pool_size: int = 20):
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(self.url, immediate=True, pool_size=pool_size)
            self.read_engine = _sqlite_engine(self.url, immediate=False, pool_size=pool_size)
        else:
            self.write_engine = sa.create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
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
        """Close every pooled connection."""
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
