"""Portal forms (issue 14, finding 3): every problem of a submit at once, each next to its field in plain words (no
API field paths, no requirement codes), a summary linking to them, what was typed kept (text, selects, checkboxes,
the sub-partner acted for), escaped; and a session that ends while a form is filled in keeps the form."""

import html
import re
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from helpers import CSRF, customer_body
from helpers import portal_sign_in as sign_in

FIELD_ERROR = re.compile(r'<p class="field-error" id="e-([\w-]+)">([^<]*)</p>')
SUMMARY_LINK = re.compile(r'<a href="#f-([\w-]+)">([^<]*)</a>')
# What must never reach a page: the API's field paths and the rules' numbers.
API_WORDS = re.compile(
    r"customerInfo|primaryEmail|provisioningParameters|provisioningId|externalId|stateOrProvince|addressLine"
    r"|billingStartDate|billingEndDate|meetingsTimezone|allowedPackages|ISO-3166|IANA|\bR\d{1,2}\b"
)
IDLE = 31 * 60  # past the portal's 30 idle minutes


def field_errors(page: str) -> dict[str, str]:
    """{form field: its error} as the page shows them next to the fields."""
    return {field: html.unescape(message) for field, message in FIELD_ERROR.findall(page)}


def summary(page: str) -> dict[str, str]:
    """{form field: message} as the error summary at the top links them."""
    block = page[page.index("data-error-summary") : page.index("</div>", page.index("data-error-summary"))]
    return {field: html.unescape(message) for field, message in SUMMARY_LINK.findall(block)}


def plain(page: str) -> None:
    """The page speaks plain words: no API field path, no requirement code."""
    found = API_WORDS.findall(page)
    assert not found, found


def customer_form(template_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid new-customer form (France, meetings only)."""
    return {
        "name": "Boulangerie Formulaire",
        "email": "admin@formulaire.example",
        "external_id": "formulaire-1",
        "template": template_id,
        "address_line1": "5 Rue de Rivoli",
        "city": "Paris",
        "zip": "75001",
        "country": "FR",
        "packages": ["webex_meetings"],
    } | overrides


def existing_customer(client, partner) -> str:
    """Create a customer through the API; return its externalId."""
    body = customer_body(partner.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    assert client.post("/v1/wholesale/customers", json=body, headers=partner.headers).status_code == 202
    return body["externalId"]


def test_a_customer_form_with_three_mistakes_shows_all_three_at_once_next_to_their_fields(web, client, partner):
    taken = existing_customer(client, partner)
    csrf = sign_in(web, partner.token)
    form = customer_form(partner.template_id, email="not-an-email", country="ZZ", external_id=taken)
    response = web.post("/portal/customers/new", data=form | {"csrf": csrf})
    assert response.status_code == 400
    page = response.text
    assert field_errors(page) == {
        "email": "Enter an email address like name@example.com.",
        "external_id": "You already have a customer with this external id: each customer needs its own.",
        "country": "Choose a country from the list.",
    }
    assert summary(page) == field_errors(page)  # the summary lists the same, in the form's order, linking each
    assert list(summary(page)) == ["email", "external_id", "country"]
    assert 'role="alert"' in page and "Fix these 3 problems" in page and "<title>Error: New customer" in page
    for field in ("email", "external_id", "country"):  # each error is read with its field
        assert re.search(rf'id="f-{field}"[^>]*aria-describedby="[^"]*e-{field}"[^>]*aria-invalid="true"', page, re.S)
    plain(page)
    # What was typed is all still there.
    assert 'value="Boulangerie Formulaire"' in page and 'value="not-an-email"' in page and f'value="{taken}"' in page
    assert 'value="5 Rue de Rivoli"' in page and 'value="75001"' in page
    assert re.search(r'value="webex_meetings" id="f-packages[-\d]*"\s+checked', page)
    assert re.search(rf'<option value="{partner.template_id}" selected>', page)
    # Nothing was created.
    listing = client.get("/v1/wholesale/customers", headers=partner.headers, params={"externalId": taken}).json()
    assert len(listing["items"]) == 1


def test_address_calling_and_length_mistakes_are_all_worded_for_people(web, partner):
    csrf = sign_in(web, partner.token)
    form = customer_form(
        partner.template_id,
        address_line1="x" * 51,
        city="",
        country="US",
        packages=["webex_calling", "webex_meetings"],
        location_name="Head office",
        location_timezone="",
    )
    response = web.post("/portal/customers/new", data=form | {"csrf": csrf})
    assert response.status_code == 400
    assert field_errors(response.text) == {
        "address_line1": "Use at most 50 characters (this has 51).",
        "city": "City is required.",
        "state": "Enter the state or province: addresses in United States need one.",
        "location_timezone": "Choose a time zone.",
    }
    plain(response.text)
    assert re.search(r'<option value="US" selected>', response.text)  # the country select keeps its choice
    for package in ("webex_calling", "webex_meetings"):
        assert re.search(rf'value="{package}" id="f-packages[-\d]*"\s+checked', response.text)
    assert 'value="Head office"' in response.text and "Webex Calling" in response.text  # packages by their names
    # A calling package without a location says what to do, and an add-on names its base packages.
    again = web.post(
        "/portal/customers/new",
        data=customer_form(partner.template_id, packages=["webex_calling", "cisco_calling_plan"]) | {"csrf": csrf},
    )
    assert field_errors(again.text) == {
        "location_name": "Enter a location name: Webex Calling needs a calling location."
    }
    addon = web.post(
        "/portal/customers/new",
        data=customer_form(partner.template_id, packages=["attendant_console"]) | {"csrf": csrf},
    )
    assert field_errors(addon.text)["packages"].startswith("Attendant Console is an add-on: also tick ")
    plain(again.text + addon.text)


def test_what_was_typed_comes_back_escaped(web, partner):
    csrf = sign_in(web, partner.token)
    attack = '<script>alert("x")</script>'
    form = customer_form(
        partner.template_id, name=attack, city=attack, email=attack, external_id="", address_line2=attack
    )
    response = web.post("/portal/customers/new", data=form | {"csrf": csrf})
    assert response.status_code == 400
    assert "<script>alert" not in response.text
    assert response.text.count('value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"') == 4
    assert set(field_errors(response.text)) == {"email", "external_id"}


def test_a_template_form_shows_every_problem_at_once_and_keeps_its_ticks(web, partner):
    csrf = sign_in(web, partner.token)
    form = {
        "csrf": csrf,
        "name": "",
        "language": "xx_yy",
        "meetings_timezone": "Mars/Olympus",
        "allowed_packages": ["webex_meetings", "webex_calling"],
    }  # provider PSTN left unticked
    response = web.post("/portal/templates/new", data=form)
    assert response.status_code == 400
    assert field_errors(response.text) == {
        "name": "Name is required.",
        "language": "Enter a language code like en or en_us (language, then country).",
        "meetings_timezone": "Choose a time zone from the list, like Europe/Paris.",
    }
    assert list(summary(response.text)) == ["name", "language", "meetings_timezone"]
    plain(response.text)
    assert 'value="xx_yy"' in response.text and 'value="Mars/Olympus"' in response.text
    assert re.search(r'value="webex_calling" id="f-allowed_packages[-\d]*"\s+checked', response.text)
    assert not re.search(r'value="webex_suite" id="f-allowed_packages[-\d]*"\s+checked', response.text)
    assert not re.search(r'id="f-pstn_enabled"\s+checked', response.text)
    too_long = web.post("/portal/templates/new", data=form | {"name": "n" * 201, "language": "en_us"})
    assert field_errors(too_long.text) == {
        "name": "Use at most 200 characters.",
        "meetings_timezone": "Choose a time zone from the list, like Europe/Paris.",
    }
    assert ">Mars/Olympus<" not in web.get("/portal/templates").text  # nothing was saved


def test_the_team_form_words_its_errors_and_keeps_the_email(web, partner):
    csrf = sign_in(web, partner.token)
    bad = web.post("/portal/team", data={"csrf": csrf, "email": "not-an-email"})
    assert bad.status_code == 400
    assert field_errors(bad.text) == {"email": "Enter an email address like name@example.com."}
    assert summary(bad.text) == field_errors(bad.text) and 'value="not-an-email"' in bad.text
    empty = web.post("/portal/team", data={"csrf": csrf, "email": ""})
    assert field_errors(empty.text) == {"email": "Enter the person's email address, like name@example.com."}
    plain(bad.text + empty.text)


def test_the_billing_form_shows_both_days_problems_and_keeps_the_choices(web, partner, fixed_clock):
    csrf = sign_in(web, partner.token)
    form = {"csrf": csrf, "start": "2026-13-45", "end": "yesterday", "type": "USER", "category": "POINT_IN_TIME"}
    response = web.post("/portal/billing", data=form)
    assert response.status_code == 400
    assert field_errors(response.text) == {
        "start": "Enter a day like 2026-11-30.",
        "end": "Enter a day like 2026-11-30.",
    }
    assert list(summary(response.text)) == ["start", "end"]
    assert 'value="2026-13-45"' in response.text and 'value="yesterday"' in response.text
    assert (
        '<option value="USER" selected>' in response.text and '<option value="POINT_IN_TIME" selected>' in response.text
    )
    today = fixed_clock.now().date().isoformat()
    late = web.post("/portal/billing", data=form | {"start": today, "end": today})
    assert field_errors(late.text) == {
        "end": "The last day must be before today: a day is reported once it is over (days are UTC)."
    }
    plain(response.text + late.text)


def test_a_form_sent_after_the_session_ended_comes_back_after_sign_in(web, partner, fixed_clock):
    from wholesale.portal import drafts

    csrf = sign_in(web, partner.token)
    form = customer_form(
        partner.template_id,
        name="Après la pause",
        email=f"pause-{uuid.uuid4().hex[:8]}@formulaire.example",
        packages=["webex_meetings", "webex_calling"],
        location_name="HQ",
    )
    fixed_clock.advance(IDLE)  # the coffee was long
    sent = web.post("/portal/customers/new", data=form | {"csrf": csrf})
    assert sent.status_code == 303
    target = urlsplit(sent.headers["location"])
    assert target.path == "/portal/signin" and parse_qs(target.query) == {
        "next": ["/portal/customers/new"],
        "kept": ["1"],
    }
    cookie = next(c for c in sent.headers.get_list("set-cookie") if c.startswith(f"{drafts.DRAFT_COOKIE}="))
    assert "HttpOnly" in cookie and "Path=/portal/customers/new" in cookie and "Max-Age=900" in cookie
    draft = drafts.unseal(web.cookies.get(drafts.DRAFT_COOKIE))
    assert draft is not None and ("name", "Après la pause") in draft.fields
    assert all(name != "csrf" for name, _ in draft.fields)  # never the token (nor a password)
    assert "Après" not in sent.headers["location"]  # nothing typed goes into a URL
    signin = web.get(sent.headers["location"])
    assert 'data-testid="signin-kept"' in signin.text and 'name="next" value="/portal/customers/new"' in signin.text
    back = web.post(
        "/portal/signin",
        data={"csrf": CSRF.search(signin.text).group(1), "token": partner.token, "next": "/portal/customers/new"},
    )
    assert back.status_code == 303 and back.headers["location"] == "/portal/customers/new"
    page = web.get("/portal/customers/new")
    assert page.status_code == 200 and 'data-testid="kept-notice"' in page.text
    assert (
        'value="Après la pause"' in page.text and 'value="HQ"' in page.text and 'value="5 Rue de Rivoli"' in page.text
    )
    assert re.search(r'<option value="FR" selected>', page.text)
    assert re.search(r'value="webex_calling" id="f-packages[-\d]*"\s+checked', page.text)
    assert drafts.DRAFT_COOKIE not in web.cookies  # shown once, then forgotten
    assert 'value="Après la pause"' not in web.get("/portal/customers/new").text
    # Sent again from the page that came back, it goes through.
    created = web.post(
        "/portal/customers/new",
        data=form | {"csrf": CSRF.search(page.text).group(1), "location_timezone": "Europe/Paris"},
    )
    assert created.status_code == 303 and "created=1" in created.headers["location"]


def test_a_kept_form_comes_back_for_the_sub_partner_it_was_filled_for(web, make_partner, fixed_clock):
    from wholesale.portal import drafts

    parent = make_partner()
    sub = make_partner(parent=parent.org_id)
    csrf = sign_in(web, parent.token)
    assert web.post("/portal/acting", data={"csrf": csrf, "org_id": sub.org_id}).status_code == 303
    assert "New customer for " in web.get("/portal/customers/new").text
    fixed_clock.advance(IDLE)
    sent = web.post("/portal/customers/new", data=customer_form(sub.template_id) | {"csrf": csrf})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/portal/signin?")
    sign_in(web, parent.token)  # sign-in starts as the partner itself
    assert "wholesale_acting" not in web.cookies
    restored = web.get("/portal/customers/new")
    assert restored.status_code == 303 and restored.headers["location"] == "/portal/customers/new"
    assert web.cookies.get("wholesale_acting") == sub.org_id
    page = web.get("/portal/customers/new").text
    assert "New customer for " in page and f'<option value="{sub.template_id}" selected>' in page
    assert 'value="Boulangerie Formulaire"' in page and drafts.DRAFT_COOKIE not in web.cookies


def test_a_form_from_before_the_last_sign_in_is_refused_but_kept(web, partner):
    old = sign_in(web, partner.token)
    sign_in(web, partner.token)  # signed in again (another tab): the security token changed
    form = customer_form(partner.template_id, name="Onglet oublié")
    refused = web.post("/portal/customers/new", data=form | {"csrf": old})
    assert refused.status_code == 403 and "security token" in refused.text and "nothing was saved" in refused.text
    assert 'href="/portal/customers/new"' in refused.text
    page = web.get("/portal/customers/new").text
    assert 'value="Onglet oublié"' in page and "opened before your last sign-in" in page
    # A post with no token at all is refused as before, and keeps nothing.
    assert web.post("/portal/customers/new", data=form).status_code == 403
    assert 'value="Onglet oublié"' not in web.get("/portal/customers/new").text


def test_the_live_preview_on_an_ended_session_answers_a_fragment_in_place(web, partner, fixed_clock):
    sign_in(web, partner.token)
    hx = {"HX-Request": "true"}
    fresh = web.get("/portal/customers/preview", params={"country": "FR", "template": partner.template_id}, headers=hx)
    assert fresh.status_code == 200 and 'id="form-csrf" hx-swap-oob="true"' in fresh.text  # a token for the form
    fixed_clock.advance(IDLE)
    ended = web.get("/portal/customers/preview", params={"country": "FR", "template": partner.template_id}, headers=hx)
    assert ended.status_code == 200 and "hx-redirect" not in ended.headers
    assert "<html" not in ended.text and 'data-testid="preview-signed-out"' in ended.text
    assert "What you typed stays on this page" in ended.text and 'target="_blank"' in ended.text
    assert 'name="password"' not in ended.text  # not the sign-in page
    # The billing list that refreshes itself stops in place too, rather than leave the page.
    billing = web.get("/portal/billing", headers=hx)
    assert billing.status_code == 200 and "hx-redirect" not in billing.headers
    assert 'id="reports"' in billing.text and "hx-trigger" not in billing.text and "<html" not in billing.text
    # A full page still goes to sign-in, and comes back to where it was.
    assert web.get("/portal/customers/new").headers["location"] == "/portal/signin?next=%2Fportal%2Fcustomers%2Fnew"


def test_kept_drafts_are_signed_and_run_out(fixed_clock):
    from wholesale.portal import drafts

    sealed = drafts.seal(drafts.Draft("/portal/team", [("email", "a@b.example")], drafts.EXPIRED, ""))
    assert sealed is not None and drafts.unseal(sealed) == drafts.Draft(
        "/portal/team", [("email", "a@b.example")], drafts.EXPIRED, ""
    )
    data, _, signature = sealed.partition(".")
    assert drafts.unseal(f"{data}x.{signature}") is None and drafts.unseal(f"{data}.{'0' * 64}") is None
    assert drafts.unseal("garbage") is None and drafts.unseal(None) is None
    fixed_clock.advance(drafts.DRAFT_MINUTES * 60 + 1)
    assert drafts.unseal(sealed) is None
    huge = drafts.Draft("/portal/team", [(f"f{i}", secrets.token_hex(100)) for i in range(40)], drafts.EXPIRED, "")
    assert drafts.seal(huge) is None  # more than a cookie holds: not kept (the form still comes back, empty)


def test_a_kept_form_comes_back_only_to_the_account_that_filled_it(web, partner, fixed_clock):
    """Someone else signing in on the same browser within the 15 minutes does not see what was typed."""
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token
    from wholesale.portal import drafts

    with get_database().transaction() as session:
        colleague = create_token(session, org_id=partner.org_id, role=Role.PARTNER_ADMIN)
    csrf = sign_in(web, partner.token)
    fixed_clock.advance(IDLE)
    form = customer_form(partner.template_id, name="Pas pour les autres")
    assert web.post("/portal/customers/new", data=form | {"csrf": csrf}).status_code == 303
    assert drafts.unseal(web.cookies.get(drafts.DRAFT_COOKIE)) is not None
    sign_in(web, colleague)
    page = web.get("/portal/customers/new")
    assert page.status_code == 200 and "Pas pour les autres" not in page.text
    assert drafts.DRAFT_COOKIE not in web.cookies  # and it is gone
    # A form sent with no session the server knows keeps nothing.
    web.cookies.clear()
    stray = web.post("/portal/customers/new", data=form | {"csrf": "x"})
    assert drafts.DRAFT_COOKIE not in web.cookies and stray.status_code in (303, 403)
