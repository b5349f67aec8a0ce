"""Security headers on every portal response: no framing, no sniffing, scripts and styles from the portal only."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The portal has no inline script or style (htmx's indicator styles are switched off in base.html), so the
# policy can forbid both; forms post only to the portal, and no page may be framed (clickjacking).
HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class PortalSecurityHeaders:
    """ASGI middleware: adds HEADERS to responses under /portal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/portal"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*list(message.get("headers", [])), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
