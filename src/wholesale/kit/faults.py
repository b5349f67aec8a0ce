"""Fault injection for workflow steps: lets tests (and sandbox chaos drills) make a step fail N times.

Off unless switched on: the app switches it on only in the sandbox (`WHOLESALE_SANDBOX=1`) and the test suite
switches it on for itself; in production `check` returns at once and `inject` refuses.
"""

import threading


class InjectedFault(RuntimeError):
    """A failure raised on purpose."""

    def __init__(self, point: str, error_code: int = 2560, description: str | None = None):
        super().__init__(description or f"injected failure at {point}")
        self.point = point
        self.error_code = error_code
        self.description = description or f"injected failure at {point}"

    def __reduce__(self) -> tuple[type["InjectedFault"], tuple[str, int, str]]:
        # Survives DBOS's pickling of step errors with every field intact.
        return (InjectedFault, (self.point, self.error_code, self.description))


_pending: dict[str, tuple[int, int, str | None]] = {}
_lock = threading.Lock()
_enabled = False


def enable() -> None:
    """Allow faults to be injected in this process (sandbox and tests only)."""
    global _enabled
    _enabled = True


def inject(point: str, times: int = 1, *, error_code: int = 2560, description: str | None = None) -> None:
    """Make the next `times` passes through `point` fail."""
    if not _enabled:
        raise RuntimeError("fault injection is off: it is available in the sandbox and in tests only")
    with _lock:
        _pending[point] = (times, error_code, description)


def clear() -> None:
    """Remove every pending fault."""
    with _lock:
        _pending.clear()


def check(point: str) -> None:
    """Raise InjectedFault when a fault is pending at this point."""
    if not _enabled or not _pending:
        return
    with _lock:
        pending = _pending.get(point)
        if not pending:
            return
        times, code, description = pending
        if times <= 1:
            del _pending[point]
        else:
            _pending[point] = (times - 1, code, description)
    raise InjectedFault(point, code, description)
