"""Per-token rate limiting (token bucket, per process)."""

import hashlib
import math
import threading
import time


class RateLimiter:
    """A token bucket per bearer token: `per_minute` sustained, `burst` at once."""

    def __init__(self, per_minute: int, burst: int):
        self.rate = per_minute / 60.0
        self.burst = max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, authorization: str | None) -> int | None:
        """Spend one unit for this caller; return seconds to wait when the bucket is empty, else None."""
        if self.rate <= 0 or not authorization:
            return None
        key = hashlib.blake2b(authorization.encode(), digest_size=16).digest().hex()
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
        return None
