"""A real HTTP receiver on loopback, a clock that moves only when told, events made on demand, and the webhook
poller paused (tests drive delivery with `delivery.run_pending`, moving the clock instead of sleeping)."""

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> dict[str, Any]:
        import json

        return json.loads(self.body)


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 that records every request; it answers `status` (with `location` for a
    redirect, `reply` as the body), and can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.location: str | None = None
        self.reply = b"ok"
        self.port = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.json() for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def make_receiver() -> Iterator[Any]:
    made: list[Receiver] = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]

    try:
        yield make
    finally:
        for r in made:
            r.stop()


@pytest.fixture(autouse=True)
def quiet_webhooks(database_url: str) -> Iterator[None]:
    """The poller enqueues nothing while a test drives delivery itself; afterwards every webhook goes inactive,
    so none of them delivers to a later test's receiver (ports are reused)."""
    from wholesale.db.session import get_database
    from wholesale.webhooks import delivery
    from wholesale.webhooks.models import Webhook

    delivery.pause_polling()
    try:
        yield
    finally:
        with get_database().transaction() as session:
            session.execute(sa.update(Webhook).values(status="inactive"))
        delivery.resume_polling()


@pytest.fixture
def emit(db) -> Any:
    """Factory: `n` partner events (customer.created by default), each committed in its own transaction; returns
    the subjects' ids in order."""
    from wholesale.events.service import record

    def make(org_id: str, n: int = 1, action: str = "customer.created", **data: Any) -> list[str]:
        made = []
        for i in range(n):
            subject = f"cust-{uuid.uuid4().hex[:10]}"
            with db.transaction() as session:
                record(
                    session,
                    subject_type="customer",
                    subject_id=subject,
                    action=action,
                    partner_org_id=org_id,
                    data={"externalId": f"ext-{i}", "packages": ["webex_calling"], "country": "US"} | data,
                )
            made.append(subject)
        return made

    return make
