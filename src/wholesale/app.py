"""The ASGI application: routers, error handlers, middleware, and the worker lifecycle."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import wholesale
from wholesale.config import Settings, get_settings
from wholesale.db.session import get_database
from wholesale.identity.auth import authenticate_request
from wholesale.kit import clock, faults
from wholesale.kit.errors import DomainError
from wholesale.kit.http import handle_domain_error, handle_http_exception, handle_validation_error, use_authenticator
from wholesale.kit.observability import RequestMiddleware, configure_logging
from wholesale.kit.ratelimit import DatabaseRateLimiter, RateLimiter
from wholesale.portal.security import PortalSecurityHeaders


def install_clock(settings: Settings) -> None:
    """Use the database-backed movable clock in a sandbox, the real clock otherwise."""
    if settings.sandbox:
        from wholesale.ops.service import read_clock_offset

        clock.set_clock(clock.OffsetClock(read_clock_offset))
    elif isinstance(clock.get_clock(), clock.OffsetClock):
        clock.set_clock(clock.SystemClock())


def create_app(settings: Settings | None = None, *, workers: bool = True) -> FastAPI:
    """Build the application; with `workers` the process also runs background jobs."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    install_clock(settings)
    if settings.sandbox:
        faults.enable()  # chaos drills against a sandbox; never in production

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from wholesale import workers as job_workers
        from wholesale.customers.validation import warm_up
        from wholesale.jobs import runtime

        await run_in_threadpool(warm_up)
        launched = workers and await run_in_threadpool(job_workers.launch, settings)
        try:
            yield
        finally:
            # Only the lifespan that started the workers stops them (a second app, or a second
            # lifespan run of this one, leaves the process's job engine alone).
            if launched:
                await run_in_threadpool(runtime.shutdown)

    app = FastAPI(
        title="wholesale",
        version=wholesale.__version__,
        description="Wholesale route-to-market provisioning (Webex Wholesale compatible).",
        lifespan=lifespan,
    )
    use_authenticator(authenticate_request)
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    limiter: RateLimiter | DatabaseRateLimiter = (
        DatabaseRateLimiter(
            settings.rate_limit_per_minute, settings.rate_limit_burst, lambda: get_database().transaction()
        )
        if settings.rate_limit_store == "database"
        else RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    )
    app.add_middleware(
        RequestMiddleware,
        limiter=limiter,
        log_requests=settings.log_requests,
        max_body_bytes=settings.max_body_bytes,
    )
    app.add_middleware(PortalSecurityHeaders)
    if settings.forwarded_allow_ips:
        # Outermost: behind a TLS-terminating proxy the scheme (Secure portal cookies) and the client address
        # (rate limits) come from X-Forwarded-Proto/-For, trusted only from these addresses.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    from wholesale.activity.audit_endpoints import router as audit_router
    from wholesale.activity.endpoints import router as activity_router
    from wholesale.billing.endpoints import router as billing_router
    from wholesale.compliance.endpoints import partner_router as compliance_partner_router
    from wholesale.compliance.endpoints import router as compliance_router
    from wholesale.customers.endpoints import router as customers_router
    from wholesale.dialin.endpoints import router as dialin_router
    from wholesale.ops.endpoints import router as ops_router
    from wholesale.ops.endpoints import sandbox_router
    from wholesale.partners.endpoints import organizations_router
    from wholesale.partners.endpoints import router as partners_router
    from wholesale.subscribers.endpoints import router as subscribers_router
    from wholesale.webhooks.endpoints import router as webhooks_router

    # The busiest routers first: a request is matched against every route before its own (issue 15: a single
    # subscriber create was tried against 35 routes first). No two routes of these routers match the same path and
    # method (tests/foundation/test_routes.py), so the order changes nothing else.
    app.include_router(subscribers_router)
    app.include_router(customers_router)
    app.include_router(ops_router)
    app.include_router(partners_router)
    app.include_router(dialin_router)
    app.include_router(compliance_router)
    app.include_router(compliance_partner_router)
    app.include_router(organizations_router)
    app.include_router(billing_router)
    app.include_router(activity_router)
    app.include_router(audit_router)
    app.include_router(webhooks_router)
    from wholesale.portal.routes import router as portal_router
    from wholesale.portal.web import STATIC_DIR

    # The static mount goes first: the portal's catch-all 404 page would otherwise shadow it.
    app.mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    app.include_router(portal_router)
    if settings.sandbox:
        app.include_router(sandbox_router)
    return app
