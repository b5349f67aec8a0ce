"""Webhook delivery (issue 12) to a local receiver, on `wholesale serve` (SQLite, in-process workers, sandbox so
loopback http is admitted):

1. live: a webhook (resource all, signed) receives the events of N customers (default 1,000) created by 16
   clients and provisioned: events delivered per second from the first POST to the last delivery, and each
   event's latency from its commit (`created` in the feed) to its arrival;
2. drain: a second webhook, inactive during the burst, is set active afterwards and delivers the same backlog as
   fast as it can: events per second, with the API idle;
3. baseline, same run: the receiver's rate when the same number of signed POSTs of the same size are sent
   straight by httpx, one after another on one keep-alive connection (deliveries to one webhook are sequential).
Every event must arrive once, in feed order, at both webhooks.

    .venv/bin/python bench/webhook_delivery.py [--customers 1000] [--clients 16]
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from common import PY, free_port, serve_demo, server_figures, stop
from customers_create import body, post_all, wait_settled

SECRET = "bench-secret"


def serve_receiver(port: int) -> None:
    """The receiver (run in a process of its own): records (event id, arrival time) per path; GET /stats?path=."""
    arrivals: dict[str, list[tuple[str, float]]] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            with lock:
                arrivals.setdefault(self.path, []).append((self.headers.get("X-Wholesale-Event-Id", ""), at))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            path = self.path.split("path=", 1)[-1]
            with lock:
                payload = json.dumps(arrivals.get(path, [])).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def received(receiver: str, path: str) -> list[tuple[str, float]]:
    return [tuple(x) for x in httpx.get(f"{receiver}/stats?path={path}", timeout=30).json()]


def feed_after(base: str, headers: dict, cursor: str | None) -> tuple[list[dict], str]:
    """Every feed event after a cursor, and the cursor at the end."""
    items: list[dict] = []
    with httpx.Client(timeout=60) as c:
        while True:
            params = {"max": 1000} | ({"after": cursor} if cursor else {})
            page = c.get(f"{base}/v1/wholesale/events", params=params, headers=headers).json()
            items += page["items"]
            if not page["items"]:
                return items, page["cursor"]
            cursor = page["cursor"]


async def wait_arrivals(receiver: str, path: str, want: int, stall: float = 60) -> list[tuple[str, float]]:
    """Wait until `want` events arrived at `path` (fails when none arrives for `stall` seconds)."""
    last, last_change = -1, time.monotonic()
    while True:
        got = received(receiver, path)
        if len(got) >= want:
            return got
        if len(got) != last:
            last, last_change = len(got), time.monotonic()
        elif time.monotonic() - last_change > stall:
            raise RuntimeError(f"{path}: {len(got)} of {want} events arrived, then nothing for {stall:.0f} s")
        await asyncio.sleep(0.2)


def webhook(base: str, headers: dict, name: str, target: str) -> str:
    made = httpx.post(
        f"{base}/v1/webhooks",
        json={"name": name, "targetUrl": target, "resource": "all", "event": "all", "secret": SECRET},
        headers=headers,
        timeout=30,
    )
    made.raise_for_status()
    return made.json()["id"]


def set_status(base: str, headers: dict, hook: str, target: str, status: str) -> None:
    body_ = {"name": "drain", "targetUrl": target, "status": status}
    httpx.put(f"{base}/v1/webhooks/{hook}", json=body_, headers=headers, timeout=30).raise_for_status()


def baseline(target: str, bodies: list[bytes]) -> float:
    """Signed POSTs sent straight, one after another on one connection: per second."""
    with httpx.Client(timeout=30) as c:
        started = time.perf_counter()
        for i, raw in enumerate(bodies):
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Spark-Signature": hmac.new(SECRET.encode(), raw, hashlib.sha1).hexdigest(),
                "X-Wholesale-Timestamp": ts,
                "X-Wholesale-Signature-256": hmac.new(
                    SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256
                ).hexdigest(),
                "X-Wholesale-Event-Id": f"baseline-{i}",
            }
            c.post(target, content=raw, headers=headers).raise_for_status()
        return len(bodies) / (time.perf_counter() - started)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def check_order(path: str, got: list[tuple[str, float]], expected: list[str]) -> None:
    ids = [event_id for event_id, _ in got]
    if ids != expected:
        dupes = len(ids) - len(set(ids))
        raise RuntimeError(f"{path}: {len(ids)} arrivals ({dupes} repeats) differ from the {len(expected)} feed events")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # internal: run the receiver on this port
    args = parser.parse_args()
    if args.receiver:
        serve_receiver(args.receiver)
        return

    receiver_port = free_port()
    receiver_proc = subprocess.Popen([PY, str(Path(__file__).resolve()), "--receiver", str(receiver_port)])
    receiver = f"http://127.0.0.1:{receiver_port}"
    _url, _tmp, seeded, port, server = serve_demo(WHOLESALE_SANDBOX="1")
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {seeded['partner-admin token']}"}
    template = seeded["customer template (provisioningId)"]
    try:
        for _ in range(100):  # the receiver is up
            try:
                received(receiver, "/live")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        _, cursor = feed_after(base, headers, None)
        webhook(base, headers, "live", f"{receiver}/live")
        drain_target = f"{receiver}/drain"
        drain = webhook(base, headers, "drain", drain_target)
        set_status(base, headers, drain, drain_target, "inactive")

        create_url = f"{base}/v1/wholesale/customers"
        cpu_before = server_figures(base)["cpu"]
        started_wall, started = time.time(), time.monotonic()
        _, post_seconds = await post_all(
            create_url, headers, [body(template, "wh", i) for i in range(args.customers)], args.clients
        )
        await wait_settled(create_url, headers)
        settled = time.monotonic() - started
        events, _ = feed_after(base, headers, cursor)
        expected = [e["id"] for e in events]
        live = await wait_arrivals(receiver, "/live", len(expected))
        live_seconds = max(at for _, at in live) - started_wall
        cpu_live = server_figures(base)["cpu"] - cpu_before
        created = {e["id"]: datetime.fromisoformat(e["created"].replace("Z", "+00:00")).timestamp() for e in events}
        lags = [at - created[event_id] for event_id, at in live if event_id in created]
        check_order("/live", live[: len(expected)], expected)

        activated = time.time()
        set_status(base, headers, drain, drain_target, "active")
        drained = await wait_arrivals(receiver, "/drain", len(expected))
        drain_seconds = max(at for _, at in drained) - activated
        check_order("/drain", drained[: len(expected)], expected)
    finally:
        stop(server)
    try:
        sample = [
            json.dumps(
                {
                    "id": "x" * 80,
                    "name": "live",
                    "targetUrl": f"{receiver}/baseline",
                    "resource": e["resource"],
                    "event": e["event"],
                    "orgId": e["orgId"],
                    "createdBy": "y" * 80,
                    "appId": "z" * 80,
                    "ownedBy": "creator",
                    "status": "active",
                    "created": e["created"],
                    "actorId": e["actorId"],
                    "data": {**e["data"], "eventId": e["id"], "type": e["type"]},
                },
                separators=(",", ":"),
            ).encode()
            for e in events
        ]
        straight = baseline(f"{receiver}/baseline", sample)
    finally:
        receiver_proc.terminate()
        receiver_proc.wait(timeout=10)

    n = len(expected)
    live_rate, drain_rate = n / live_seconds, n / drain_seconds
    print(
        f"{args.customers} customers, {args.clients} clients, SQLite, in-process workers; {n} events, each once and in order at both webhooks"
    )
    print(
        f"live: {live_rate:.0f} events/s delivered from the first POST to the last delivery ({live_seconds:.1f} s; "
        f"POSTs {post_seconds:.1f} s, all provisioned after {settled:.1f} s); latency commit -> receiver "
        f"p50 {pct(lags, 50):.2f} s, p99 {pct(lags, 99):.2f} s; server CPU {cpu_live / n * 1000:.2f} ms per event "
        "(provisioning included)"
    )
    print(f"drain (backlog, API idle): {drain_rate:.0f} events/s ({drain_seconds:.1f} s)")
    print(f"baseline, the same number of signed POSTs straight from httpx: {straight:.0f} events/s")
    print(f"ratio drain / baseline: {drain_rate / straight:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
