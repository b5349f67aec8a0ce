"""R10-R14 end to end: screening on create and address change, review cases, decisions, contact attempts, deprovisioning."""

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from helpers import assert_error_body, customer_body, wait_for, without_ids

URL = "/v1/wholesale/customers"
LISTED = {"name": "Mahan Air", "country": "IR", "city": "Tehran"}


def _create(client, partner, name: str, country: str = "US", city: str = "Milpitas", **extra) -> str:
    body = customer_body(partner.template_id, packages=["webex_meetings"], **extra)
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = name
    body["address"] = {"addressLine1": "1 Main Street", "city": city, "country": country}
    if country == "US":
        body["address"]["stateOrProvince"] = "CA"
    response = client.post(URL, json=body, headers=partner.headers)
    assert response.status_code == 202, response.text
    return response.json()["url"].rsplit("/", 1)[1]


def _screenings(db, customer_id: str) -> list[tuple[str, str]]:
    from wholesale.compliance.models import Screening

    with db.session(write=False) as s:
        return [
            (r.trigger, r.decision)
            for r in s.scalars(
                sa.select(Screening).where(Screening.customer_id == customer_id).order_by(Screening.created)
            )
        ]


def _case_id(db, customer_id: str) -> str:
    from wholesale.compliance.models import ComplianceCase

    def find():
        with db.session(write=False) as s:
            return s.scalars(sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)).first()

    return wait_for(find, bool, timeout=60)


def _customer(client, partner, cid):
    return client.get(f"{URL}/{cid}", headers=partner.headers)


@pytest.fixture
def team(platform_token):
    return {"Authorization": f"Bearer {platform_token('reviewer')}"}, {
        "Authorization": f"Bearer {platform_token('operator')}"
    }


@pytest.fixture
def listed_customer(client, partner, db):
    """A customer whose name is on the OFAC SDN list, with its open case."""
    cid = _create(client, partner, LISTED["name"], LISTED["country"], LISTED["city"])
    return cid, _case_id(db, cid)


def test_create_and_address_change_each_screen_exactly_once(client, partner, db):
    """R10: every creation and every billing-address change is screened, once each."""
    cid = _create(client, partner, "Harmless Bakery GmbH", "DE", "Berlin")
    wait_for(lambda: _screenings(db, cid), lambda s: len(s) == 1, timeout=60)
    customer = wait_for(lambda: _customer(client, partner, cid).json(), lambda c: c["status"] == "provisioned")
    # A change without a new address does not screen.
    assert client.put(f"{URL}/{cid}", json={"packages": ["webex_meetings"]}, headers=partner.headers).status_code == 202
    wait_for(lambda: _customer(client, partner, cid).json(), lambda c: c["status"] == "provisioned")
    new_address = {"addressLine1": "2 Other Street", "city": "Munich", "country": "DE"}
    assert (
        client.put(
            f"{URL}/{cid}", json={"packages": customer["packages"], "address": new_address}, headers=partner.headers
        ).status_code
        == 202
    )
    wait_for(lambda: _screenings(db, cid), lambda s: len(s) == 2, timeout=60)
    wait_for(lambda: _customer(client, partner, cid).json(), lambda c: c["status"] == "provisioned")
    assert _screenings(db, cid) == [("created", "clear"), ("address_changed", "clear")]


def test_a_listed_customer_opens_a_case_and_provisioning_still_completes(client, partner, db, listed_customer, team):
    """R11: provisioning is never held back; the status reads pending_rpl_review while the case is open."""
    cid, case_id = listed_customer
    customer = wait_for(
        lambda: _customer(client, partner, cid).json(),
        lambda c: (
            all(p["status"] == "provisioned" for p in c["resourceDetails"]["packages"])
            and c["status"] != "provisioning"
        ),
    )
    assert customer["status"] == "pending_rpl_review"
    assert customer["orgId"]  # the org exists: services are active
    listed = client.get(f"{URL}?status=pending_rpl_review", headers=partner.headers).json()["items"]
    assert cid in [c["id"] for c in listed]
    view = client.get(f"{URL}/{cid}/compliance", headers=partner.headers).json()
    assert view["compliant"] is False and view["case"]["status"] == "open" and view["case"]["deadline"]
    assert "hits" not in without_ids(json.dumps(view)) and "SDN" not in without_ids(json.dumps(view))
    reviewer, _ = team
    case = client.get(f"/v1/compliance/cases/{case_id}", headers=reviewer).json()
    hit = case["hits"][0]
    assert (
        hit["source"] == "OFAC-SDN"
        and hit["entryId"]
        and hit["matchedVariant"]
        and hit["features"]
        and hit["listVersion"]
    )
    assert case["customer"]["address"]["country"] == "IR" and case["timeline"][0]["event"] == "opened"


def test_approve_restores_the_status_and_is_not_reopened_for_the_same_entry(client, partner, db, listed_customer, team):
    cid, case_id = listed_customer
    reviewer, _ = team
    wait_for(lambda: _customer(client, partner, cid).json()["status"], lambda s: s == "pending_rpl_review")
    decided = client.post(
        f"/v1/compliance/cases/{case_id}/decision",
        json={"decision": "approve", "reason": "different airline"},
        headers=reviewer,
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert _customer(client, partner, cid).json()["status"] == "provisioned"
    # Re-screening against the same list version does not reopen: the entry is allow-listed.
    from wholesale.customers import service as customers
    from wholesale.customers.models import Customer

    with db.transaction() as s:
        customer = s.get(Customer, cid)
        customer.revision += 1
        customers.request_screening(s, customer, "address_changed")
    wait_for(lambda: _screenings(db, cid), lambda sc: len(sc) == 2, timeout=60)
    assert _screenings(db, cid)[-1] == ("address_changed", "clear")
    assert _customer(client, partner, cid).json()["status"] == "provisioned"
    stats = client.get("/v1/compliance/stats", headers=reviewer).json()
    assert stats["decidedCases"] >= 1 and stats["timeToDecisionSeconds"]["p50"] is not None
    assert 0 <= stats["decidedWithin15Minutes"] <= 1
    metrics = client.get("/metrics").text
    assert 'wholesale_compliance_time_to_decision_seconds{quantile="0.50"}' in metrics
    assert 'wholesale_compliance_decided_within_ratio{minutes="60"}' in metrics


def test_reject_alone_does_not_deprovision(client, partner, db, listed_customer, team):
    cid, case_id = listed_customer
    reviewer, operator = team
    assert_error_body(
        client.post(f"/v1/compliance/cases/{case_id}/decision", json={"decision": "reject"}, headers=reviewer), 400
    )
    rejected = client.post(
        f"/v1/compliance/cases/{case_id}/decision",
        json={"decision": "reject", "reason": "confirmed listed party"},
        headers=reviewer,
    )
    assert rejected.json()["status"] == "noncompliant"
    assert client.post("/v1/sandbox/tick", headers=operator).status_code == 200
    assert _customer(client, partner, cid).status_code == 200
    assert client.get(f"{URL}/{cid}/compliance", headers=partner.headers).json()["case"]["status"] == "noncompliant"


def test_three_unreachable_attempts_deprovision(client, partner, db, listed_customer, team):
    """R13/R14: every attempt is recorded; the third failed one removes the customer through the delete workflow."""
    cid, case_id = listed_customer
    reviewer, _ = team
    for n in range(3):
        r = client.post(
            f"/v1/compliance/cases/{case_id}/contactAttempts",
            json={"channel": "email", "outcome": "unreachable", "note": f"try {n}"},
            headers=reviewer,
        )
        assert r.status_code == 201
    assert r.json()["status"] == "deprovisioned" and len(r.json()["contactAttempts"]) == 3
    wait_for(lambda: _customer(client, partner, cid).status_code, lambda code: code == 404)
    from wholesale.events.models import AuditEvent

    with db.session(write=False) as s:
        reasons = [
            e.data.get("reason", "")
            for e in s.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_id == cid, AuditEvent.action == "customer.delete_requested"
                )
            )
        ]
    assert reasons and "unreachable after 3 contact attempts" in reasons[0]


def test_thirty_days_on_the_clock_deprovision_and_twenty_nine_do_not(client, partner, db, listed_customer, team):
    """R14 on the injectable clock: move the sandbox clock, tick, and watch."""
    cid, case_id = listed_customer
    reviewer, operator = team
    client.post(
        f"/v1/compliance/cases/{case_id}/decision", json={"decision": "reject", "reason": "listed"}, headers=reviewer
    )
    assert client.post("/v1/sandbox/clock", json={"advanceSeconds": 29 * 86400}, headers=operator).status_code == 200
    client.post("/v1/sandbox/tick", headers=operator)
    assert _customer(client, partner, cid).status_code == 200
    assert client.get(f"/v1/compliance/cases/{case_id}", headers=reviewer).json()["status"] == "noncompliant"
    client.post("/v1/sandbox/clock", json={"advanceSeconds": 86400 + 60}, headers=operator)
    tick = client.post("/v1/sandbox/tick", headers=operator).json()
    assert set(tick["jobs"].values()) == {"SUCCESS"}
    assert client.get(f"/v1/compliance/cases/{case_id}", headers=reviewer).json()["status"] == "deprovisioned"
    wait_for(lambda: _customer(client, partner, cid).status_code, lambda code: code == 404)


def test_case_data_tenancy(client, make_partner, db, team):
    a, b = make_partner(), make_partner()
    cid = _create(client, a, LISTED["name"], LISTED["country"], LISTED["city"])
    case_id = _case_id(db, cid)
    reviewer, operator = team
    assert_error_body(client.get("/v1/compliance/cases", headers=a.headers), 403)
    assert_error_body(client.get(f"/v1/compliance/cases/{case_id}", headers=a.headers), 403)
    assert_error_body(client.get(f"{URL}/{cid}/compliance", headers=b.headers), 404)
    assert_error_body(
        client.post(f"/v1/compliance/cases/{case_id}/decision", json={"decision": "approve"}, headers=operator), 403
    )
    queue = client.get(f"/v1/compliance/cases?status=open&customerId={cid}", headers=reviewer).json()["items"]
    assert [c["id"] for c in queue] == [case_id] and "hits" not in queue[0]
    assert_error_body(client.get("/v1/compliance/cases?status=weird", headers=reviewer), 400)


def test_adhoc_screening_endpoint(client, team, partner):
    reviewer, _ = team
    hit = client.post(
        "/v1/compliance/screenings", json={"id": "q1", "name": "MAHAN AIR", "country": "IR"}, headers=reviewer
    ).json()
    assert hit["id"] == "q1" and hit["decision"] == "match" and hit["hits"][0]["source"] == "OFAC-SDN"
    clear = client.post(
        "/v1/compliance/screenings", json={"name": "Sunny Side Dental Practice"}, headers=reviewer
    ).json()
    assert clear["decision"] == "clear" and clear["hits"] == []
    assert_error_body(client.post("/v1/compliance/screenings", json={"name": "x"}, headers=partner.headers), 403)


def _cli(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"WHOLESALE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "wholesale.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_screen_and_lists_load(tmp_path):
    from conftest import fresh_database_url

    url = fresh_database_url(tmp_path)
    assert _cli(url, "migrate").returncode == 0
    lines = "\n".join(
        json.dumps(q)
        for q in [{"id": "1", "name": "Mahan Air", "country": "IR"}, {"id": "2", "name": "Sunny Side Dental Practice"}]
    )
    out = _cli(url, "screen", stdin=lines + "\n")
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["decision"]) for r in results] == [("1", "match"), ("2", "clear")]
    assert set(results[0]["hits"][0]) >= {"source", "entryId", "name", "score"}
    from wholesale.compliance.screening import default_list_paths

    dpl = next(p for p in default_list_paths() if p.name.startswith("dpl"))
    good_lines = dpl.read_text().splitlines()
    bad = tmp_path / "dpl.txt"
    bad.write_text("\n".join([*good_lines[:2], '"ONLY ONE COLUMN"', *good_lines[2:5]]) + "\n")
    refused = _cli(url, "lists", "load", str(bad))
    assert refused.returncode == 1 and f"{bad}:3:" in refused.stderr, refused.stderr
    shown = _cli(url, "lists", "show")
    assert "shipped default lists" in shown.stdout  # the refused file changed nothing
    loaded = _cli(url, "lists", "load", str(dpl))
    assert loaded.returncode == 0, loaded.stderr
    only_dpl = _cli(url, "screen", stdin=json.dumps({"id": "1", "name": "Mahan Air", "country": "IR"}) + "\n")
    assert json.loads(only_dpl.stdout)["decision"] == "clear"  # Mahan Air is on the SDN, not the DPL
    assert "DPL" in _cli(url, "lists", "show").stdout


def test_an_approved_customer_reopens_for_a_new_entry_but_not_for_the_cleared_one(
    client, partner, db, listed_customer, team, tmp_path
):
    """The allow-list holds (entry, list version): a new list version that adds an entry re-opens the case."""
    from wholesale.compliance import lists
    from wholesale.compliance.models import ComplianceCase
    from wholesale.compliance.screening import default_list_paths
    from wholesale.customers import service as customers
    from wholesale.customers.models import Customer

    cid, case_id = listed_customer
    reviewer, _ = team
    client.post(
        f"/v1/compliance/cases/{case_id}/decision", json={"decision": "approve", "reason": "not them"}, headers=reviewer
    )
    shipped = {p.name: p for p in default_list_paths()}
    dpl = tmp_path / "dpl.txt"
    lines = shipped["dpl.txt"].read_text().splitlines()
    new_entry = '"MAHAN AIR"\t"MEHRABAD AIRPORT"\t"TEHRAN"\t""\t"IR"\t""\t"01/01/2026"\t"01/01/2036"\t"Y"\t"2026-01-01"\t"ADDITION"\t"91 F.R. 1"'
    dpl.write_text("\n".join([lines[0], new_entry, *lines[1:]]) + "\n")

    def rescreen() -> None:
        with db.transaction() as s:
            customer = s.get(Customer, cid)
            customer.revision += 1
            customers.request_screening(s, customer, "lists_updated")

    try:
        with db.transaction() as s:
            lists.store_list_set(s, [dpl, shipped["sdn.csv"]])
        rescreen()
        wait_for(lambda: _screenings(db, cid), lambda sc: len(sc) == 2, timeout=60)
        with db.session(write=False) as s:
            cases = list(
                s.scalars(
                    sa.select(ComplianceCase)
                    .where(ComplianceCase.customer_id == cid)
                    .order_by(ComplianceCase.opened_at)
                )
            )
        assert [c.status for c in cases] == ["approved", "open"]
        assert {h["source"] for h in cases[1].hits} == {"DPL"}  # the cleared SDN entry stayed cleared
    finally:
        with db.transaction() as s:
            lists.store_list_set(s, list(shipped.values()))  # the shipped lists are in force again
