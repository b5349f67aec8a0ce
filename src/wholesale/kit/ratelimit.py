"""Rate limiting per caller (token bucket, per process): per access token, or per client address for API requests
that carry none."""

import hashlib
import math
import threading
import time
from collections import OrderedDict

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
