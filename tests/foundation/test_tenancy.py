"""The 401/403/404 tenancy matrix: partners see only their own, sub-partners only via onBehalfOfSubPartnerOrgId."""

import pytest

from helpers import assert_error_body, customer_body


@pytest.fixture
def world(client, make_partner, platform_token):
    """Two partners, a sub-partner of the first, one customer each, and tokens of every role."""
    a, b = make_partner(), make_partner()
    sub = make_partner(parent=a.org_id)

    def create(p, on_behalf: str | None = None, template: str | None = None) -> str:
        url = "/v1/wholesale/customers" + (f"?onBehalfOfSubPartnerOrgId={on_behalf}" if on_behalf else "")
        r = client.post(url, json=customer_body(template or p.template_id), headers=p.headers)
        assert r.status_code == 202, r.text
        return r.json()["url"].split("?")[0].rsplit("/", 1)[1]

    return {
        "a": a,
        "b": b,
        "sub": sub,
        "a_customer": create(a),
        "b_customer": create(b),
        "sub_customer": create(a, on_behalf=sub.org_id, template=sub.template_id),
        "operator": platform_token("operator"),
        "reviewer": platform_token("reviewer"),
    }


def test_a_partner_lists_only_its_own_customers(client, world):
    ids = {c["id"] for c in client.get("/v1/wholesale/customers", headers=world["a"].headers).json()["items"]}
    assert world["a_customer"] in ids and world["b_customer"] not in ids and world["sub_customer"] not in ids


def test_another_partners_customer_is_404_never_403(client, world):
    for method in ("get", "put", "delete"):
        kwargs = {"json": {"packages": ["webex_meetings"]}} if method == "put" else {}
        r = getattr(client, method)(
            f"/v1/wholesale/customers/{world['b_customer']}", headers=world["a"].headers, **kwargs
        )
        body = assert_error_body(r, 404)
        assert world["b_customer"] in body["message"]
        assert "Milpitas" not in r.text


def test_sub_partner_customers_are_reached_on_behalf(client, world):
    a, sub = world["a"], world["sub"]
    assert_error_body(client.get(f"/v1/wholesale/customers/{world['sub_customer']}", headers=a.headers), 404)
    on_behalf = client.get(
        f"/v1/wholesale/customers/{world['sub_customer']}?onBehalfOfSubPartnerOrgId={sub.org_id}", headers=a.headers
    )
    assert on_behalf.status_code == 200
    listed = client.get(f"/v1/wholesale/customers?onBehalfOfSubPartnerOrgId={sub.org_id}", headers=a.headers).json()
    assert [c["id"] for c in listed["items"]] == [world["sub_customer"]]
    # The sub-partner's own token sees it too, without on-behalf.
    assert client.get(f"/v1/wholesale/customers/{world['sub_customer']}", headers=sub.headers).status_code == 200


def test_on_behalf_of_a_partner_that_is_not_your_sub_partner_is_403(client, world):
    a, b, sub = world["a"], world["b"], world["sub"]
    assert_error_body(
        client.get(f"/v1/wholesale/customers?onBehalfOfSubPartnerOrgId={b.org_id}", headers=a.headers), 403
    )
    assert_error_body(
        client.get(f"/v1/wholesale/customers?onBehalfOfSubPartnerOrgId={sub.org_id}", headers=b.headers), 403
    )
    # A sub-partner cannot act on behalf of its parent.
    assert_error_body(
        client.get(f"/v1/wholesale/customers?onBehalfOfSubPartnerOrgId={a.org_id}", headers=sub.headers), 403
    )


def test_a_token_without_the_scope_is_403(client, make_partner):
    reader = make_partner(scopes=["spark-admin:wholesale_customers_read"])
    assert client.get("/v1/wholesale/customers", headers=reader.headers).status_code == 200
    r = client.post("/v1/wholesale/customers", json=customer_body(reader.template_id), headers=reader.headers)
    assert "spark-admin:wholesale_customers_write" in assert_error_body(r, 403)["message"]
    assert_error_body(client.get("/v1/wholesale/subPartners", headers=reader.headers), 403)


@pytest.mark.parametrize("role", ["operator", "reviewer"])
def test_platform_roles_cannot_use_the_partner_api(client, world, role):
    headers = {"Authorization": f"Bearer {world[role]}"}
    assert client.get("/v1/wholesale/customers", headers=headers).status_code == 403


def test_sub_partners_listing_follows_the_spec(client, world):
    a, sub = world["a"], world["sub"]
    items = client.get("/v1/wholesale/subPartners", headers=a.headers).json()["items"]
    assert [i["orgId"] for i in items] == [sub.org_id]
    assert set(items[0]) == {"orgId", "subscriptionId", "provisioningState", "created", "billingStartDate"}
    assert items[0]["provisioningState"] == "active" and items[0]["created"].endswith("Z")
    assert client.get("/v1/wholesale/subPartners", headers=sub.headers).json()["items"] == []
    assert client.get("/v1/wholesale/subPartners?provisioningState=suspended", headers=a.headers).json()["items"] == []
    assert_error_body(client.get("/v1/wholesale/subPartners?provisioningState=gone", headers=a.headers), 400)


def test_organizations_are_readable_by_their_partner_and_operators_only(client, world, make_partner):
    from helpers import wait_for

    a, b = world["a"], world["b"]
    customer = wait_for(
        lambda: client.get(f"/v1/wholesale/customers/{world['a_customer']}", headers=a.headers).json(),
        lambda c: c["status"] == "provisioned",
    )
    org_url = f"/v1/organizations/{customer['orgId']}"
    assert client.get(org_url, headers=a.headers).json()["countryCode"] == "US"
    assert client.get(org_url, headers={"Authorization": f"Bearer {world['operator']}"}).status_code == 200
    assert_error_body(client.get(org_url, headers=b.headers), 404)


def test_an_on_behalf_create_answers_a_url_its_caller_can_follow(client, world):
    """Issue 14, finding 5 (API side): a customer created with onBehalfOfSubPartnerOrgId answered a url and Location
    that 404ed for the very caller who created it (the query parameter was dropped)."""
    from helpers import customer_body

    a, sub = world["a"], world["sub"]
    created = client.post(
        f"/v1/wholesale/customers?onBehalfOfSubPartnerOrgId={sub.org_id}",
        json=customer_body(sub.template_id),
        headers=a.headers,
    )
    assert created.status_code == 202, created.text
    url = created.json()["url"]
    assert created.headers["location"] == url and url.endswith(f"?onBehalfOfSubPartnerOrgId={sub.org_id}")
    assert client.get(url.replace("http://testserver", ""), headers=a.headers).status_code == 200
    own = client.post("/v1/wholesale/customers", json=customer_body(sub.template_id), headers=sub.headers)
    assert "?" not in own.json()["url"]  # the sub-partner's own create needs no on-behalf
