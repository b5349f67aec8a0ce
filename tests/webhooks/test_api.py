"""/v1/webhooks: the Webex shape, validation (400 in our error body), egress refusals, tenancy (another partner's
webhook or deliveries are a 404, sub-partners by onBehalfOfSubPartnerOrgId), the audit trail, paging."""

import pytest
import sqlalchemy as sa

from helpers import assert_error_body

URL = "/v1/webhooks"


def body(target: str, **overrides):
    return {"name": "My hook", "targetUrl": target, "resource": "customers", "event": "all"} | overrides


@pytest.fixture
def partner_and_hook(client, make_partner, receiver):
    partner = make_partner()
    made = client.post(
        URL, json=body(receiver.url, secret="s3cret", filter="type=customer.settled"), headers=partner.headers
    )
    assert made.status_code == 200, made.text
    return partner, made.json()


def test_create_read_update_delete(client, partner_and_hook, receiver):
    partner, hook = partner_and_hook
    assert set(hook) == {
        "id",
        "name",
        "targetUrl",
        "resource",
        "event",
        "filter",
        "orgId",
        "createdBy",
        "appId",
        "ownedBy",
        "status",
        "created",
    }
    assert hook["orgId"] == partner.org_id and hook["status"] == "active" and hook["ownedBy"] == "creator"
    assert hook["filter"] == "type=customer.settled" and "secret" not in hook
    assert client.get(f"{URL}/{hook['id']}", headers=partner.headers).json() == hook
    assert [h["id"] for h in client.get(URL, headers=partner.headers).json()["items"]] == [hook["id"]]

    changed = client.put(
        f"{URL}/{hook['id']}",
        json={"name": "Renamed", "targetUrl": receiver.url + "/v2", "status": "inactive", "resource": "customers"},
        headers=partner.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Renamed" and changed.json()["status"] == "inactive"
    assert changed.json()["targetUrl"].endswith("/v2")

    assert client.delete(f"{URL}/{hook['id']}", headers=partner.headers).status_code == 204
    assert_error_body(client.get(f"{URL}/{hook['id']}", headers=partner.headers), 404)
    assert_error_body(client.get(f"{URL}/{hook['id']}/deliveries", headers=partner.headers), 404)


def test_every_write_is_audited_and_the_secret_never_is(client, db, partner_and_hook, receiver):
    from wholesale.events.models import AuditEvent, Event

    partner, hook = partner_and_hook
    client.put(
        f"{URL}/{hook['id']}", json={"name": "B", "targetUrl": receiver.url, "secret": "n3w"}, headers=partner.headers
    )
    client.delete(f"{URL}/{hook['id']}", headers=partner.headers)
    with db.session(write=False) as s:
        rows = s.scalars(sa.select(AuditEvent).where(AuditEvent.subject_id == hook["id"]).order_by(AuditEvent.id)).all()
        events = s.scalars(sa.select(Event).where(Event.subject_id == hook["id"])).all()
    assert [r.action for r in rows] == ["webhook.created", "webhook.updated", "webhook.deleted"]
    assert all(r.partner_org_id == partner.org_id for r in rows)
    assert rows[1].data == {"secretChanged": True} and rows[1].before == {"name": "My hook"}
    assert "s3cret" not in repr([(r.data, r.before, r.after) for r in rows])
    assert "n3w" not in repr([(r.data, r.before, r.after) for r in rows])
    assert events == []  # create, update, delete are not partner events (only webhook.disabled is)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"targetUrl": "http://127.0.0.1:9/x", "resource": "customers", "event": "all"}, "name"),
        ({"name": "x", "resource": "customers", "event": "all"}, "targetUrl"),
        ({"name": "x", "targetUrl": "http://127.0.0.1:9/x", "resource": "messages", "event": "all"}, "resource"),
        ({"name": "x", "targetUrl": "http://127.0.0.1:9/x", "resource": "all", "event": "exploded"}, "event"),
        (
            {"name": "x", "targetUrl": "http://127.0.0.1:9/x", "resource": "all", "event": "all", "filter": "nope"},
            "filter",
        ),
        ({"name": "", "targetUrl": "http://127.0.0.1:9/x", "resource": "all", "event": "all"}, "name"),
        (
            {"name": "x", "targetUrl": "http://127.0.0.1:9/x", "resource": "all", "event": "all", "ownedBy": "org"},
            "ownedBy",
        ),
        ({"name": "x", "targetUrl": "https://169.254.169.254/latest", "resource": "all", "event": "all"}, "targetUrl"),
        ({"name": "x", "targetUrl": "http://10.0.0.7/hook", "resource": "all", "event": "all"}, "targetUrl"),
        (
            {"name": "x", "targetUrl": "https://metadata.google.internal/", "resource": "all", "event": "all"},
            "targetUrl",
        ),
        ({"name": "x", "targetUrl": "http://[fe80::1]/hook", "resource": "all", "event": "all"}, "targetUrl"),
        ({"name": "x", "targetUrl": "gopher://127.0.0.1/", "resource": "all", "event": "all"}, "targetUrl"),
        ({"name": "x", "targetUrl": "http://127.0.0.1:9/x", "resource": "all", "event": "all", "secret": 5}, "secret"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(client, partner, payload, field):
    error = assert_error_body(client.post(URL, json=payload, headers=partner.headers), 400)
    assert error["message"].startswith(field), error


def test_not_json_and_bad_updates_are_400s(client, partner_and_hook, receiver):
    partner, hook = partner_and_hook
    sent = client.post(URL, content=b"{nope", headers=partner.headers | {"Content-Type": "application/json"})
    assert_error_body(sent, 400)
    for change, field in (
        ({"resource": "subscribers"}, "resource"),
        ({"event": "created"}, "event"),
        ({"filter": "type=other"}, "filter"),
        ({"status": "paused"}, "status"),
        ({"targetUrl": "https://169.254.169.254/"}, "targetUrl"),
    ):
        sent = client.put(
            f"{URL}/{hook['id']}", json={"name": "n", "targetUrl": receiver.url} | change, headers=partner.headers
        )
        assert assert_error_body(sent, 400)["message"].startswith(field)
    assert_error_body(client.put(f"{URL}/{hook['id']}", json={"name": "n"}, headers=partner.headers), 400)
    assert client.get(f"{URL}/{hook['id']}", headers=partner.headers).json() == hook  # nothing changed


def test_a_partner_never_sees_another_partners_webhooks_or_deliveries(client, make_partner, partner_and_hook, receiver):
    owner, hook = partner_and_hook
    other = make_partner()
    path = f"{URL}/{hook['id']}"
    assert client.get(URL, headers=other.headers).json()["items"] == []
    assert_error_body(client.get(path, headers=other.headers), 404)
    assert_error_body(client.put(path, json={"name": "x", "targetUrl": receiver.url}, headers=other.headers), 404)
    assert_error_body(client.delete(path, headers=other.headers), 404)
    assert_error_body(client.get(f"{path}/deliveries", headers=other.headers), 404)
    assert_error_body(client.post(f"{path}/deliveries/whatever/redeliver", headers=other.headers), 404)
    assert client.get(path, headers=owner.headers).status_code == 200


def test_sub_partners_on_behalf_and_scopes(client, make_partner, receiver):
    master = make_partner()
    sub = make_partner(parent=master.org_id)
    on_behalf = {"onBehalfOfSubPartnerOrgId": sub.org_id}
    made = client.post(URL, json=body(receiver.url), params=on_behalf, headers=master.headers)
    assert made.status_code == 200, made.text
    assert made.json()["orgId"] == sub.org_id
    assert client.get(URL, headers=master.headers).json()["items"] == []
    assert [h["id"] for h in client.get(URL, params=on_behalf, headers=master.headers).json()["items"]] == [
        made.json()["id"]
    ]
    assert [h["id"] for h in client.get(URL, headers=sub.headers).json()["items"]] == [made.json()["id"]]
    stranger = make_partner()
    assert_error_body(
        client.get(URL, params={"onBehalfOfSubPartnerOrgId": stranger.org_id}, headers=master.headers), 403
    )

    reader = make_partner(scopes=["spark-admin:wholesale_customers_read"])
    assert client.get(URL, headers=reader.headers).status_code == 200
    assert_error_body(client.post(URL, json=body(receiver.url), headers=reader.headers), 403)


def test_pages_follow_the_link_header(client, partner, receiver):
    made = [
        client.post(URL, json=body(receiver.url, name=f"h{i}"), headers=partner.headers).json()["id"] for i in range(3)
    ]
    first = client.get(URL, params={"max": 2}, headers=partner.headers)
    assert len(first.json()["items"]) == 2 and 'rel="next"' in first.headers["link"]
    next_url = first.headers["link"].split(">")[0].lstrip("<")
    second = client.get(next_url, headers=partner.headers)
    assert [h["id"] for h in first.json()["items"] + second.json()["items"]] == made
    assert "link" not in second.headers
