"""Meetings sites end to end (R15-R18): derivation at provisioning, re-derivation, pinning, tenancy, portal preview."""

import pytest
from prometheus_client import REGISTRY

from dialin_support import audit, create_customer, settle, site_of
from helpers import assert_error_body

SITES = "/v1/meetings/sites"

# country -> (expected source, expected number, location) against TEST_DOMAIN_CSV
E2E = {
    "US": ("orgCountry", "+14085550142", "AMER"),
    "FR": ("orgCountry", "+33170918646", "EURO"),
    "JP": ("orgCountry", "+81345781488", "APAC"),
    "NZ": ("locationDefault", "+61280735099", "ANZ"),
    "AE": ("orgCountry", "+97145217710", "EMEA"),
    "CA": ("orgCountry", "+14165550177", "AMER"),
}


def _operator(platform_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform_token('operator')}"}


def _customer_admin(db, org_id: str) -> dict[str, str]:
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token

    with db.transaction() as s:
        return {"Authorization": f"Bearer {create_token(s, org_id=org_id, role=Role.CUSTOMER_ADMIN)}"}


def _meetings_warnings(customer: dict) -> list:
    packages = {p["name"]: p for p in customer["resourceDetails"]["packages"]}
    return packages["webex_meetings"].get("warnings", [])


def test_six_countries_end_to_end(client, partner, telephony):
    """R18 end to end: own-country numbers for US, FR, JP, AE, CA; NZ falls back to its ANZ default (AU)."""
    telephony()
    for country, (source, number, location) in E2E.items():
        customer = create_customer(client, partner, country)
        assert customer["status"] == "provisioned", customer
        assert _meetings_warnings(customer) == []
        site = site_of(client, partner.headers, customer["orgId"])
        assert (site["source"], site["location"], site["pstnEnabled"]) == (source, location, True), (country, site)
        assert site["defaultCallInNumber"]["number"] == number, (country, site)
        assert "warning" not in site and site["pinned"] is False
        assert site["orgId"] == customer["orgId"] and site["siteUrl"].endswith(".webex.com")
        assert client.get(f"{SITES}/{site['id']}", headers=partner.headers).json() == site
    nz = site_of(client, partner.headers, create_customer(client, partner, "NZ")["orgId"])
    assert nz["defaultCallInNumber"] == {
        "number": "+61280735099",
        "countryCode": "+61",
        "label": "Australia Toll (Sydney)",
        "tollType": "toll",
    }


def test_demo_domain_gives_nz_the_anz_default(client, partner, telephony):
    """The bundled demo domain has no NZ number, so an NZ site gets the first AU number."""
    from wholesale.dialin.telephony import read_demo_csv

    telephony(read_demo_csv())
    site = site_of(client, partner.headers, create_customer(client, partner, "NZ")["orgId"])
    assert site["source"] == "locationDefault" and site["defaultCallInNumber"]["countryCode"] == "+61"


def test_pstn_disabled_template_gives_no_number_and_no_warning(client, make_partner, telephony):
    """R17: without provider PSTN the site has no call-in number, and that is not a warning."""
    telephony()
    partner = make_partner(pstnEnabled=False)
    customer = create_customer(client, partner, "US")
    assert customer["status"] == "provisioned" and _meetings_warnings(customer) == []
    site = site_of(client, partner.headers, customer["orgId"])
    assert (site["pstnEnabled"], site["defaultCallInNumber"], site["source"], site["location"]) == (
        False,
        None,
        "none",
        "AMER",
    )
    assert "warning" not in site


def test_nothing_available_still_creates_the_site_with_a_warning_and_a_metric(client, partner, telephony):
    """R18: no NZ and no AU number -> the site exists, the meetings package warns (3100), /metrics counts it."""
    telephony(
        "country,number,label,tollType,available\nAU,+61280735099,Australia Toll,toll,false\nUS,+14085550142,US Toll,toll,true\n"
    )
    sample = {"country": "NZ", "location": "ANZ"}
    before = REGISTRY.get_sample_value("wholesale_meetings_sites_without_call_in_total", sample) or 0.0
    customer = create_customer(client, partner, "NZ")
    assert customer["status"] == "provisioned", customer
    warnings = _meetings_warnings(customer)
    assert len(warnings) == 1 and warnings[0]["errorCode"] == 3100 and "NZ" in warnings[0]["description"]
    site = site_of(client, partner.headers, customer["orgId"])
    assert (site["defaultCallInNumber"], site["source"]) == (None, "none")
    assert site["warning"] == warnings[0]["description"]
    assert REGISTRY.get_sample_value("wholesale_meetings_sites_without_call_in_total", sample) == before + 1
    metrics = client.get("/metrics").text
    assert 'wholesale_meetings_sites_without_call_in_total{country="NZ",location="ANZ"}' in metrics


def _move(client, partner, customer: dict, country: str) -> dict:
    from dialin_support import ADDRESSES

    url = f"/v1/wholesale/customers/{customer['id']}"
    response = client.put(
        url, json={"packages": ["webex_meetings"], "address": ADDRESSES[country]}, headers=partner.headers
    )
    assert response.status_code == 202, response.text
    return settle(client, partner, url)


def test_billing_country_change_rederives_the_site(client, partner, telephony, db):
    """R16/R17: a new billing country moves the org and the site's number follows (audited)."""
    telephony()
    customer = create_customer(client, partner, "US")
    site = site_of(client, partner.headers, customer["orgId"])
    assert site["defaultCallInNumber"]["number"] == "+14085550142"
    moved = _move(client, partner, customer, "FR")
    assert moved["status"] == "provisioned", moved
    after = site_of(client, partner.headers, customer["orgId"])
    assert after["id"] == site["id"]
    assert (after["location"], after["source"], after["defaultCallInNumber"]["number"]) == (
        "EURO",
        "orgCountry",
        "+33170918646",
    )
    changes = audit(db, site["id"], "site.rederived")
    assert changes[-1]["reason"] == "customer.updated" and changes[-1]["to"]["number"] == "+33170918646"
    # Moving to a country without numbers: its location default, and the package warning stays in sync.
    moved = _move(client, partner, moved, "NZ")
    nz = site_of(client, partner.headers, customer["orgId"])
    assert (nz["source"], nz["defaultCallInNumber"]["number"]) == ("locationDefault", "+61280735099")
    assert _meetings_warnings(moved) == []


def test_country_change_warning_follows_the_new_decision(client, partner, telephony):
    """The meetings-package warning appears when a move leaves the site without a number, and goes when it gets one."""
    telephony("country,number,label,tollType,available\nUS,+14085550142,US Toll,toll,true\n")
    customer = create_customer(client, partner, "US")
    assert _meetings_warnings(customer) == []
    moved = _move(client, partner, customer, "NZ")
    assert [w["errorCode"] for w in _meetings_warnings(moved)] == [3100]
    assert "warning" in site_of(client, partner.headers, customer["orgId"])
    back = _move(client, partner, moved, "US")
    assert _meetings_warnings(back) == []
    assert "warning" not in site_of(client, partner.headers, customer["orgId"])


def test_a_pinned_site_keeps_its_number_across_a_country_change(client, partner, telephony, platform_token, db):
    """An operator's pin survives a billing country change; unpinning re-derives for the current country."""
    telephony()
    operator = _operator(platform_token)
    customer = create_customer(client, partner, "US")
    site = site_of(client, partner.headers, customer["orgId"])
    pinned = client.put(
        f"{SITES}/{site['id']}/defaultCallInNumber", json={"number": "+1 646 555 0199"}, headers=operator
    )
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["pinned"] is True and pinned.json()["defaultCallInNumber"]["number"] == "+16465550199"
    assert audit(db, site["id"], "site.pinned")
    _move(client, partner, customer, "FR")
    after = site_of(client, partner.headers, customer["orgId"])
    assert after["defaultCallInNumber"]["number"] == "+16465550199" and after["pinned"] is True
    assert after["location"] == "EURO"  # the site still lives where its org now is
    unpinned = client.put(f"{SITES}/{site['id']}/defaultCallInNumber", json={"number": None}, headers=operator)
    assert unpinned.status_code == 200, unpinned.text
    assert (unpinned.json()["pinned"], unpinned.json()["source"], unpinned.json()["defaultCallInNumber"]["number"]) == (
        False,
        "orgCountry",
        "+33170918646",
    )


def test_pin_refuses_numbers_outside_the_domain_and_non_operators(client, partner, telephony, platform_token):
    telephony()
    site = site_of(client, partner.headers, create_customer(client, partner, "US")["orgId"])
    url = f"{SITES}/{site['id']}/defaultCallInNumber"
    body = assert_error_body(client.put(url, json={"number": "+14085550100"}, headers=_operator(platform_token)), 400)
    assert "not in the telephony domain" in body["message"]
    assert_error_body(client.put(url, json={"number": "nonsense"}, headers=_operator(platform_token)), 400)
    assert_error_body(client.put(url, json={"number": "+16465550199"}, headers=partner.headers), 403)
    assert_error_body(
        client.put(
            f"{SITES}/SITE-nope/defaultCallInNumber", json={"number": "+16465550199"}, headers=_operator(platform_token)
        ),
        404,
    )
    # A number of another country is allowed when it is in the domain.
    ok = client.put(url, json={"number": "+81345781488"}, headers=_operator(platform_token))
    assert ok.status_code == 200 and ok.json()["source"] == "locationDefault"


def test_domain_change_rederives_only_sites_whose_number_became_unavailable(
    client, partner, telephony, platform_token, db
):
    """Issue 4: a replaced domain re-derives (by a job, audited) only sites whose number went away; pins stay."""
    from helpers import wait_for

    telephony()
    operator = _operator(platform_token)
    us = site_of(client, partner.headers, create_customer(client, partner, "US")["orgId"])
    fr = site_of(client, partner.headers, create_customer(client, partner, "FR")["orgId"])
    pinned = site_of(client, partner.headers, create_customer(client, partner, "US")["orgId"])
    assert (
        client.put(
            f"{SITES}/{pinned['id']}/defaultCallInNumber", json={"number": "+14085550142"}, headers=operator
        ).status_code
        == 200
    )
    items = client.get("/v1/telephony/callInNumbers", headers=operator).json()["items"]
    for item in items:
        if item["number"] == "+14085550142":
            item["available"] = False  # the US sites' number goes away; FR's stays
    response = client.put("/v1/telephony/callInNumbers", json={"items": items}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.headers["x-rederive-job"].startswith("dialin.rederive:")
    moved = wait_for(
        lambda: client.get(f"{SITES}/{us['id']}", headers=partner.headers).json(),
        lambda s: s["defaultCallInNumber"]["number"] == "+16465550199",
    )
    assert moved["source"] == "orgCountry"
    change = audit(db, us["id"], "site.rederived")[-1]
    assert change["reason"] == "telephony.replaced" and change["from"]["number"] == "+14085550142"
    assert client.get(f"{SITES}/{fr['id']}", headers=partner.headers).json() == fr
    assert audit(db, fr["id"], "site.rederived") == []
    still = client.get(f"{SITES}/{pinned['id']}", headers=partner.headers).json()
    assert still["defaultCallInNumber"]["number"] == "+14085550142" and still["pinned"] is True
    assert audit(db, pinned["id"], "site.rederived") == []


def test_domain_change_gives_a_number_to_a_site_that_had_none(client, partner, telephony, platform_token):
    telephony("country,number,label,tollType,available\nUS,+14085550142,US Toll,toll,true\n")
    site = site_of(client, partner.headers, create_customer(client, partner, "NZ")["orgId"])
    assert site["defaultCallInNumber"] is None and "warning" in site
    csv = "country,number,label,tollType,available\nNZ,+6493001234,New Zealand Toll (Auckland),toll,true\n"
    response = client.put(
        "/v1/telephony/callInNumbers", content=csv, headers=_operator(platform_token) | {"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    from helpers import wait_for

    after = wait_for(
        lambda: client.get(f"{SITES}/{site['id']}", headers=partner.headers).json(),
        lambda s: s["defaultCallInNumber"] is not None,
    )
    assert (after["source"], after["defaultCallInNumber"]["number"]) == ("orgCountry", "+6493001234")
    assert "warning" not in after


def test_sites_tenancy(client, make_partner, telephony, platform_token, db):
    """Readable by the customer's partner (and its parent acting on behalf), its customer admins and operators; 404 otherwise."""
    telephony()
    parent = make_partner()
    sub = make_partner(parent=parent.org_id)
    other = make_partner()
    customer = create_customer(client, sub, "US")
    site = site_of(client, sub.headers, customer["orgId"])
    url = f"{SITES}/{site['id']}"
    assert client.get(url, headers=_operator(platform_token)).json() == site
    assert client.get(url, headers=_customer_admin(db, customer["orgId"])).json() == site
    assert client.get(url, params={"onBehalfOfSubPartnerOrgId": sub.org_id}, headers=parent.headers).json() == site
    assert_error_body(client.get(url, headers=parent.headers), 404)  # the parent must say on whose behalf
    assert_error_body(client.get(url, headers=other.headers), 404)
    assert_error_body(client.get(url, params={"onBehalfOfSubPartnerOrgId": sub.org_id}, headers=other.headers), 404)
    assert_error_body(client.get(url, headers={"Authorization": f"Bearer {platform_token('reviewer')}"}), 404)
    someone_else = create_customer(client, other, "US")
    assert_error_body(client.get(url, headers=_customer_admin(db, someone_else["orgId"])), 404)
    assert client.get(SITES, params={"orgId": customer["orgId"]}, headers=other.headers).json() == {"items": []}
    assert client.get(
        SITES, params={"orgId": customer["orgId"]}, headers=_customer_admin(db, customer["orgId"])
    ).json() == {"items": [site]}
    assert_error_body(client.get(url), 401)


def test_preview_is_the_same_rule_the_sites_get(db, telephony):
    """Portal hook: the create-customer form shows location, number, source and warning for a country."""
    from wholesale.dialin.service import preview
    from wholesale.kit.errors import BadRequest

    telephony()
    with db.session(write=False) as s:
        assert preview(s, "nz", True) == {
            "location": "ANZ",
            "number": {
                "number": "+61280735099",
                "countryCode": "+61",
                "label": "Australia Toll (Sydney)",
                "tollType": "toll",
            },
            "source": "locationDefault",
            "warning": None,
        }
        assert preview(s, "FR", True)["source"] == "orgCountry"
        assert preview(s, "FR", False) == {"location": "EURO", "number": None, "source": "none", "warning": None}
        assert preview(s, "BR", True)["source"] == "locationDefault"  # BR absent here -> AMER default US
        with pytest.raises(BadRequest):
            preview(s, "XX", True)
    telephony("country,number,label,tollType,available\nUS,+14085550142,US Toll,toll,true\n")
    with db.session(write=False) as s:
        empty = preview(s, "NZ", True)
        assert empty["number"] is None and empty["source"] == "none" and "AU" in empty["warning"]
