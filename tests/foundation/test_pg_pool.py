"""Pooled PostgreSQL connections (issue 15): one used within the last second is handed out without a ping (SQLAlchemy's
pool_pre_ping made a round trip before every transaction); one idle for longer is pinged first, so a connection the
server cut while it sat in the pool (a restart, a failover, an idle timeout) is replaced, not handed to a request."""

import time

import pytest
import sqlalchemy as sa

from conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL")


def _pings() -> float:
    from wholesale.db.session import PINGS

    return PINGS._value.get()


def _backend_pid(db) -> int:
    with db.transaction() as session:
        return session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_used_within_a_second_is_not_pinged_and_one_cut_while_idle_is_replaced(tmp_path):
    from conftest import fresh_database_url
    from wholesale.db.session import PING_AFTER_IDLE, Database

    db = Database(fresh_database_url(tmp_path), pool_size=1)
    try:
        before = _pings()
        first = _backend_pid(db)  # a new connection: not pinged
        for _ in range(5):
            assert _backend_pid(db) == first  # the same pooled connection, reused at once
        assert _pings() == before

        admin = sa.create_engine(db.url, poolclass=sa.pool.NullPool)  # the server cuts the pooled connection
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        admin.dispose()
        time.sleep(PING_AFTER_IDLE + 0.2)
        replaced = _backend_pid(db)  # pinged, found cut, replaced: the transaction never sees it
        assert replaced != first
        assert _pings() >= before + 1
    finally:
        db.dispose()
