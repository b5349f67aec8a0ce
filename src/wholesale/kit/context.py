"""Per-request context (tracking id, actor) carried in contextvars into services and jobs."""

from contextvars import ContextVar

_tracking_id: ContextVar[str | None] = ContextVar("tracking_id", default=None)
_actor: ContextVar[str] = ContextVar("actor", default="system")


def current_tracking_id() -> str | None:
    """Return the tracking id of the request or job being served."""
    return _tracking_id.get()


def set_tracking_id(value: str | None) -> None:
    """Set the tracking id for the current context."""
    _tracking_id.set(value)


def current_actor() -> str:
    """Return who is acting: a token id, a job name or 'system'."""
    return _actor.get()


def set_actor(value: str) -> None:
    """Set who is acting in the current context."""
    _actor.set(value)
