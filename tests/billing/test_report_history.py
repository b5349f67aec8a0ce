"""Through the API: a report over a past day is byte-identical after the customer's externalId changes, one of its
subscribers is deleted and the customer itself is removed, and it shows the values as of the end of that day
(issue 11: generation reads only the ledger). Moves the sandbox clock forward (about two days)."""

from datetime import date, datetime, timedelta

from helpers import customer_body, wait_for
from subscribers_support import new_email, sub_body

CUSTOMERS = "/v1/wholesale/customers"
SUBSCRIBERS = "/v1/wholesale/subscribers"
REPORTS = "/v1/wholesale/billing/reports"
CLOCK = "/v1/sandbox/clock"


def _report(client, partner, day: date, kind: str) -> bytes:
    """A report of one past day, generated now: its CSV."""
    day_text = day.isoformat()
    body = {"billingStartDate": day_text, "billingEndDate": day_text, "type": kind}
    created = client.post(REPORTS, json=body, headers=partner.headers)
    assert created.status_code == 200, created.text
    report = wait_for(
        lambda: client.get(f"{REPORTS}/{created.json()['id']}", headers=partner.headers).json(),
        lambda r: r["status"] != "IN_PROGRESS",
    )
    assert report["status"] == "COMPLETED", report
    download = client.get(report["tempDownloadURL"])
    assert download.status_code == 200
    return download.content


def _customer(client, partner, url: str) -> dict:
    return wait_for(
        lambda: client.get(url, headers=partner.headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating"),
        timeout=30,
    )


def test_a_past_report_does_not_change_whatever_happens_to_its_customer(client, partner, platform_token):
    operator = {"Authorization": f"Bearer {platform_token('operator')}"}
    now = datetime.fromisoformat(client.get(CLOCK, headers=operator).json()["now"].replace("Z", "+00:00"))
    day = now.date() + timedelta(days=1)
    moved = client.post(CLOCK, json={"now": f"{day.isoformat()}T00:30:00Z"}, headers=operator)
    assert moved.status_code == 200, moved.text  # the whole day ahead: nothing below spills into the next

    body = customer_body(partner.template_id, packages=["webex_meetings", "webex_suite"])
    created = client.post(CUSTOMERS, json=body, headers=partner.headers)
    assert created.status_code == 202, created.text
    url = created.json()["url"].replace("http://testserver", "")
    customer = _customer(client, partner, url)
    assert customer["status"] == "provisioned", customer
    ann = client.post(SUBSCRIBERS, json=sub_body(customer["id"]), headers=partner.headers)
    assert ann.status_code == 200, ann.text
    rows = [{"email": new_email(), "package": "webex_meetings"} for _ in range(3)]
    bulk = client.post(
        f"{SUBSCRIBERS}/bulk", json={"customerId": customer["id"], "rows": rows}, headers=partner.headers
    )
    assert bulk.status_code == 202, bulk.text
    job = wait_for(
        lambda: client.get(bulk.headers["location"].replace("http://testserver", ""), headers=partner.headers).json(),
        lambda j: j["status"] == "completed",
    )
    assert [r["status"] for r in job["results"]] == ["provisioned"] * 3

    assert client.post(CLOCK, json={"advanceSeconds": 86400}, headers=operator).status_code == 200  # the day is over
    partner_csv, user_csv = _report(client, partner, day, "PARTNER"), _report(client, partner, day, "USER")
    keys = f"{customer['id']},{body['customerInfo']['name']},{body['externalId']},{customer['orgId']}"
    assert partner_csv.decode().splitlines()[1:] == [
        f"{day},{keys},webex_meetings,4,4",
        f"{day},{keys},webex_suite,1,1",  # the full administrator (R5)
    ]
    held = {line.split(",")[6]: line for line in user_csv.decode().splitlines()[1:]}
    emails = {ann.json()["email"], body["customerInfo"]["primaryEmail"], *(r["email"] for r in rows)}
    assert set(held) == emails  # bulk-imported subscribers too
    assert all(line.startswith(f"{day},{keys},") for line in held.values())

    # (a) a new externalId, through the API
    update = {"packages": ["webex_meetings", "webex_suite"], "externalId": f"{body['externalId']}-new"}
    assert client.put(f"{CUSTOMERS}/{customer['id']}", json=update, headers=partner.headers).status_code == 202
    assert _customer(client, partner, url)["externalId"] == update["externalId"]
    assert (_report(client, partner, day, "PARTNER"), _report(client, partner, day, "USER")) == (partner_csv, user_csv)
    # (b) a subscriber deleted
    assert client.delete(f"{SUBSCRIBERS}/{ann.json()['id']}", headers=partner.headers).status_code == 204
    assert (_report(client, partner, day, "PARTNER"), _report(client, partner, day, "USER")) == (partner_csv, user_csv)
    # (c) the customer removed
    assert client.delete(f"{CUSTOMERS}/{customer['id']}", headers=partner.headers).status_code == 202
    wait_for(lambda: client.get(url, headers=partner.headers).status_code, lambda code: code == 404, timeout=30)
    assert (_report(client, partner, day, "PARTNER"), _report(client, partner, day, "USER")) == (partner_csv, user_csv)
