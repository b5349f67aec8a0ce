"""The rate limit kept in the database (WHOLESALE_RATE_LIMIT_STORE=database, docs/SCALING.md): N API processes give a
caller the limit once, not N times. Two apps on one database stand for two API processes behind a load balancer;
each app has its own limiter object, as each process would."""

import uuid

import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import assert_error_body
from wholesale.app import create_app
from wholesale.config import Settings
from wholesale.db.session import get_database
from wholesale.kit.ratelimit import DatabaseRateLimiter, RateLimitBucket, caller_key, purge_idle_buckets


def db_session():
    return get_database().session(write=False)


LIMITS = {"rate_limit_per_minute": 60, "rate_limit_burst": 3}


def _alternating(store: str, headers: dict[str, str], n: int) -> list:
    """n GETs of one caller spread round-robin over two API processes."""
    apps = [create_app(Settings(**LIMITS, rate_limit_store=store), workers=False) for _ in range(2)]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        return [(a, b)[i % 2].get("/v1/wholesale/subPartners", headers=headers) for i in range(n)]


def test_two_processes_share_one_bucket_in_the_database(database_url, partner):
    per_process = _alternating("process", partner.headers, 6)
    assert [r.status_code for r in per_process] == [200] * 6  # a burst of 3 each: twice the limit with two

    shared = _alternating("database", partner.headers, 6)
    assert [r.status_code for r in shared] == [200, 200, 200, 429, 429, 429]  # the limit once across both
    assert_error_body(shared[-1], 429)
    assert int(shared[-1].headers["retry-after"]) >= 1
    key = caller_key(partner.headers["Authorization"], None, "/v1/")
    with TestClient(create_app(Settings(**LIMITS, rate_limit_store="database"), workers=False)) as c:
        spelt = c.get("/v1/wholesale/subPartners", headers={"Authorization": f"bearer  {partner.token}"})
        assert spelt.status_code == 429  # one caller however the header is spelt, in the shared store too
    with db_session() as session:
        assert session.get(RateLimitBucket, key).denied


def test_the_shared_bucket_refills_with_time_and_says_how_long_to_wait(db):
    limiter = DatabaseRateLimiter(per_minute=60, burst=2, transaction=db.transaction)
    key = f"t:{uuid.uuid4().hex}"
    assert [limiter.check(key) for _ in range(2)] == [None, None]
    wait = limiter.check(key)
    assert wait is not None and 1 <= wait <= 2  # one token a second; under one second's worth left
    with db.transaction() as session:  # two seconds pass (by the bucket's own clock)
        session.execute(
            sa.update(RateLimitBucket).where(RateLimitBucket.key == key).values(updated=RateLimitBucket.updated - 2.0)
        )
    assert limiter.check(key) is None
    other = f"t:{uuid.uuid4().hex}"
    assert limiter.check(other) is None  # callers do not share


def test_a_database_it_cannot_reach_lets_requests_through():
    """The limiter protects the service; it must not be what takes it down."""
    from contextlib import contextmanager

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    tried = []

    @contextmanager
    def transaction():
        with Session(engine) as session, session.begin():
            tried.append(1)
            yield session

    limiter = DatabaseRateLimiter(per_minute=60, burst=1, transaction=transaction)
    assert [limiter.check("t:x") for _ in range(3)] == [None, None, None]
    assert len(tried) == 3
    try:
        with transaction() as session:
            session.execute(sa.text("SELECT 1"))
        raise AssertionError("connected")
    except OperationalError:
        pass  # it was the connection that failed, nothing else


def test_idle_buckets_are_purged_and_busy_ones_kept(db):
    limiter = DatabaseRateLimiter(per_minute=60, burst=10, transaction=db.transaction)
    idle, busy = f"t:{uuid.uuid4().hex}", f"t:{uuid.uuid4().hex}"
    limiter.check(idle)
    limiter.check(busy)
    with db.transaction() as session:  # full again after 10 s; purged a minute after that
        session.execute(
            sa.update(RateLimitBucket).where(RateLimitBucket.key == idle).values(updated=RateLimitBucket.updated - 71.0)
        )
    with db.transaction() as session:
        assert purge_idle_buckets(session, per_minute=60, burst=10) >= 1
    with db.session(write=False) as session:
        left = set(session.scalars(sa.select(RateLimitBucket.key).where(RateLimitBucket.key.in_([idle, busy]))))
    assert left == {busy}
