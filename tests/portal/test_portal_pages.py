"""Portal pages through the ASGI client: sign-in, CSRF, tenancy, roles, forms with the API's own validation."""

import re
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from dialin_support import TEST_DOMAIN_CSV
from helpers import CSRF, csrf_of, customer_body, wait_for
from helpers import portal_sign_in as sign_in


@pytest.fixture
def telephony(db):
    """Load the dial-in tests' domain; put the previous one back afterwards."""
    from wholesale.dialin import service
    from wholesale.dialin.telephony import parse_telephony_csv

    with db.session(write=False) as s:
        saved = service.current_numbers(s)
    with db.transaction() as s:
        service.replace_numbers(s, parse_telephony_csv(TEST_DOMAIN_CSV))
    yield
    with db.transaction() as s:
        service.replace_numbers(s, saved)


def errors_in(html: str) -> list[str]:
    """The field error texts on a page."""
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


def create_form(template_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid create-customer form for France with meetings only."""
    form = {
        "name": "Boulangerie Portal",
        "email": f"admin-{re.sub('[^a-z0-9]', '', str(id(overrides)))}@boulangerie.example",
        "external_id": f"portal-{id(overrides)}",
        "address_line1": "5 Rue de Rivoli",
        "city": "Paris",
        "zip": "75001",
        "country": "FR",
        "packages": ["webex_meetings"],
        "template": template_id,
    }
    return form | overrides


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it(web, partner):
    page = web.get("/portal/signin")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<label for="token">' in page.text
    csrf = CSRF.search(page.text).group(1)
    response = web.post("/portal/signin", data={"csrf": csrf, "token": partner.token})
    assert response.status_code == 303 and response.headers["location"] == "/portal"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("wholesale_portal="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/portal" in cookie
    assert web.get("/portal").headers["location"] == "/portal/customers"
    assert web.get("/portal/customers").status_code == 200
    csrf = csrf_of(web)
    out = web.post("/portal/signout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/portal/signin"
    assert web.get("/portal/customers").headers["location"] == "/portal/signin?next=%2Fportal%2Fcustomers"


def test_portal_pages_carry_security_headers(web, partner):
    """Issue 16, probe 9: no CSP, no framing protection, no nosniff, no referrer policy on portal pages."""
    for response in (web.get("/portal/signin"), web.get("/portal/customers"), web.get("/portal/static/portal.css")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_a_bad_token_is_refused_on_the_sign_in_page(web):
    csrf = csrf_of(web)
    response = web.post("/portal/signin", data={"csrf": csrf, "token": "not-a-token"})
    assert response.status_code == 401
    assert errors_in(response.text) == ["The access token is invalid or revoked."]
    assert "wholesale_portal=" not in (response.headers.get("set-cookie") or "")


def test_pages_need_a_session(web):
    for path in (
        "/portal/customers",
        "/portal/customers/new",
        "/portal/templates",
        "/portal/review",
        "/portal/review/stats",
    ):
        response = web.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/portal/signin?{urlencode({'next': path})}", path  # back after


def test_form_posts_without_the_csrf_token_are_refused(web, partner, db):
    from wholesale.customers.models import Customer

    refused = web.post("/portal/signin", data={"token": partner.token})
    assert refused.status_code == 403 and "security token" in refused.text and "<html" in refused.text
    csrf = sign_in(web, partner.token)
    form = create_form(partner.template_id, external_id="csrf-refused")
    for sent in ({}, {"csrf": "forged"}):
        response = web.post("/portal/customers/new", data=form | sent)
        assert response.status_code == 403, response.text
    with db.session(write=False) as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Customer).where(Customer.external_id == "csrf-refused"))
            == 0
        )
    # A cross-site page cannot read our cookie, so it cannot send a matching token; a new jar gets a new token.
    assert web.post("/portal/signout", data={"csrf": csrf + "x"}).status_code == 403
    assert web.post("/portal/signout", data={"csrf": csrf}).status_code == 303


def test_create_customer_shows_the_preview_and_lands_on_the_detail_page(web, partner, telephony):
    csrf = sign_in(web, partner.token)
    form_page = web.get("/portal/customers/new")
    assert (
        form_page.status_code == 200
        and 'name="country"' in form_page.text
        and 'value="webex_meetings"' in form_page.text
    )
    preview = web.get(
        "/portal/customers/preview",
        params={"country": "FR", "template": partner.template_id},
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200 and "<html" not in preview.text
    assert "EURO" in preview.text and "+33170918646" in preview.text
    nz = web.get("/portal/customers/preview", params={"country": "NZ", "template": partner.template_id}).text
    assert "ANZ" in nz and "+61280735099" in nz and "default country" in nz
    # Without JavaScript the form itself refills and shows the same preview.
    assert "+33170918646" in web.get("/portal/customers/new", params={"country": "FR"}).text
    response = web.post(
        "/portal/customers/new",
        data=create_form(partner.template_id, external_id="portal-ok", email="ok@portal.example") | {"csrf": csrf},
    )
    assert response.status_code == 303, response.text
    detail_url = response.headers["location"]
    detail = wait_for(lambda: web.get(detail_url).text, lambda html: "badge-provisioned" in html, timeout=30)
    assert "Boulangerie Portal" in detail and 'data-testid="org-country">FR<' in detail and "+33170918646" in detail
    listing = web.get("/portal/customers").text
    assert "portal-ok" in listing and "Boulangerie Portal" in listing


def test_create_errors_come_from_the_api_rules_and_sit_next_to_their_fields(web, partner):
    csrf = sign_in(web, partner.token)
    uk = web.post("/portal/customers/new", data=create_form(partner.template_id, country="UK") | {"csrf": csrf})
    assert uk.status_code == 400
    assert any("use 'GB'" in e.replace("&#39;", "'") for e in errors_in(uk.text))
    assert 'id="e-country"' in uk.text and 'value="Boulangerie Portal"' in uk.text  # the form keeps what was typed
    email = web.post(
        "/portal/customers/new", data=create_form(partner.template_id, email="not-an-email") | {"csrf": csrf}
    )
    assert email.status_code == 400 and 'id="e-email"' in email.text
    dependency = web.post(
        "/portal/customers/new", data=create_form(partner.template_id, packages=["cisco_calling_plan"]) | {"csrf": csrf}
    )
    assert dependency.status_code == 400 and 'id="e-packages"' in dependency.text


def test_another_partners_customer_is_a_404_page(web, client, make_partner):
    owner, other = make_partner(), make_partner()
    body = customer_body(owner.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    created = client.post("/v1/wholesale/customers", json=body, headers=owner.headers)
    assert created.status_code == 202
    customer_id = created.json()["url"].rsplit("/", 1)[1]
    sign_in(web, other.token)
    response = web.get(f"/portal/customers/{customer_id}")
    assert response.status_code == 404 and "Not found" in response.text and "<html" in response.text
    assert body["externalId"] not in web.get("/portal/customers").text
    assert web.get(f"/portal/templates/{owner.template_id}").status_code == 404
    assert web.get("/portal/no/such/page").status_code == 404


def test_reviewer_pages_refuse_partner_tokens_and_partner_pages_refuse_reviewers(web, partner, platform_token):
    sign_in(web, partner.token)
    for path in ("/portal/review", "/portal/review/stats", "/portal/review/cases/anything"):
        response = web.get(path)
        assert response.status_code == 403 and "Not allowed" in response.text, path
    web.cookies.clear()
    sign_in(web, platform_token("reviewer"))
    assert web.get("/portal").headers["location"] == "/portal/review"
    assert web.get("/portal/customers").status_code == 403
    assert web.get("/portal/review/stats").status_code == 200


def test_templates_are_created_edited_and_deleted(web, partner):
    csrf = sign_in(web, partner.token)
    bad = web.post(
        "/portal/templates/new", data={"csrf": csrf, "name": "Bad zone", "meetings_timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 400 and errors_in(bad.text)
    made = web.post(
        "/portal/templates/new",
        data={"csrf": csrf, "name": "Quiet", "language": "fr_fr", "meetings_timezone": "Europe/Paris"},
    )
    assert made.status_code == 303
    listing = web.get("/portal/templates").text
    template_id = re.search(r'href="/portal/templates/([^"]+)">Quiet<', listing).group(1)
    assert web.get(f"/portal/templates/{template_id}").status_code == 200
    edited = web.post(
        f"/portal/templates/{template_id}",
        data={"csrf": csrf, "name": "Quiet", "language": "fr_fr", "allowed_packages": ["webex_meetings"]},
    )
    assert edited.status_code == 303
    assert "no provider PSTN" in web.get("/portal/customers/new").text  # pstn_enabled unticked
    # The seeded template is in use once a customer names it; deleting it is refused with the API's message.
    csrf_form = create_form(partner.template_id, external_id="tpl-in-use", email="tpl@portal.example") | {"csrf": csrf}
    assert web.post("/portal/customers/new", data=csrf_form).status_code == 303
    in_use = web.post(f"/portal/templates/{partner.template_id}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert in_use.status_code == 409 and "cannot be deleted" in in_use.text
    asked = web.post(f"/portal/templates/{template_id}/delete", data={"csrf": csrf})  # a confirmation first
    assert (
        asked.status_code == 200
        and "Delete the template Quiet?" in asked.text
        and ">Quiet<" in web.get("/portal/templates").text
    )
    assert 'name="confirm" value="yes"' in asked.text
    deleted = web.post(f"/portal/templates/{template_id}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert deleted.status_code == 303
    assert ">Quiet<" not in web.get("/portal/templates").text


def test_sub_partner_switcher_acts_for_the_sub_partner(web, client, make_partner):
    parent = make_partner()
    sub = make_partner(parent=parent.org_id)
    body = customer_body(sub.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    created = client.post(
        "/v1/wholesale/customers", json=body, headers=parent.headers, params={"onBehalfOfSubPartnerOrgId": sub.org_id}
    )
    assert created.status_code == 202, created.text
    csrf = sign_in(web, parent.token)
    page = web.get("/portal/customers").text
    assert 'name="org_id"' in page and sub.org_id in page and body["externalId"] not in page
    assert web.post("/portal/acting", data={"csrf": csrf, "org_id": sub.org_id}).status_code == 303
    assert body["externalId"] in web.get("/portal/customers").text
    stranger = make_partner()
    assert web.post("/portal/acting", data={"csrf": csrf, "org_id": stranger.org_id}).status_code == 403
    assert web.post("/portal/acting", data={"csrf": csrf, "org_id": ""}).status_code == 303
    assert body["externalId"] not in web.get("/portal/customers").text


def test_customers_list_filters_by_status_and_pages(web, client, make_partner):
    p = make_partner()
    for _ in range(21):
        body = customer_body(p.template_id, packages=["webex_meetings"])
        body.pop("provisioningParameters")
        assert client.post("/v1/wholesale/customers", json=body, headers=p.headers).status_code == 202
    sign_in(web, p.token)
    first = web.get("/portal/customers").text
    assert first.count("data-external-id=") == 20 and 'rel="next"' in first
    second = web.get("/portal/customers", params={"offset": 20}).text
    assert second.count("data-external-id=") == 1 and 'rel="prev"' in second
    assert "No customers with status" in web.get("/portal/customers", params={"status": "error"}).text
    assert web.get("/portal/customers", params={"status": "bogus"}).status_code == 400


def listed_customer(client, partner, db) -> tuple[str, str]:
    """A customer named as an OFAC SDN entry, created through the API; (its id, the case screening opened)."""
    from wholesale.compliance.models import ComplianceCase

    body = customer_body(partner.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = "Mahan Air"
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}
    created = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)
    customer_id = created.json()["url"].rsplit("/", 1)[1]

    def case_id():
        with db.session(write=False) as s:
            return s.scalars(sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)).first()

    return customer_id, wait_for(case_id, bool, timeout=60)


def test_reviewer_works_a_case_from_the_queue(web, client, partner, platform_token, db):
    customer_id, cid = listed_customer(client, partner, db)
    csrf = sign_in(web, platform_token("reviewer"))
    queue = web.get("/portal/review").text
    assert f'href="/portal/review/cases/{cid}">Mahan Air<' in queue and "within 15-minute target" in queue
    case = web.get(f"/portal/review/cases/{cid}").text
    assert "Tehran" in case and "Matched variant" in case and "opened" in case
    missing_reason = web.post(f"/portal/review/cases/{cid}/decision", data={"csrf": csrf, "decision": "reject"})
    assert missing_reason.status_code == 400 and "reason" in missing_reason.text and "required" in missing_reason.text
    contact = web.post(
        f"/portal/review/cases/{cid}/contact",
        data={"csrf": csrf, "channel": "phone", "outcome": "reached", "note": "spoke to ops"},
    )
    assert contact.status_code == 303
    decided = web.post(
        f"/portal/review/cases/{cid}/decision",
        data={"csrf": csrf, "decision": "approve", "reason": "different airline"},
    )
    assert decided.status_code == 303
    after = web.get(decided.headers["location"]).text
    assert "badge-approved" in after and "spoke to ops" in after and "Decision recorded" in after
    assert "Decided cases" in web.get("/portal/review/stats").text
    # The partner sees the case status, never the hits.
    web.cookies.clear()
    sign_in(web, partner.token)
    detail = web.get(f"/portal/customers/{customer_id}").text
    assert "badge-approved" in detail and "Matched variant" not in detail


@pytest.mark.parametrize(
    ("trusted", "proto", "secure"),
    [("*", "https", True), ("*", "http", False), ("10.0.0.1", "https", False), ("", "https", False)],
)
def test_cookies_are_secure_behind_a_trusted_tls_proxy(database_url, trusted, proto, secure):
    """Issue 16, probe 9: behind a TLS-terminating proxy the app saw http and set cookies without Secure; a
    forwarded proto is believed only from WHOLESALE_FORWARDED_ALLOW_IPS."""
    from fastapi.testclient import TestClient

    from wholesale.app import create_app
    from wholesale.config import Settings

    app = create_app(Settings(forwarded_allow_ips=trusted), workers=False)
    with TestClient(app, follow_redirects=False) as c:  # the client address is "testclient"
        cookie = c.get("/portal/signin", headers={"X-Forwarded-Proto": proto}).headers["set-cookie"]
    assert ("; secure" in cookie.lower()) is secure


def test_cookies_are_secure_when_the_public_origin_is_https(database_url, monkeypatch):
    from fastapi.testclient import TestClient

    from wholesale.app import create_app
    from wholesale.config import Settings, get_settings

    monkeypatch.setenv("WHOLESALE_PUBLIC_BASE_URL", "https://portal.example.net")
    get_settings.cache_clear()
    try:
        with TestClient(create_app(Settings(), workers=False), follow_redirects=False) as c:
            cookie = c.get("/portal/signin").headers["set-cookie"]
    finally:
        monkeypatch.delenv("WHOLESALE_PUBLIC_BASE_URL")
        get_settings.cache_clear()
    assert "; secure" in cookie.lower()


def test_irreversible_review_steps_ask_first_and_channels_come_from_a_list(web, client, partner, platform_token, db):
    """Issue 14, finding 2: the third unreachable attempt deprovisioned the customer with one click, and a reject
    needed none either; the contact channel was free text."""
    _customer_id, cid = listed_customer(client, partner, db)
    reviewer_headers = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    for n in range(2):
        attempt = {"channel": "phone", "outcome": "unreachable", "note": f"no answer {n}"}
        assert (
            client.post(
                f"/v1/compliance/cases/{cid}/contactAttempts", json=attempt, headers=reviewer_headers
            ).status_code
            < 300
        )
    csrf = sign_in(web, platform_token("reviewer"))
    case_page = web.get(f"/portal/review/cases/{cid}").text
    assert '<select id="f-channel" name="channel"' in case_page and '<option value="video call"' in case_page
    free_text = web.post(
        f"/portal/review/cases/{cid}/contact", data={"csrf": csrf, "channel": "pigeon", "outcome": "reached"}
    )
    assert free_text.status_code == 400 and "Choose how you tried to reach the partner" in free_text.text

    def attempts() -> int:
        return client.get(f"/v1/compliance/cases/{cid}", headers=reviewer_headers).json()["unreachableAttempts"]

    form = {"csrf": csrf, "channel": "email", "outcome": "unreachable", "note": "third try"}
    asked = web.post(f"/portal/review/cases/{cid}/contact", data=form)
    assert asked.status_code == 200 and "Deprovision Mahan Air?" in asked.text and "cannot be undone" in asked.text
    assert 'name="note" value="third try"' in asked.text and attempts() == 2  # nothing recorded yet
    reject = web.post(
        f"/portal/review/cases/{cid}/decision", data={"csrf": csrf, "decision": "reject", "reason": "listed"}
    )
    assert reject.status_code == 200 and "Reject Mahan Air?" in reject.text
    assert client.get(f"/v1/compliance/cases/{cid}", headers=reviewer_headers).json()["status"] == "open"
    confirmed = web.post(f"/portal/review/cases/{cid}/contact", data=form | {"confirm": "yes"})
    assert confirmed.status_code == 303 and attempts() == 3


def test_sub_partners_are_chosen_by_name_and_one_without_a_template_is_told_how_to_start(web, partner, db):
    """Issue 14, finding 5: the switcher showed an id tail ("Sub-partner 3OTYwYWZiNTY"), and acting for a sub-partner
    without a template gave an empty template list and a create that failed."""
    from wholesale.partners.service import create_partner

    with db.transaction() as s:
        bare = create_partner(s, name="Zeta Reseller <GmbH>", parent_org_id=partner.org_id).org_id
        named = create_partner(s, name="Alpha Reseller", parent_org_id=partner.org_id).org_id
    csrf = sign_in(web, partner.token)
    page = web.get("/portal/customers").text
    alpha = page.index(f'<option value="{named}" >Alpha Reseller</option>')
    assert alpha < page.index(f'<option value="{bare}" >Zeta Reseller &lt;GmbH&gt;</option>')  # by name, escaped
    assert "Sub-partner " not in page
    assert web.post("/portal/acting", data={"csrf": csrf, "org_id": bare}).status_code == 303
    new = web.get("/portal/customers/new").text
    assert "New customer for Zeta Reseller &lt;GmbH&gt;" in new and "has no customer template yet" in new
    assert 'href="/portal/templates/new"' in new and 'action="/portal/customers/new"' not in new


def test_a_rejected_customer_reads_non_compliant_not_pending(web, client, partner, platform_token, db):
    """Issue 14, finding 1: a rejected (non-compliant) customer still read "a review case is open"."""
    customer_id, cid = listed_customer(client, partner, db)
    sign_in(web, partner.token)
    assert "Under review." in web.get(f"/portal/customers/{customer_id}").text
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    decided = client.post(
        f"/v1/compliance/cases/{cid}/decision", json={"decision": "reject", "reason": "listed"}, headers=reviewer
    )
    assert decided.status_code == 200
    page = web.get(f"/portal/customers/{customer_id}").text
    assert "Not compliant." in page and "confirmed a match" in page and "Under review." not in page
    listed = web.get("/portal/customers").text  # the list says so too, not the API's "pending rpl review"
    row = listed[listed.index(f'href="/portal/customers/{customer_id}"') :].split("</tr>", 1)[0]
    assert "badge-noncompliant" in row and "pending" not in row
