"""Subscribers in the partner's event feed (issue 12): created, package changed, deleted, each with its change."""

from helpers import wait_for
from subscribers_support import sub_body

URL = "/v1/wholesale/subscribers"


def test_a_subscribers_life_reads_as_three_events(client, partner, make_customer):
    customer = make_customer(partner)
    created = client.post(URL, json=sub_body(customer.id, "webex_meetings"), headers=partner.headers)
    assert created.status_code == 200, created.text
    sub_id = created.json()["id"]
    moved = client.put(
        f"{URL}/{sub_id}",
        json={"packages": ["webex_calling"], "provisioningParameters": {"extension": "3002"}},
        headers=partner.headers,
    )
    assert moved.status_code == 200, moved.text
    assert client.delete(f"{URL}/{sub_id}", headers=partner.headers).status_code == 204

    def feed():
        items = client.get("/v1/wholesale/events", params={"max": "1000"}, headers=partner.headers).json()["items"]
        return [i for i in items if i["resource"] == "subscribers" and i["data"]["id"] == sub_id]

    items = wait_for(feed, lambda found: len(found) == 3)
    assert [(i["event"], i["type"]) for i in items] == [
        ("created", "subscriber.created"),
        ("updated", "subscriber.updated"),
        ("deleted", "subscriber.deleted"),
    ]
    assert items[0]["data"]["package"] == "webex_meetings" and items[0]["data"]["customerId"] == customer.id
    assert items[1]["data"] == {
        "id": sub_id,
        "customerId": customer.id,
        "package": "webex_calling",
        "previousPackage": "webex_meetings",
        "status": "provisioned",
    }
    assert items[2]["data"]["package"] == "webex_calling"
