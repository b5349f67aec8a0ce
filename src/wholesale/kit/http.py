"""HTTP plumbing: the unit of work per request, Idempotency-Key, and the one error format."""

import asyncio
import functools
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from wholesale.db.session import RequestTurn, get_database, holding, requests_waiting_elsewhere
from wholesale.kit import idempotency
from wholesale.kit.context import current_tracking_id
from wholesale.kit.errors import DomainError, error_body
from wholesale.kit.pagination import Page

log = logging.getLogger("wholesale.http")
T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_METHODS = frozenset({"POST", "PUT"})
# A write request may hold a lock from one worker-thread hop to a later one: on SQLite the process write lock, taken
# by the first query of a dependency or of its Idempotency-Key claim; on PostgreSQL a row lock its endpoint takes
# (the partner's ledger head, FOR UPDATE), both held until the commit, which for an endpoint returning a model runs
# in a hop of its own. With more such requests in flight than the thread pool has threads (anyio's 40), every thread
# waits for the lock while its holder waits for a thread (issue 16, the crash harness: 100 concurrent creates on
# SQLite, 94 unanswered after 120 s; 80 on PostgreSQL, 79 unanswered and the process stuck for good). Write requests
# beyond this many wait on the event loop instead, holding no thread; they would only queue for the lock anyway.
WRITE_REQUESTS_IN_FLIGHT = 16
# On SQLite a write request holds the one writer from its first statement to its commit, so beyond a few in flight
# they only wait in threads for it, each woken in turn and asking for the interpreter lock. A few keep the writer
# busy (the next one is already waiting in its thread when the holder commits); with 16, 1,500 creates from 32
# clients went through at 125-202/s (3.95-5.8 ms of server CPU each), with 4 at 157-228/s (3.66-5.0 ms), on a shared
# machine (docs/PERFORMANCE.md, issue 15).
SQLITE_WRITE_REQUESTS_IN_FLIGHT = 4
_write_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()
_inline_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()
# True while a request runs on the event loop holding SQLite's writer (see _inline_write).
_inline: ContextVar[bool] = ContextVar("inline_write", default=False)


G = TypeVar("G")


def _of_this_loop(gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, G]", make: Callable[[], G]) -> G:
    """The running event loop's gate in `gates`, made on first use."""
    loop = asyncio.get_running_loop()
    gate = gates.get(loop)
    if gate is None:
        gate = gates[loop] = make()
    return gate


def _write_gate() -> asyncio.Semaphore:
    """This event loop's gate for write requests."""
    return _of_this_loop(
        _write_gates,
        lambda: asyncio.Semaphore(
            SQLITE_WRITE_REQUESTS_IN_FLIGHT if get_database().is_sqlite else WRITE_REQUESTS_IN_FLIGHT
        ),
    )


def _inline_gate() -> asyncio.Lock:
    """This event loop's queue of write requests that run on it (one at a time: SQLite has one writer)."""
    return _of_this_loop(_inline_gates, asyncio.Lock)


def on_the_loop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a sync write endpoint to run on the event loop holding SQLite's writer (_inline_write): only one that does
    nothing but database work in one transaction, never waiting for a job, the network or a writer of its own."""
    endpoint.on_the_loop = True  # type: ignore[attr-defined]
    return endpoint


async def run_blocking(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking (database) work for the current request: right here when the request runs on the event loop
    holding SQLite's writer (_inline_write), else in a worker thread."""
    if _inline.get():
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


class UnitOfWork:
    """The request's one database transaction, opened on first use."""

    def __init__(self, write: bool):
        self.write = write
        self._session: Session | None = None
        # Set when the request claimed an Idempotency-Key: (org id, key).
        self.claim: tuple[str, str] | None = None

    @property
    def session(self) -> Session:
        """Return the session, opening it on first use."""
        if self._session is None:
            self._session = get_database().session(write=self.write)
        return self._session

    @property
    def opened(self) -> bool:
        """True once the session exists."""
        return self._session is not None

    def finish(self, response: Response) -> None:
        """Commit (storing the response under a claimed Idempotency-Key) when it succeeded, then release."""
        try:
            if self._session is not None and response.status_code < 400:
                if self.claim is not None:
                    idempotency.store(
                        self._session,
                        org_id=self.claim[0],
                        key=self.claim[1],
                        status_code=response.status_code,
                        body=bytes(response.body),
                        headers=dict(response.headers),
                    )
                if self.write:
                    self._session.commit()
        finally:
            self.close()

    def close(self) -> None:
        """Roll back anything uncommitted and release the connection."""
        if self._session is not None:
            self._session.close()
            self._session = None


_current_uow: ContextVar[UnitOfWork | None] = ContextVar("current_uow", default=None)


async def get_session(request: Request) -> Session:
    """Dependency: the request's session (committed by the route after the endpoint succeeds).

    Async on purpose: it does no I/O (the connection is taken on first query, in the endpoint's thread),
    and a sync dependency would cost a thread-pool hop per request.
    """
    return request.state.uow.session


SessionDep = Annotated[Session, Depends(get_session)]


def _finishing_in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync endpoint so its transaction ends in the endpoint's own worker thread (no extra hop)."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        uow = _current_uow.get()
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            if uow is not None:
                uow.close()
            raise
        if uow is not None and isinstance(result, Response):
            uow.finish(result)
        return result

    return run


def _run_where_the_request_runs(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Make a sync endpoint a coroutine FastAPI awaits: it runs right here when the request runs on the event loop
    holding SQLite's writer (_inline_write), else in a worker thread, where its transaction also ends."""
    finishing = _finishing_in_thread(endpoint)

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_blocking(finishing, *args, **kwargs)

    return run


class UnitOfWorkRoute(APIRoute):
    """Wrap each endpoint in one transaction: commit on 2xx/3xx, roll back otherwise; replay Idempotency-Keys."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any):
        # A sync write endpoint marked on_the_loop runs on the event loop holding SQLite's writer (_inline_write).
        self.inline_on_sqlite = getattr(endpoint, "on_the_loop", False)
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _run_where_the_request_runs(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        inline_on_sqlite = self.inline_on_sqlite

        async def handler(request: Request) -> Response:
            if request.method in SAFE_METHODS:
                return await serve(request)
            if inline_on_sqlite and get_database().is_sqlite:
                return await _inline_write(request, serve)
            async with _write_gate():
                return await serve(request)

        async def serve(request: Request) -> Response:
            uow = UnitOfWork(write=request.method not in SAFE_METHODS)
            request.state.uow = uow
            token = _current_uow.set(uow)
            try:
                key = request.headers.get("idempotency-key")
                if key is not None and request.method in IDEMPOTENT_METHODS:
                    replay = await _claim_key(request, uow, key)
                    if replay is not None:
                        return replay
                response = await original(request)
                if uow.opened:  # endpoints that return models (not Responses) end here
                    await run_blocking(uow.finish, response)
                return response
            finally:
                _current_uow.reset(token)
                if uow.opened:
                    await run_blocking(uow.close)

        return handler


async def _inline_write(request: Request, serve: Callable[[Request], Awaitable[Response]]) -> Response:
    """Serve a write request on SQLite on the event loop itself, holding the writer from start to end (issue 15).

    SQLite has one writer, so write requests are served one at a time whatever we do. Each used to hop between the
    event loop and worker threads (its tenant read, its endpoint, its commit), holding the writer across the hops,
    and each hop and each hand-over of the writer between threads woke a thread and passed the interpreter lock.
    Here the requests queue on the event loop (no thread waits), take the writer as one turn (RequestTurn), and run
    their dependencies, endpoint and commit without a thread. The turn is waited for in a worker thread only when a
    job or another process holds the writer; the event loop never blocks on it.
    """
    requests_waiting_elsewhere(1)  # background writers let queued requests go first
    waiting = True
    try:
        async with _inline_gate():
            requests_waiting_elsewhere(-1)
            waiting = False
            turn = RequestTurn(get_database().url)
            try:
                if not turn.take(wait=False):
                    await run_in_threadpool(turn.take, wait=True)
                token = _inline.set(True)
                try:
                    with holding(turn):
                        return await serve(request)
                finally:
                    _inline.reset(token)
            finally:
                turn.give_back()  # also when cancelled after its thread took the turn (no-op if it did not)
    finally:
        if waiting:
            requests_waiting_elsewhere(-1)


class _Caller(Protocol):
    @property
    def org_id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def scopes(self) -> frozenset[str]: ...


_authenticate: Callable[[Request], _Caller] | None = None


def use_authenticator(authenticate: Callable[[Request], _Caller]) -> None:
    """Install how a request's caller is resolved (the app installs identity's); Idempotency-Keys are per org."""
    global _authenticate
    _authenticate = authenticate


async def _claim_key(request: Request, uow: UnitOfWork, key: str) -> Response | None:
    """Claim an Idempotency-Key for the caller's org; return the stored response on a replay."""
    if _authenticate is None:
        raise RuntimeError("kit.http.use_authenticator was not called")
    principal = await run_blocking(_authenticate, request)
    body = await request.body()
    caller = f"{principal.role}:{','.join(sorted(principal.scopes))}"
    fp = idempotency.fingerprint(request.method, request.url.path, request.url.query, body, caller)
    stored = await run_blocking(
        idempotency.claim,
        uow.session,
        org_id=principal.org_id,
        key=key,
        method=request.method,
        path=request.url.path,
        fp=fp,
    )
    if stored is None:
        uow.claim = (principal.org_id, key)
        return None
    headers = dict(stored.headers)
    headers["Idempotent-Replayed"] = "true"
    return Response(content=stored.body, status_code=stored.status_code, headers=headers)


def error_response(
    status_code: int, message: str, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    """Render the Webex error body."""
    tracking_id = current_tracking_id() or ""
    return JSONResponse(error_body(message, errors, tracking_id), status_code=status_code, headers=headers or None)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


ExcT = TypeVar("ExcT", bound=Exception)


def _expect(exc: Exception, kind: type[ExcT]) -> ExcT:
    """Narrow what Starlette hands a handler to the exception class it was registered for."""
    if not isinstance(exc, kind):
        raise TypeError(f"the {kind.__name__} handler was given a {type(exc).__name__}") from exc
    return exc


# Handlers take `Exception`, the type Starlette's add_exception_handler declares; each is registered
# for one exception class only, and narrows to it.
async def handle_domain_error(_request: Request, raised: Exception) -> JSONResponse:
    """Render a DomainError."""
    exc = _expect(raised, DomainError)
    return error_response(exc.status_code, exc.message, exc.errors, exc.headers)


async def handle_validation_error(_request: Request, raised: Exception) -> JSONResponse:
    """Render request validation failures as 400 naming each offending field."""
    exc = _expect(raised, RequestValidationError)
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        field = _field_name(tuple(err.get("loc", ())))
        text = err.get("msg", "invalid")
        if err.get("type") == "missing":
            text = "is required"
        elif err.get("type") == "json_invalid":
            field, text = "body", "is not valid JSON"
        errors.append({"description": f"{field}: {text}", "errorCode": 400100})
    message = "; ".join(e["description"] for e in errors) or "Invalid request."
    return error_response(400, message, errors)


async def handle_http_exception(_request: Request, raised: Exception) -> JSONResponse:
    """Render routing errors (unknown path, wrong method) in the same format."""
    exc = _expect(raised, StarletteHTTPException)
    messages = {404: "The requested resource could not be found.", 405: "The method is not allowed on this resource."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(
        exc.status_code,
        message,
        [{"description": message, "errorCode": exc.status_code * 1000}],
        dict(exc.headers or {}),
    )


def public_base(request: Request) -> str:
    """Return the origin clients reach us at (configured, or this request's scheme and host)."""
    from wholesale.config import get_settings

    configured = get_settings().public_base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _plain(value: Any) -> Any:
    """`jsonable_encoder(value, exclude_none=True)` for the plain values list pages hold (dicts, lists, str, int,
    float, bool, None), without its dozen checks per value: 4 ms of a 100-customer page's 10 (issue 15). Any other
    type (enums, datetimes, models) still goes through jsonable_encoder."""
    from fastapi.encoders import jsonable_encoder

    kind = type(value)
    if value is None or kind is str or kind is int or kind is float or kind is bool:
        return value
    if kind is dict:
        return {
            k: _plain(v)
            for k, v in value.items()
            if v is not None and not (isinstance(k, str) and k.startswith("_sa"))  # as jsonable_encoder drops them
        }
    if kind is list:
        return [_plain(v) for v in value]
    return jsonable_encoder(value, exclude_none=True)


def list_response(request: Request, page: "Page[Any]", items: list[Any]) -> JSONResponse:
    """Render `{"items": [...]}` with a Link rel="next" header when another page follows."""
    from wholesale.config import get_settings
    from wholesale.kit.pagination import next_link

    response = JSONResponse({"items": _plain(items)})
    link = next_link(request.url, page, get_settings().public_base_url)
    if link:
        response.headers["Link"] = link
    return response
