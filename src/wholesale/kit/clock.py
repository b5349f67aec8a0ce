"""The injectable clock: every rule that measures time asks it, so 30-day rules test in milliseconds."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Move the clock to an instant."""
        self._now = when


class OffsetClock:
    """Real time plus an offset stored in the database, so every process of a sandbox agrees on the time."""

    def __init__(self, read_offset: Callable[[], float], ttl: float = 0.5):
        self._read_offset = read_offset
        self._ttl = ttl
        self._cached = 0.0
        self._read_at = -1e9
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return real time shifted by the sandbox offset."""
        mono = time.monotonic()
        with self._lock:
            if mono - self._read_at > self._ttl:
                self._cached = self._read_offset()
                self._read_at = mono
            offset = self._cached
        return datetime.now(UTC) + timedelta(seconds=offset)

    def invalidate(self) -> None:
        """Forget the cached offset (after this process changed it)."""
        with self._lock:
            self._read_at = -1e9


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """Return the process clock."""
    return _clock


def set_clock(clock: Clock) -> None:
    """Replace the process clock."""
    global _clock
    _clock = clock


def now() -> datetime:
    """Return the current time according to the process clock."""
    return _clock.now()


def isoformat(when: datetime | None) -> str | None:
    """Format an instant the way Webex does: ISO-8601 with milliseconds and Z."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
