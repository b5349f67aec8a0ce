"""Rate limiting per caller (token bucket): per access token, or per client address for API requests that carry
none. Kept per process (the default) or in the database, shared by every API process (docs/SCALING.md)."""

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from wholesale.db.base import Base

MAX_BUCKETS = 100_000


def caller_key(authorization: str | None, client: str | None, path: str) -> str | None:
    """The bucket a request spends from, or None for no limit.

    The token itself, not the raw header: "bearer T", "BEARER T" and "Bearer  T" are one caller. An API request
    without a token spends from its client address's bucket; health checks, metrics and the portal (cookie
    sessions) are not limited here.
    """
    if authorization and authorization.strip():
        scheme, _, credential = authorization.strip().partition(" ")
        token = credential.strip() if scheme.lower() == "bearer" else authorization.strip()
        return "t:" + hashlib.blake2b(token.encode(), digest_size=16).digest().hex()
    if path.startswith("/v1/") and client:
        return "a:" + client
    return None


class RateLimiter:
    """A token bucket per caller: `per_minute` sustained, `burst` at once, at most MAX_BUCKETS remembered."""

    blocking = False  # check() never waits on I/O: the middleware calls it on the event loop

    def __init__(self, per_minute: int, burst: int, max_buckets: int = MAX_BUCKETS):
        self.rate = per_minute / 60.0
        self.burst = max(burst, 1)
        self.max_buckets = max_buckets
        # Least recently seen first: when full, the callers idle longest are forgotten, never all of them (a
        # caller still being limited keeps moving to the end, so a flood of new keys cannot free it).
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str | None) -> int | None:
        """Spend one unit from this caller's bucket; return seconds to wait when it is empty, else None."""
        if self.rate <= 0 or key is None:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                self._buckets.move_to_end(key)
                return max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[key] = (tokens - 1.0, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_buckets:
                self._buckets.popitem(last=False)
        return None


class RateLimitBucket(Base):
    """A caller's token bucket shared by every API process (WHOLESALE_RATE_LIMIT_STORE=database): tokens left
    and when they were counted (seconds since the epoch, by the database's clock, so nodes' clocks do not matter)."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    tokens: Mapped[float] = mapped_column(sa.Float)
    updated: Mapped[float] = mapped_column(sa.Float, index=True)
    denied: Mapped[bool] = mapped_column(sa.Boolean)


# The database's clock in seconds since the epoch, in each dialect.
_NOW = {
    "postgresql": "extract(epoch from clock_timestamp())::double precision",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}
_LEAST = {"postgresql": "least", "sqlite": "min"}


def _spend_statement(dialect: str) -> sa.TextClause:
    """One atomic upsert: refill by the time since the last request, spend one token when there is one, and say
    whether it was refused. Every SET expression reads the row as it was, so `refilled` is the same in each."""
    now, least = _NOW[dialect], _LEAST[dialect]
    t = "rate_limit_buckets"
    refilled = f"{least}(:burst, {t}.tokens + (excluded.updated - {t}.updated) * :rate)"
    return sa.text(
        f"INSERT INTO {t} (key, tokens, updated, denied) VALUES (:key, :burst - 1, {now}, false) "
        f"ON CONFLICT (key) DO UPDATE SET "
        f"tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END, "
        f"denied = {refilled} < 1, updated = excluded.updated "
        f"RETURNING denied, tokens"
    )


class DatabaseRateLimiter:
    """The same token bucket kept in the database, so N API processes behind a load balancer give a caller the
    limit once, not N times (docs/SCALING.md). One upsert per limited request in a transaction of its own.

    A request the database cannot count (it is down, or busy past the pool's timeout) is let through and logged:
    the limiter protects the service, it must not be what takes it down. Buckets idle long enough to be full again
    say nothing a missing row does not; `purge_idle` deletes them (a scheduled job)."""

    blocking = True  # the middleware runs check() in a worker thread

    def __init__(self, per_minute: int, burst: int, transaction: Callable[[], AbstractContextManager[Session]]):
        self.rate = per_minute / 60.0
        self.burst = max(burst, 1)
        self._transaction = transaction
        self._statement: sa.TextClause | None = None

    def check(self, key: str | None) -> int | None:
        """Spend one unit from this caller's shared bucket; return seconds to wait when it is empty, else None."""
        if self.rate <= 0 or key is None:
            return None
        try:
            with self._transaction() as session:
                if self._statement is None:
                    self._statement = _spend_statement(session.get_bind().dialect.name)
                denied, tokens = session.execute(
                    self._statement, {"key": key, "burst": float(self.burst), "rate": self.rate}
                ).one()
        except Exception:
            logging.getLogger("wholesale.ratelimit").warning("rate limit not counted", exc_info=True)
            return None
        return max(1, math.ceil((1.0 - tokens) / self.rate)) if denied else None


def purge_idle_buckets(session: Session, per_minute: int, burst: int) -> int:
    """Delete the shared buckets that have refilled completely (and a minute more); returns how many."""
    rate = per_minute / 60.0
    idle = (max(burst, 1) / rate if rate > 0 else 0.0) + 60.0
    now = session.execute(sa.text(f"SELECT {_NOW[session.get_bind().dialect.name]}")).scalar_one()
    result = session.execute(sa.delete(RateLimitBucket).where(RateLimitBucket.updated < now - idle))
    return cast(CursorResult, result).rowcount
