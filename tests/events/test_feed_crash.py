"""The feed across a SIGKILL: a client that stores its cursor reads, after the server is killed mid-burst and
restarted, every event the database holds for its partner, each once and in order; every accepted create has
exactly one `customer.created` event."""

import threading
import time

import httpx
import pytest
import sqlalchemy as sa

import processes
from conftest import fresh_database_url
from helpers import customer_body, wait_for
from wholesale.db.session import normalise_url

pytestmark = pytest.mark.slow


def test_the_feed_read_across_a_sigkill_misses_nothing_and_repeats_nothing(tmp_path):
    url = fresh_database_url(tmp_path)
    demo = processes.prepare(url)
    token = next(v for k, v in demo.items() if "partner-admin token" in k)
    template = next(v for k, v in demo.items() if "provisioningId" in k)
    headers = {"Authorization": f"Bearer {token}"}
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = processes.serve(url, port, log)
    accepted: list[str] = []
    read: list[dict] = []
    cursor: list[str | None] = [None]  # what a client would persist
    stop = threading.Event()

    def create() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            while not stop.is_set():
                try:
                    r = c.post("/v1/wholesale/customers", json=customer_body(template, packages=["webex_meetings"]))
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is down: retry with a new body, as a client would
                    continue
                if r.status_code == 202:
                    accepted.append(r.json()["url"].rsplit("/", 1)[1])

    def follow() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            while not stop.is_set():
                try:
                    r = c.get("/v1/wholesale/events", params={"after": cursor[0] or "", "max": "50"})
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    page = r.json()
                    read.extend(page["items"])
                    cursor[0] = page["cursor"]

    threads = [threading.Thread(target=create) for _ in range(3)] + [threading.Thread(target=follow)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(accepted), lambda n: n >= 30, timeout=60)
        processes.kill(server)  # mid-burst: requests and provisioning runs in flight
        killed_at = len(accepted)
        server = processes.serve(url, port, log)
        wait_for(lambda: len(accepted), lambda n: n >= killed_at + 20, timeout=60)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        # Drain: read on from the stored cursor until every event in the database has been seen.
        engine = sa.create_engine(normalise_url(url))
        with engine.connect() as conn:
            partner = conn.execute(
                sa.text("SELECT partner_org_id FROM customers WHERE id = :id"), {"id": accepted[0]}
            ).scalar_one()

        def stored() -> set[str]:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT event_id FROM events WHERE partner_org_id = :p"), {"p": partner})
                return {r[0] for r in rows}

        def drain() -> set[str]:
            while True:
                page = httpx.get(
                    f"{base}/v1/wholesale/events",
                    params={"after": cursor[0] or "", "max": "1000"},
                    headers=headers,
                    timeout=10,
                ).json()
                read.extend(page["items"])
                cursor[0] = page["cursor"]
                if not page["items"]:
                    return {i["id"] for i in read}

        wait_for(drain, lambda seen: seen == stored() and len(stored()) > 0, timeout=60, interval=0.5)
        engine.dispose()
    finally:
        stop.set()
        processes.stop(server)
    ids = [i["id"] for i in read]
    assert len(ids) == len(set(ids)), "an event was read twice"
    created = [i["data"]["id"] for i in read if i["type"] == "customer.created"]
    assert len(created) == len(set(created))
    assert set(accepted) <= set(created), "an accepted create has no event"
    # Commit order: a customer's created event comes before the events of its provisioning run.
    position = {(i["type"], i["data"]["id"]): n for n, i in enumerate(read)}
    settled = [cid for kind, cid in position if kind == "customer.settled"]
    assert settled, "no provisioning run finished"
    assert all(position[("customer.created", cid)] < position[("customer.settled", cid)] for cid in settled)
