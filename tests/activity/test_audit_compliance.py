"""What a partner reads of a compliance review in the audit log: that a review ran, its decision as a status, the
contact attempts as bare facts and the deprovisioning with the reason "restricted-party review"; never the list
entries, scores or reviewers' notes. Operators read everything."""

import json

import pytest

from helpers import customer_body, wait_for, without_ids

URL = "/v1/auditEvents"
EVIDENCE = ("SDN", "#12345", "score", "hits", "entryId", "listSha256", "OFAC", "spoke to nobody", "Mahan")


@pytest.fixture(scope="module")
def deprovisioned(client):
    """A listed customer rejected by a reviewer and deprovisioned after three unreachable contact attempts."""
    import sqlalchemy as sa

    from conftest import PartnerCtx
    from wholesale.compliance.models import ComplianceCase
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token, ensure_platform_org
    from wholesale.partners.service import create_partner

    db = get_database()
    with db.transaction() as s:
        made = create_partner(s, name="Compliance Audit Partner")
        partner = PartnerCtx(
            made.org_id,
            create_token(s, org_id=made.org_id, role=Role.PARTNER_ADMIN),
            add_template(s, made.org_id, TemplateIn(name="Standard")).id,
        )
        platform = ensure_platform_org(s).id
        reviewer = {"Authorization": f"Bearer {create_token(s, org_id=platform, role=Role.REVIEWER)}"}
        operator = {"Authorization": f"Bearer {create_token(s, org_id=platform, role=Role.OPERATOR)}"}
    body = customer_body(partner.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = "Mahan Air"
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}
    response = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)
    assert response.status_code == 202, response.text
    customer_id = response.json()["url"].rsplit("/", 1)[1]

    def case_id():
        with db.session(write=False) as s:
            return s.scalars(sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)).first()

    case = wait_for(case_id, bool, timeout=60)
    decided = client.post(
        f"/v1/compliance/cases/{case}/decision",
        json={"decision": "reject", "reason": "Mahan Air, SDN entry #12345"},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    for n in range(3):
        attempt = client.post(
            f"/v1/compliance/cases/{case}/contactAttempts",
            json={"channel": "phone", "outcome": "unreachable", "note": f"spoke to nobody ({n})"},
            headers=reviewer,
        )
        assert attempt.status_code == 201, attempt.text
    return partner, customer_id, case, operator


def _items(client, headers, **params):
    response = client.get(URL, params={"max": "1000", **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_partner_reads_the_review_as_its_feed_shows_it_and_never_the_evidence(client, deprovisioned):
    partner, customer_id, case, _operator = deprovisioned
    rows = _items(client, partner.headers, action="compliance.")
    rows += [r for r in _items(client, partner.headers, targetId=customer_id) if r not in rows]
    text = without_ids(json.dumps(rows))
    for secret in EVIDENCE:
        assert secret not in text, secret
    by_action = {r["action"]: r for r in rows}
    assert {"compliance.screened", "compliance.case_opened", "compliance.reject", "compliance.contact_attempt"} <= set(
        by_action
    )
    assert by_action["compliance.case_opened"]["data"] == {"caseId": case}
    assert by_action["compliance.reject"]["data"] == {
        "customerId": customer_id,
        "status": "noncompliant",
        "reason": "restricted-party review",
    }
    assert by_action["compliance.deprovision"]["data"] == {
        "customerId": customer_id,
        "status": "deprovisioned",
        "reason": "restricted-party review",
    }
    assert by_action["compliance.screened"]["data"] == {} and by_action["compliance.contact_attempt"]["data"] == {}
    assert all("before" not in r and "after" not in r for r in rows if r["action"].startswith("compliance."))
    assert by_action["customer.delete_requested"]["data"] == {"status": "deleting", "reason": "restricted-party review"}
    assert by_action["compliance.reject"]["actorRole"] == "reviewer"


def test_an_operator_reads_the_whole_review(client, deprovisioned):
    _partner, customer_id, case, operator = deprovisioned
    rows = _items(client, operator, targetId=case)
    by_action = {r["action"]: r for r in rows}
    reject = by_action["compliance.reject"]
    assert reject["data"]["note"] == "Mahan Air, SDN entry #12345"
    assert reject["before"] == {"status": "open", "decision": None, "reason": None, "decidedBy": None}
    assert reject["after"]["status"] == "noncompliant" and reject["after"]["reason"] == "Mahan Air, SDN entry #12345"
    attempts = [r for r in rows if r["action"] == "compliance.contact_attempt"]
    assert [a["after"]["unreachableAttempts"] for a in attempts] == [3, 2, 1]  # newest first
    assert "spoke to nobody" in attempts[0]["data"]["note"]
    screened = [
        r for r in _items(client, operator, targetType="screening") if r["data"].get("customerId") == customer_id
    ]
    assert screened and screened[0]["data"]["hits"] >= 1 and "score" in screened[0]["data"]
