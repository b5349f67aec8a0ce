"""The billing report operations over HTTP: wire shapes (checked against Cisco's spec), validation, tenancy,
paging, deletion, and the signed download link (no token while valid; expired or altered: 403)."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import assert_error_body, validate_against_spec, wait_for
from wholesale.billing import downloads
from wholesale.kit import clock

REPORTS = "/v1/wholesale/billing/reports"
PAST = {"billingStartDate": "2026-01-01", "billingEndDate": "2026-01-31"}


def _today() -> str:
    return clock.now().date().isoformat()


def _completed(client, headers, report_id: str) -> dict:
    return wait_for(
        lambda: client.get(f"{REPORTS}/{report_id}", headers=headers).json(),
        lambda body: body.get("status") != "IN_PROGRESS",
    )


def test_create_poll_download_delete(client, partner):
    created = client.post(REPORTS, json=PAST | {"type": "USER"}, headers=partner.headers)
    assert created.status_code == 200, created.text
    body = created.json()
    validate_against_spec(body, "ReportId")
    assert body | {"id": ""} == {
        "id": "",
        "billingStartDate": "2026-01-01",
        "billingEndDate": "2026-01-31",
        "type": "USER",
        "category": "RECONCILIATION",
    }
    report = _completed(client, partner.headers, body["id"])
    validate_against_spec(report, "Report")
    assert report["status"] == "COMPLETED" and report["errors"] == []
    assert report["created"].endswith("Z") and report["createdBy"]
    url = report["tempDownloadURL"]
    assert f"{REPORTS}/{body['id']}/download?" in url
    csv = client.get(url)  # no Authorization header
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("date,customerId,customerName,customerExternalId,customerOrgId,subscriberId,")

    listed = client.get(REPORTS, headers=partner.headers)
    validate_against_spec(listed.json(), "WholesaleBillingReportsListResponse")
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]

    assert client.delete(f"{REPORTS}/{body['id']}", headers=partner.headers).status_code == 204
    assert_error_body(client.get(f"{REPORTS}/{body['id']}", headers=partner.headers), 404)
    assert_error_body(client.get(url), 404)
    assert_error_body(client.delete(f"{REPORTS}/{body['id']}", headers=partner.headers), 404)


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ({"billingStartDate": "2026-01-01", "billingEndDate": "TODAY"}, "must be before today"),
        ({"billingStartDate": "2026-01-10", "billingEndDate": "2026-01-09"}, "is after billingEndDate"),
        ({"billingStartDate": "2024-01-01", "billingEndDate": "2025-06-30"}, "a report covers at most 366 days"),
        ({"billingStartDate": "01/02/2026", "billingEndDate": "2026-01-09"}, "must be a date YYYY-MM-DD"),
        ({"billingEndDate": "2026-01-09"}, "billingStartDate: is required"),
        (PAST | {"type": "EVERYONE"}, "type"),
    ],
)
def test_bad_requests_are_400_with_a_clear_message(client, partner, dates, message):
    if dates.get("billingEndDate") == "TODAY":
        dates = dates | {"billingEndDate": _today()}
    body = assert_error_body(client.post(REPORTS, json=dates, headers=partner.headers), 400)
    assert message in body["message"]


def test_full_iso_timestamps_are_accepted(client, partner):
    created = client.post(
        REPORTS,
        json={"billingStartDate": "2026-01-01T00:00:00.000Z", "billingEndDate": "2026-01-02T00:00:00.000Z"},
        headers=partner.headers,
    )
    assert created.status_code == 200, created.text
    assert (created.json()["billingStartDate"], created.json()["billingEndDate"]) == ("2026-01-01", "2026-01-02")
    listed = client.get(REPORTS, params={"billingStartDate": "2026-01-01T00:00:00.000Z"}, headers=partner.headers)
    assert [i["id"] for i in listed.json()["items"]] == [created.json()["id"]]


def test_a_partner_cannot_read_or_delete_another_partners_report(client, partner, make_partner):
    other = make_partner()
    report_id = client.post(REPORTS, json=PAST, headers=partner.headers).json()["id"]
    assert_error_body(client.get(f"{REPORTS}/{report_id}", headers=other.headers), 404)
    assert_error_body(client.delete(f"{REPORTS}/{report_id}", headers=other.headers), 404)
    assert client.get(REPORTS, headers=other.headers).json() == {"items": []}
    # Nor act for a sub-partner that is not its own.
    sub = make_partner(parent=partner.org_id)
    assert_error_body(client.get(REPORTS, params={"subPartnerOrgId": sub.org_id}, headers=other.headers), 403)
    assert_error_body(client.post(REPORTS, json=PAST | {"subPartnerOrgId": sub.org_id}, headers=other.headers), 403)


def test_a_master_partner_reports_for_its_sub_partner(client, partner, make_partner):
    sub = make_partner(parent=partner.org_id)
    mine = client.post(REPORTS, json=PAST, headers=partner.headers).json()["id"]
    for_sub = client.post(REPORTS, json=PAST | {"subPartnerOrgId": sub.org_id}, headers=partner.headers)
    assert for_sub.status_code == 200, for_sub.text
    sub_id = for_sub.json()["id"]
    listed = client.get(REPORTS, params={"subPartnerOrgId": sub.org_id}, headers=partner.headers).json()["items"]
    assert [i["id"] for i in listed] == [sub_id]
    assert [i["id"] for i in client.get(REPORTS, headers=partner.headers).json()["items"]] == [mine]
    # The sub-partner sees its own report, never the master's.
    assert [i["id"] for i in client.get(REPORTS, headers=sub.headers).json()["items"]] == [sub_id]
    assert_error_body(client.get(f"{REPORTS}/{mine}", headers=sub.headers), 404)
    assert client.get(f"{REPORTS}/{sub_id}", headers=partner.headers).status_code == 200


def test_list_filters_sorting_and_link_paging(client, partner):
    ids = []
    for start, kind in (("2026-01-03", "PARTNER"), ("2026-01-01", "USER"), ("2026-01-02", "PARTNER")):
        response = client.post(
            REPORTS,
            json={"billingStartDate": start, "billingEndDate": "2026-01-05", "type": kind},
            headers=partner.headers,
        )
        ids.append(response.json()["id"])
    page = client.get(REPORTS, params={"max": "2"}, headers=partner.headers)
    assert [i["billingStartDate"] for i in page.json()["items"]] == ["2026-01-01", "2026-01-02"]
    link = page.headers["link"]
    assert link.endswith('>; rel="next"')
    rest = client.get(link[1 : link.index(">")], headers=partner.headers)
    assert [i["billingStartDate"] for i in rest.json()["items"]] == ["2026-01-03"] and "link" not in rest.headers
    assert [i["id"] for i in client.get(REPORTS, params={"type": "USER"}, headers=partner.headers).json()["items"]] == [
        ids[1]
    ]
    assert len(client.get(REPORTS, params={"sortBy": "id", "max": "500"}, headers=partner.headers).json()["items"]) == 3
    wait_for(
        lambda: client.get(REPORTS, params={"status": "COMPLETED"}, headers=partner.headers).json()["items"],
        lambda items: len(items) == 3,
    )
    assert client.get(REPORTS, params={"status": "FAILED"}, headers=partner.headers).json() == {"items": []}
    assert_error_body(client.get(REPORTS, params={"sortBy": "size"}, headers=partner.headers), 400)
    assert_error_body(client.get(REPORTS, params={"status": "DONE"}, headers=partner.headers), 400)


def test_scopes(client, make_partner):
    reader = make_partner(scopes=["spark-admin:wholesale_billing_reports_read"])
    assert client.get(REPORTS, headers=reader.headers).status_code == 200
    assert_error_body(client.post(REPORTS, json=PAST, headers=reader.headers), 403)
    nobody = make_partner(scopes=["spark-admin:wholesale_customers_read"])
    assert_error_body(client.get(REPORTS, headers=nobody.headers), 403)
    assert_error_body(client.get(REPORTS), 401)


def test_expired_and_altered_download_links_are_refused(client, partner):
    report_id = client.post(REPORTS, json=PAST, headers=partner.headers).json()["id"]
    url = _completed(client, partner.headers, report_id)["tempDownloadURL"]
    query = parse_qs(urlsplit(url).query)
    expires, signature = int(query["expires"][0]), query["signature"][0]
    assert expires - time.time() == pytest.approx(3600, abs=120)  # one hour
    path = f"{REPORTS}/{report_id}/download"
    assert client.get(path, params={"expires": expires, "signature": signature}).status_code == 200
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for params in (
        {"expires": expires, "signature": flipped},  # altered signature
        {"expires": expires + 3600, "signature": signature},  # longer life, same signature
        {"expires": expires},  # no signature
        {"expires": "soon", "signature": signature},
        {},
    ):
        body = assert_error_body(client.get(path, params=params), 403)
        assert "not valid" in body["message"]
    other = client.post(REPORTS, json=PAST, headers=partner.headers).json()["id"]
    assert_error_body(
        client.get(f"{REPORTS}/{other}/download", params={"expires": expires, "signature": signature}), 403
    )
    # A correctly signed link whose time has passed.
    past = int(clock.now().timestamp()) - 1
    body = assert_error_body(
        client.get(path, params={"expires": past, "signature": downloads.sign(report_id, past)}), 403
    )
    assert "expired" in body["message"]


def test_deleting_a_report_deletes_its_file(client, partner):
    report_id = client.post(REPORTS, json=PAST, headers=partner.headers).json()["id"]
    _completed(client, partner.headers, report_id)
    from wholesale.billing.service import file_name_of

    path = downloads.file_path(file_name_of(report_id))
    assert path.exists()
    assert client.delete(f"{REPORTS}/{report_id}", headers=partner.headers).status_code == 204
    assert not path.exists()
