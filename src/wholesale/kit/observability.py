"""Structured JSON logs, Prometheus metrics, and the ASGI middleware that wraps every request."""

import json
import logging
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wholesale.kit.context import set_actor, set_tracking_id
from wholesale.kit.errors import error_body
from wholesale.kit.ids import new_tracking_id
from wholesale.kit.ratelimit import DatabaseRateLimiter, RateLimiter, caller_key

REQUESTS = Counter("wholesale_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "wholesale_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("wholesale_jobs_total", "Job runs finished by this process", ["queue", "workflow", "outcome"])
JOB_LATENCY = Histogram(
    "wholesale_job_duration_seconds",
    "Job run time in this process",
    ["queue", "workflow"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

request_log = logging.getLogger("wholesale.request")
# Path prefixes whose rest is a credential (a consent link's token): logs show the prefix and "***".
_SECRET_PATHS: list[str] = []


def secret_path(prefix: str) -> None:
    """Never log what follows `prefix` in a request's path (a credential in the URL)."""
    _SECRET_PATHS.append(prefix.lower())


def logged_path(path: str | None) -> str | None:
    """A request's path as the logs show it: the part after a secret prefix is "***", whatever its case,
    doubled slashes or trailing parts (a 404 or a redirect logs its path as well)."""
    if not path:
        return path
    folded = re.sub(r"/{2,}", "/", path).lower()
    for prefix in _SECRET_PATHS:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            return prefix + "***"
    return path


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))[-4000:]
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "dbos"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class RequestMiddleware:
    """Tracking id in and out, rate limits, one log line and metrics per request, and a 500 body that never leaks."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter | DatabaseRateLimiter | None = None,
        log_requests: bool = True,
        max_body_bytes: int = 0,
    ):
        self.app = app
        self.limiter = limiter
        self.log_requests = log_requests
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        tracking_id = headers.get("trackingid") or new_tracking_id()
        set_tracking_id(tracking_id)
        set_actor("anonymous")
        status = 500
        sent_start = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                sent_start = True
                message.setdefault("headers", [])
                message["headers"] = [*list(message["headers"]), (b"trackingid", tracking_id.encode("latin-1"))]
            await send(message)

        try:
            client = scope.get("client")
            caller = caller_key(headers.get("authorization"), client[0] if client else None, scope.get("path", ""))
            if self.limiter is None or caller is None:
                retry_after = None
            elif self.limiter.blocking:
                retry_after = await run_in_threadpool(self.limiter.check, caller)
            else:
                retry_after = self.limiter.check(caller)
            if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
                # PostgreSQL text cannot hold NUL; refuse it at the door for every route alike.
                message = "The URL must not contain NUL (%00) characters."
                await _send_json(
                    send_wrapper, 400, error_body(message, [{"description": message, "errorCode": 400100}], tracking_id)
                )
            elif self.max_body_bytes and _declared_length(headers) > self.max_body_bytes:
                await _send_json(send_wrapper, 413, _too_large_body(self.max_body_bytes, tracking_id))
            elif retry_after is not None:
                await _send_json(
                    send_wrapper,
                    429,
                    error_body(
                        "Too many requests; retry after the number of seconds in Retry-After.",
                        [{"description": "Rate limit exceeded for this access token.", "errorCode": 429000}],
                        tracking_id,
                    ),
                    extra_headers=[(b"retry-after", str(retry_after).encode())],
                )
            else:
                if self.max_body_bytes:
                    receive = _capped(receive, self.max_body_bytes)
                await self.app(scope, receive, send_wrapper)
        except Exception:
            logging.getLogger("wholesale.error").exception(
                "unhandled error", extra={"fields": {"trackingId": tracking_id, "path": logged_path(scope.get("path"))}}
            )
            if not sent_start:
                await _send_json(
                    send_wrapper,
                    500,
                    error_body(
                        "Internal server error; quote the trackingId when reporting it.",
                        [{"description": "Internal server error.", "errorCode": 500000}],
                        tracking_id,
                    ),
                )
        finally:
            duration = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method, route_path, str(status)).inc()
            LATENCY.labels(method, route_path).observe(duration)
            if self.log_requests:
                principal = scope.get("state", {}).get("principal")
                request_log.info(
                    "request",
                    extra={
                        "fields": {
                            "trackingId": tracking_id,
                            "method": method,
                            "path": logged_path(scope.get("path")),
                            "route": route_path,
                            "status": status,
                            "durationMs": round(duration * 1000, 2),
                            "partnerOrgId": getattr(principal, "partner_org_id", None),
                            "orgId": getattr(principal, "org_id", None),
                        }
                    },
                )


def _declared_length(headers: dict[str, str]) -> int:
    """The Content-Length a request announces (0 when absent or not a number: the body is then counted)."""
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else 0


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit:,} bytes; split it (bulk requests take up to 1,000 rows)."


def _too_large_body(limit: int, tracking_id: str) -> dict[str, Any]:
    message = _too_large_message(limit)
    return error_body(message, [{"description": message, "errorCode": 413000}], tracking_id)


def _capped(receive: Receive, limit: int) -> Receive:
    """Wrap `receive` so a body (chunked, or longer than announced) stops with 413 once it passes `limit` bytes."""
    received = 0

    async def capped_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                # Raised inside the body read: FastAPI and Starlette's form parser let an HTTPException through,
                # and the app's handler renders it in the Webex error body.
                raise StarletteHTTPException(413, _too_large_message(limit))
        return message

    return capped_receive


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": payload})
