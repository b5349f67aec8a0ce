"""Deliveries to a real HTTP receiver on loopback: signed, in order, each once after the receiver comes back,
backing off on failures and disabled after 24 hours of them (with its event), never to a disabled webhook,
never following a redirect; the delivery history, redelivery, filters; and the poller driving DBOS jobs.

The clock is a FixedClock the tests move; `delivery.run_pending()` makes one delivery pass in the test's thread."""

import hashlib
import hmac

import sqlalchemy as sa

from helpers import assert_error_body, customer_body, wait_for
from wholesale.webhooks import delivery

URL = "/v1/webhooks"
MINUTE = 60


def create(client, partner, target, **overrides):
    payload = {"name": "hook", "targetUrl": target, "resource": "all", "event": "all"} | overrides
    made = client.post(URL, json=payload, headers=partner.headers)
    assert made.status_code == 200, made.text
    return made.json()


def deliveries(client, partner, hook, **params):
    got = client.get(f"{URL}/{hook['id']}/deliveries", params=params, headers=partner.headers)
    assert got.status_code == 200, got.text
    return got.json()["items"]


def subjects(receiver, hook) -> list[str]:
    return [b["data"]["id"] for b in receiver.bodies() if b["id"] == hook["id"]]


def test_deliveries_are_signed_both_ways_and_carry_the_webex_shape(client, partner, receiver, emit, fixed_clock):
    hook = create(client, partner, receiver.url, secret="topsecret")
    [subject] = emit(partner.org_id, actor_marker="x")
    assert delivery.run_pending()[hook["id"]] == "idle"

    [got] = receiver.requests
    body = got.json()
    expected_sha1 = hmac.new(b"topsecret", got.body, hashlib.sha1).hexdigest()
    assert got.headers["x-spark-signature"] == expected_sha1
    timestamp = got.headers["x-wholesale-timestamp"]
    signed = timestamp.encode() + b"." + got.body
    assert got.headers["x-wholesale-signature-256"] == hmac.new(b"topsecret", signed, hashlib.sha256).hexdigest()
    assert got.headers["content-type"] == "application/json" and got.path == "/hook"

    assert set(body) == {
        "id",
        "name",
        "targetUrl",
        "resource",
        "event",
        "orgId",
        "createdBy",
        "appId",
        "ownedBy",
        "status",
        "created",
        "actorId",
        "data",
    }
    assert {k: body[k] for k in ("id", "name", "targetUrl", "orgId", "createdBy", "appId", "ownedBy", "created")} == {
        k: hook[k] for k in ("id", "name", "targetUrl", "orgId", "createdBy", "appId", "ownedBy", "created")
    }
    assert (body["resource"], body["event"], body["status"]) == ("customers", "created", "active")
    assert body["data"]["id"] == subject and body["data"]["type"] == "customer.created"
    assert body["data"]["eventId"] == got.headers["x-wholesale-event-id"]
    assert body["data"]["externalId"] == "ext-0" and "actor_marker" not in body["data"]  # the catalog's keys only

    [record] = deliveries(client, partner, hook)
    assert record["status"] == "delivered" and record["statusCode"] == 200 and record["attempt"] == 1
    assert record["eventId"] == body["data"]["eventId"] and record["type"] == "customer.created"
    assert record["id"] == got.headers["x-wholesale-delivery-id"]


def test_without_a_secret_nothing_is_signed(client, partner, receiver, emit, fixed_clock):
    create(client, partner, receiver.url)
    emit(partner.org_id)
    delivery.run_pending()
    [got] = receiver.requests
    assert "x-spark-signature" not in got.headers and "x-wholesale-signature-256" not in got.headers
    assert got.headers["x-wholesale-timestamp"] and got.headers["x-wholesale-event-id"]


def test_a_webhook_starts_at_the_feed_end_and_a_partner_gets_only_its_own_events(
    client, make_partner, receiver, emit, fixed_clock
):
    mine, theirs = make_partner(), make_partner()
    emit(mine.org_id, 2)  # before the webhook: not delivered
    hook = create(client, mine, receiver.url)
    emit(theirs.org_id, 2)
    later = emit(mine.org_id, 2)
    delivery.run_pending()
    assert subjects(receiver, hook) == later
    assert {b["orgId"] for b in receiver.bodies()} == {mine.org_id}


def test_a_receiver_down_for_ten_minutes_gets_every_event_when_back_in_order_each_once(
    client, partner, receiver, emit, fixed_clock
):
    hook = create(client, partner, receiver.url)
    receiver.stop()
    made = emit(partner.org_id, 3)
    assert delivery.run_pending()[hook["id"]] == "failed"
    for _ in range(10):  # ten minutes down; an event a minute, and a delivery pass each minute
        fixed_clock.advance(MINUTE)
        made += emit(partner.org_id)
        delivery.run_pending()
    assert receiver.requests == []
    history = deliveries(client, partner, hook)
    assert history and all(d["status"] == "failed" and d["eventId"] == history[-1]["eventId"] for d in history)
    assert [d["attempt"] for d in reversed(history)] == list(range(1, len(history) + 1))
    assert "connect" in history[0]["error"] and "statusCode" not in history[0]
    assert len(history) < 10  # backing off: 10 s, 20 s, 40 s ... not every pass

    receiver.start()  # back, on the same port
    made += emit(partner.org_id)
    fixed_clock.advance(3600)
    assert delivery.run_pending()[hook["id"]] == "idle"
    assert subjects(receiver, hook) == made  # every event, in order, each once
    assert len({r.headers["x-wholesale-event-id"] for r in receiver.requests}) == len(made)
    assert delivery.run_pending() == {}  # nothing more to do
    newest = deliveries(client, partner, hook)
    assert newest[0]["status"] == "delivered" and newest[-1]["status"] == "failed"


def test_failures_back_off_exponentially(client, partner, receiver, emit, fixed_clock):
    hook = create(client, partner, receiver.url)
    receiver.status = 500
    emit(partner.org_id)
    assert delivery.run_pending()[hook["id"]] == "failed"
    waits = []
    for _ in range(5):
        waited = 0
        while True:
            fixed_clock.advance(5)
            waited += 5
            outcomes = delivery.run_pending()
            if hook["id"] in outcomes:
                assert outcomes[hook["id"]] == "failed"
                break
        waits.append(waited)
    assert waits == [10, 20, 40, 80, 160]
    assert [d["attempt"] for d in deliveries(client, partner, hook)] == [6, 5, 4, 3, 2, 1]
    assert deliveries(client, partner, hook)[0]["error"].startswith("HTTP 500")


def test_failing_for_24_hours_disables_the_webhook_with_an_event(client, partner, make_receiver, emit, fixed_clock):
    failing, watcher_target = make_receiver(), make_receiver()
    failing.status = 503
    hook = create(client, partner, failing.url, name="flaky")
    watcher = create(client, partner, watcher_target.url, resource="webhooks")
    emit(partner.org_id)
    delivery.run_pending()
    for _ in range(25):
        fixed_clock.advance(3600)
        delivery.run_pending()
    assert client.get(f"{URL}/{hook['id']}", headers=partner.headers).json()["status"] == "inactive"
    attempts = len(failing.requests)
    assert 24 <= attempts <= 35

    feed = client.get("/v1/wholesale/events", params={"max": 1000}, headers=partner.headers).json()["items"]
    [disabled] = [e for e in feed if e["type"] == "webhook.disabled"]
    assert disabled["resource"] == "webhooks" and disabled["event"] == "updated"
    assert disabled["data"] == {"id": hook["id"], "name": "flaky", "targetUrl": failing.url, "status": "inactive"}
    [told] = watcher_target.bodies()  # the partner's other webhook heard of it
    assert told["data"]["type"] == "webhook.disabled" and told["data"]["id"] == hook["id"]
    assert told["id"] == watcher["id"]

    failing.status = 200  # healthy again, but disabled: nothing more goes out
    emit(partner.org_id, 2)
    fixed_clock.advance(7200)
    delivery.run_pending()
    assert len(failing.requests) == attempts


def test_a_webhook_set_inactive_stops_and_set_active_resumes_where_it_stopped(
    client, partner, receiver, emit, fixed_clock
):
    hook = create(client, partner, receiver.url)
    first = emit(partner.org_id)
    delivery.run_pending()
    put = {"name": "hook", "targetUrl": receiver.url}
    client.put(f"{URL}/{hook['id']}", json=put | {"status": "inactive"}, headers=partner.headers)
    while_off = emit(partner.org_id, 2)
    fixed_clock.advance(3600)
    assert delivery.run_pending() == {}
    assert subjects(receiver, hook) == first

    client.put(f"{URL}/{hook['id']}", json=put | {"status": "active"}, headers=partner.headers)
    delivery.run_pending()
    assert subjects(receiver, hook) == first + while_off


def test_a_redirect_is_a_failure_and_never_followed(client, partner, make_receiver, emit, fixed_clock):
    redirecting, elsewhere = make_receiver(), make_receiver()
    for location in (elsewhere.url, "http://169.254.169.254/latest/meta-data/iam/"):
        redirecting.status, redirecting.location = 307, location
        hook = create(client, partner, redirecting.url)
        emit(partner.org_id)
        assert delivery.run_pending()[hook["id"]] == "failed"
        [record] = deliveries(client, partner, hook)
        assert record["statusCode"] == 307 and "not followed" in record["error"]
        client.delete(f"{URL}/{hook['id']}", headers=partner.headers)
    assert len(redirecting.requests) == 2 and elsewhere.requests == []


def test_a_target_that_became_disallowed_is_refused_at_delivery(client, db, partner, receiver, emit, fixed_clock):
    from wholesale.webhooks.models import Webhook

    hook = create(client, partner, receiver.url)
    with db.transaction() as s:  # as if its name now resolved to the metadata endpoint
        s.execute(sa.update(Webhook).where(Webhook.id == hook["id"]).values(target_url="http://169.254.169.254/x"))
    emit(partner.org_id)
    assert delivery.run_pending()[hook["id"]] == "failed"
    [record] = deliveries(client, partner, hook)
    assert "refused" in record["error"] and "metadata" in record["error"] and "statusCode" not in record


def test_resource_event_and_filter_choose_what_is_delivered(client, partner, make_receiver, emit, fixed_clock):
    subs_target, filtered_target = make_receiver(), make_receiver()
    subs_only = create(client, partner, subs_target.url, resource="subscribers", event="created")
    filtered = create(
        client, partner, filtered_target.url, resource="customers", filter="type=customer.settled&status=provisioned"
    )
    emit(partner.org_id, 3)  # customer.created: neither wants them
    settled = emit(partner.org_id, 1, action="customer.settled", to="provisioned", **{"from": "provisioning"})
    emit(partner.org_id, 1, action="customer.settled", to="error")
    created_sub = emit(partner.org_id, 1, action="subscriber.created", customerId="c", package="webex_calling")
    emit(partner.org_id, 1, action="subscriber.deleted", customerId="c")
    delivery.run_pending()
    assert subjects(subs_target, subs_only) == created_sub
    assert subjects(filtered_target, filtered) == settled
    assert delivery.run_pending() == {}  # positions moved past what they skipped
    assert len(deliveries(client, partner, filtered)) == 1


def test_redeliver_sends_the_event_again_as_a_new_delivery(client, partner, receiver, emit, fixed_clock):
    hook = create(client, partner, receiver.url, secret="k")
    emit(partner.org_id)
    delivery.run_pending()
    [original] = deliveries(client, partner, hook)
    path = f"{URL}/{hook['id']}/deliveries/{original['id']}/redeliver"
    sent = client.post(path, headers=partner.headers)
    assert sent.status_code == 202, sent.text
    pending = sent.json()
    assert pending["status"] == "pending" and pending["redeliveryOf"] == original["id"] and pending["attempt"] == 2
    wait_for(lambda: len(receiver.requests), lambda n: n == 2)
    first, again = receiver.requests
    assert again.headers["x-wholesale-event-id"] == first.headers["x-wholesale-event-id"]
    assert again.headers["x-wholesale-delivery-id"] == pending["id"] != first.headers["x-wholesale-delivery-id"]
    assert again.json()["data"] == first.json()["data"]
    done = wait_for(lambda: deliveries(client, partner, hook)[0], lambda d: d["status"] != "pending")
    assert done["id"] == pending["id"] and done["status"] == "delivered" and done["statusCode"] == 200
    assert delivery.run_pending() == {}  # the ordered deliveries did not move

    assert_error_body(client.post(f"{URL}/{hook['id']}/deliveries/nope/redeliver", headers=partner.headers), 404)
    client.put(
        f"{URL}/{hook['id']}",
        json={"name": "h", "targetUrl": receiver.url, "status": "inactive"},
        headers=partner.headers,
    )
    assert_error_body(client.post(path, headers=partner.headers), 409)


def test_deliveries_page_newest_first(client, partner, receiver, emit, fixed_clock):
    hook = create(client, partner, receiver.url)
    emit(partner.org_id, 3)
    delivery.run_pending()
    first = client.get(f"{URL}/{hook['id']}/deliveries", params={"max": 2}, headers=partner.headers)
    assert 'rel="next"' in first.headers["link"]
    rest = client.get(first.headers["link"].split(">")[0].lstrip("<"), headers=partner.headers).json()["items"]
    seen = [d["eventId"] for d in first.json()["items"] + rest]
    sent = [r.headers["x-wholesale-event-id"] for r in receiver.requests]
    assert seen == list(reversed(sent))


def test_a_deleted_webhook_delivers_nothing_more(client, partner, receiver, emit, fixed_clock):
    hook = create(client, partner, receiver.url)
    emit(partner.org_id)
    client.delete(f"{URL}/{hook['id']}", headers=partner.headers)
    assert hook["id"] not in delivery.run_pending()
    assert receiver.requests == []


def test_the_poller_delivers_a_provisioned_customer_through_dbos_jobs(client, partner, receiver):
    """No clock games: the poller thread enqueues `webhooks.deliver` and the workers run it."""
    hook = create(client, partner, receiver.url, resource="customers", secret="s")
    delivery.resume_polling()
    made = client.post("/v1/wholesale/customers", json=customer_body(partner.template_id), headers=partner.headers)
    assert made.status_code == 202, made.text
    wanted = ["customer.created", "org.created", "customer.settled"]
    got = wait_for(lambda: [b["data"]["type"] for b in receiver.bodies()], lambda t: all(w in t for w in wanted), 30)
    assert [t for t in got if t in wanted] == wanted  # in commit order
    assert len({r.headers["x-wholesale-event-id"] for r in receiver.requests}) == len(receiver.requests)
    assert all(
        r.headers["x-spark-signature"] == hmac.new(b"s", r.body, hashlib.sha1).hexdigest() for r in receiver.requests
    )
    assert {b["id"] for b in receiver.bodies()} == {hook["id"]}
