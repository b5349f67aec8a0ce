"""FastAPI dependencies for who is calling and with which scope (401/403 in the Webex error body)."""

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.identity import service as identity
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit.context import set_actor
from wholesale.kit.errors import Forbidden
from wholesale.kit.ids import hash_token

_token_cache: identity.TokenCache | None = None


def token_cache() -> identity.TokenCache:
    """Return the process token cache."""
    global _token_cache
    if _token_cache is None:
        _token_cache = identity.TokenCache(get_settings().token_cache_seconds)
    return _token_cache


def authenticate_request(request: Request) -> Principal:
    """Resolve the caller once per request (401 on a missing or bad token)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal
    principal = identity.authenticate(
        lambda: get_database().session(write=False), request.headers.get("authorization"), token_cache()
    )
    request.state.principal = principal
    set_actor(f"token:{principal.token_id}", role=principal.role, org_id=principal.org_id)
    return principal


def act_as(principal: Principal) -> None:
    """Name the principal as the actor of what the current context writes (the audit trail)."""
    set_actor(f"token:{principal.token_id}", role=principal.role, org_id=principal.org_id)


def _cached_principal(request: Request) -> Principal | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    principal = token_cache().get(hash_token(token.strip()))
    if principal is not None:
        request.state.principal = principal
        set_actor(f"token:{principal.token_id}", role=principal.role, org_id=principal.org_id)
    return principal


def require(scope: Scope, *roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: the caller must hold a scope (and, when given, one of the roles)."""

    async def dependency(request: Request) -> Principal:
        # The token cache answers on the event loop; only a miss goes to the database in a thread.
        principal = getattr(request.state, "principal", None) or _cached_principal(request)
        if principal is None:
            principal = await run_in_threadpool(authenticate_request, request)
        # Here, on the event loop, as well: what a thread sets in its copy of the context does not come back, and the
        # endpoint's audit rows would name an anonymous actor after every token cache miss.
        act_as(principal)
        if roles and principal.role not in roles:
            raise Forbidden(f"Role {principal.role} may not call this operation.")
        identity.require_scope(principal, scope)
        return principal

    dependency.__name__ = f"require_{scope.name.lower()}"
    return dependency
