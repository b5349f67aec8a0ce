"""GET /v1/auditEvents: operators read every row, a partner admin its own tree and never another partner's, a
reviewer or a customer admin nothing; filters, newest-first pages by id that hold still while rows are written, and
what a partner may see of a compliance row. Every response is checked against our OpenAPI by the `client` fixture."""

import re
import uuid
from datetime import timedelta, timezone

import pytest

from helpers import assert_error_body, customer_body
from wholesale.kit import clock

URL = "/v1/auditEvents"
CUSTOMERS = "/v1/wholesale/customers"


def _create_customer(client, partner, headers=None) -> str:
    response = client.post(CUSTOMERS, json=customer_body(partner.template_id), headers=headers or partner.headers)
    assert response.status_code == 202, response.text
    return response.json()["url"].rsplit("/", 1)[1]


def _read(client, headers, **params) -> list[dict]:
    response = client.get(URL, params={"max": "1000", **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _all_pages(client, headers, **params) -> list[dict]:
    """Follow the Link header to the end."""
    seen, url, query = [], URL, params
    while True:
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        seen += response.json()["items"]
        link = response.headers.get("link")
        if not link:
            return seen
        url, query = re.match(r"<([^>]+)>", link).group(1).replace("http://testserver", ""), None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tree(client, make_partner):
    """Partner A with a sub-partner, and partner B; one customer each."""
    a = make_partner()
    sub = make_partner(parent=a.org_id)
    b = make_partner()
    customers = {
        "a": _create_customer(client, a),
        "sub": _create_customer(client, sub),
        "b": _create_customer(client, b),
    }
    return a, sub, b, customers


def test_a_partner_reads_its_tree_and_never_a_byte_of_another_partners_rows(client, tree):
    a, sub, b, customers = tree
    items = _read(client, a.headers)
    assert {i["orgId"] for i in items} <= {a.org_id, sub.org_id}
    created = {i["targetId"] for i in items if i["action"] == "customer.created"}
    assert {customers["a"], customers["sub"]} <= created
    mine = next(i for i in items if i["action"] == "customer.created" and i["targetId"] == customers["a"])
    assert mine["actorId"].startswith("token:") and mine["actorRole"] == "partner-admin"
    assert mine["actorOrgId"] == a.org_id and mine["targetType"] == "customer" and mine["trackingId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", mine["created"])

    for params in ({}, {"targetId": customers["a"]}, {"action": "customer."}, {"actorId": mine["actorId"]}):
        response = client.get(URL, params={"max": "1000", **params}, headers=b.headers)
        assert response.status_code == 200
        for secret in (a.org_id, sub.org_id, customers["a"], customers["sub"], mine["actorId"]):
            assert secret not in response.text, params
    assert customers["b"] in {i["targetId"] for i in _read(client, b.headers)}


def test_a_sub_partner_reads_only_its_own_rows(client, tree):
    a, sub, _b, customers = tree
    own = _read(client, sub.headers)
    assert own and {i["orgId"] for i in own} == {sub.org_id}
    assert customers["a"] not in {i["targetId"] for i in own}
    acting = _read(client, a.headers, onBehalfOfSubPartnerOrgId=sub.org_id)
    assert {i["orgId"] for i in acting} == {sub.org_id}
    assert customers["sub"] in {i["targetId"] for i in acting}
    refused = client.get(URL, params={"onBehalfOfSubPartnerOrgId": a.org_id}, headers=sub.headers)
    assert_error_body(refused, 403)


def test_reviewers_customer_admins_and_strangers_are_refused(client, partner, platform_token, db):
    from wholesale.identity import service as identity

    assert_error_body(client.get(URL), 401)
    assert_error_body(client.get(URL, headers=_bearer(platform_token("reviewer"))), 403)
    with db.transaction() as s:
        org = identity.create_org(s, kind="customer", display_name="Admins Inc", managed_by_org_id=partner.org_id)
        s.flush()
        customer_admin = identity.create_token(s, org_id=org.id, role=identity.Role.CUSTOMER_ADMIN)
    assert_error_body(client.get(URL, headers=_bearer(customer_admin)), 403)
    # A bad filter from someone refused is still a refusal.
    assert_error_body(client.get(URL, params={"from": "soon"}, headers=_bearer(platform_token("reviewer"))), 403)
    with db.transaction() as s:
        scoped = identity.create_token(
            s,
            org_id=partner.org_id,
            role=identity.Role.PARTNER_ADMIN,
            scopes=["spark-admin:wholesale_billing_reports_read"],
        )
    assert_error_body(client.get(URL, headers=_bearer(scoped)), 403)


def test_an_operator_reads_every_partners_rows_and_the_platforms(client, tree, platform_token):
    _a, sub, _b, customers = tree
    operator = _bearer(platform_token("operator"))
    items = _read(client, operator, action="customer.created")
    assert set(customers.values()) <= {i["targetId"] for i in items}
    platform_rows = _read(client, operator, targetType="token")
    assert any("orgId" not in i for i in platform_rows)  # operator and reviewer tokens belong to no partner
    assert_error_body(client.get(URL, params={"onBehalfOfSubPartnerOrgId": sub.org_id}, headers=operator), 400)


def test_filters_narrow_by_action_target_actor_and_time(client, partner, platform_token):
    # The service's clock, not the wall clock: a sandbox test may have moved it (the audit rows carry its time).
    before = clock.now() - timedelta(seconds=1)
    first, second = _create_customer(client, partner), _create_customer(client, partner)
    template = client.post(
        "/v1/wholesale/customerTemplates", json={"name": f"Gold {uuid.uuid4().hex[:6]}"}, headers=partner.headers
    )
    assert template.status_code in (200, 201), template.text

    exact = _read(client, partner.headers, action="customer.created")
    assert {i["action"] for i in exact} == {"customer.created"} and {first, second} <= {i["targetId"] for i in exact}
    for prefix in ("customer.", "customer.*", "customer*"):
        assert {i["action"].split(".")[0] for i in _read(client, partner.headers, action=prefix)} == {"customer"}
    assert all(i["action"] != "customer.created" for i in _read(client, partner.headers, action="customer_created"))
    assert {i["targetId"] for i in _read(client, partner.headers, targetId=first)} == {first}
    templates = _read(client, partner.headers, targetType="template")
    assert templates and {i["targetType"] for i in templates} == {"template"}
    actor = exact[0]["actorId"]
    assert {i["actorId"] for i in _read(client, partner.headers, actorId=actor)} == {actor}

    after = clock.now() + timedelta(seconds=1)
    window = {"from": before.isoformat(), "to": after.isoformat()}
    assert {first, second} <= {i["targetId"] for i in _read(client, partner.headers, **window)}
    # (Provisioning and screening may still write rows after `after`; the creates were all before it.)
    assert (
        _read(client, partner.headers, action="customer.created", **{"from": after.isoformat().replace("+00:00", "Z")})
        == []
    )
    assert not {first, second} & {i["targetId"] for i in _read(client, partner.headers, to=before.isoformat())}
    # An unencoded +hh:mm (a query string's plus reads as a space) is understood too.
    plus = before.astimezone(timezone(timedelta(hours=2))).isoformat()
    response = client.get(f"{URL}?max=1000&from={plus}", headers=partner.headers)
    assert {first, second} <= {i["targetId"] for i in response.json()["items"]}, response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-01-01T00:00:00"}, "to"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"targetType": "planet"}, "targetType"),
        ({"action": "Customer Created"}, "action"),
        ({"action": "customer.."}, "action"),
        ({"before": "last"}, "before"),
        ({"before": "0"}, "before"),
        ({"max": "-1"}, "max"),
        ({"max": "many"}, "max"),
    ],
)
def test_bad_filters_are_400s_naming_the_parameter(client, partner, params, field):
    body = assert_error_body(client.get(URL, params=params, headers=partner.headers), 400)
    assert body["message"].startswith(f"{field}:"), body


def test_pages_run_newest_first_by_id_and_hold_still_while_rows_are_written(client, partner):
    made = [_create_customer(client, partner) for _ in range(5)]
    whole = _read(client, partner.headers, action="customer.created")
    assert [i["targetId"] for i in whole] == made[::-1]
    assert [int(i["id"]) for i in whole] == sorted((int(i["id"]) for i in whole), reverse=True)

    first = client.get(URL, params={"action": "customer.created", "max": "2"}, headers=partner.headers)
    assert len(first.json()["items"]) == 2 and 'rel="next"' in first.headers["link"]
    assert "action=customer.created" in first.headers["link"] and "max=2" in first.headers["link"]
    newer = _create_customer(client, partner)  # written between two page reads
    seen = first.json()["items"]
    url = re.match(r"<([^>]+)>", first.headers["link"]).group(1).replace("http://testserver", "")
    while url:
        page = client.get(url, headers=partner.headers)
        seen += page.json()["items"]
        link = page.headers.get("link")
        url = re.match(r"<([^>]+)>", link).group(1).replace("http://testserver", "") if link else ""
    assert [i["id"] for i in seen] == [i["id"] for i in whole]  # no repeat, no gap, the newer row not pushed in
    assert newer in {i["targetId"] for i in _read(client, partner.headers, action="customer.created")}
    assert len(_read(client, partner.headers, action="customer.created", max="5000")) == 6  # max is capped, not refused
    assert len(_all_pages(client, partner.headers, action="customer.created", max="4")) == 6
