"""Per-request context (tracking id, actor) carried in contextvars into services and jobs."""

from contextvars import ContextVar

_tracking_id: ContextVar[str | None] = ContextVar("tracking_id", default=None)
_actor: ContextVar[str] = ContextVar("actor", default="system")
# The actor's role (a Role value, or job / cli / system) and the org it belongs to, for the audit log.
_actor_role: ContextVar[str | None] = ContextVar("actor_role", default=None)
_actor_org: ContextVar[str | None] = ContextVar("actor_org", default=None)


def current_tracking_id() -> str | None:
    """Return the tracking id of the request or job being served."""
    return _tracking_id.get()


def set_tracking_id(value: str | None) -> None:
    """Set the tracking id for the current context."""
    _tracking_id.set(value)


def current_actor() -> str:
    """Return who is acting: a token id, a job name or 'system'."""
    return _actor.get()


def set_actor(value: str, *, role: str | None = None, org_id: str | None = None) -> None:
    """Set who is acting in the current context, with its role and org when known."""
    _actor.set(value)
    _actor_role.set(role)
    _actor_org.set(org_id)


def current_actor_role() -> str | None:
    """The acting principal's role (partner_admin, operator, ..., job, cli), when known."""
    return _actor_role.get()


def current_actor_org() -> str | None:
    """The org the acting principal belongs to, when known."""
    return _actor_org.get()
