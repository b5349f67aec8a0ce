"""Portal forms in a real browser (Debian's chromium via Playwright, issue 14 finding 3): every mistake of a submit
shown at once in plain words, a summary whose links take the keyboard to each field, what was typed kept, at phone
and laptop width; and a session that ends while the form is filled in (the live preview included) keeps the form."""

import re

from playwright.sync_api import expect

from browsing import BROWSER, create_customer, shoot, sign_in

pytestmark = BROWSER

API_WORDS = re.compile(
    r"customerInfo|primaryEmail|provisioningParameters|provisioningId|externalId|addressLine|ISO-3166|IANA|\bR\d{1,2}\b"
)


def three_mistakes(page) -> None:
    """Fill the new-customer form as a person in a hurry: a typo in the email, no country chosen, and an external id
    already in use; send it and wait for the answer."""
    page.locator("#f-name").fill("Dupont & Fils")
    page.get_by_label("Primary admin email").fill("contact.dupont.example")
    page.get_by_label("External id").fill("forms-taken")
    page.get_by_label("Address line 1").fill("1 Rue de la Paix")
    page.get_by_label("City").fill("Paris")
    page.get_by_role("button", name="Create customer").click()
    page.locator("[data-error-summary]").wait_for()


def test_three_mistakes_show_at_once_and_the_summary_takes_the_keyboard_to_each_field(server, browser):
    base, printed = server
    page = browser.new_page()
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")
    create_customer(
        page,
        base,
        name="Dupont Existant",
        country="FR",
        city="Lyon",
        external_id="forms-taken",
        email="a@dupont.example",
    )
    page.wait_for_url(re.compile(r".*\?created=1"))

    # At 390 px and at 1366 px: sent with three mistakes, the page fits its width (screenshots in var/screenshots/).
    assert shoot(page, base, "/portal/customers/new", "partner-new-customer-errors", then=three_mistakes) == []

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()  # read first, and the keyboard starts there
    assert summary.get_by_role("link").all_inner_texts() == [
        "Enter an email address like name@example.com.",
        "You already have a customer with this external id: each customer needs its own.",
        "Choose a country.",
    ]
    assert page.locator(".field-error").count() == 3
    assert not API_WORDS.search(page.locator("main").inner_text())
    for field in ("email", "external_id", "country"):
        summary.locator(f'a[href="#f-{field}"]').click()
        expect(page.locator(f"#f-{field}")).to_be_focused()
        expect(page.locator(f"#e-{field}")).to_be_in_viewport()  # the error is seen with its field
    # Everything typed is still there.
    assert page.locator("#f-name").input_value() == "Dupont & Fils"
    assert page.get_by_label("Primary admin email").input_value() == "contact.dupont.example"
    assert page.get_by_label("City").input_value() == "Paris"
    assert page.locator("input[name=packages][value=webex_meetings]").is_checked()  # ticked by default, still

    # Put right, it goes through.
    page.get_by_label("Primary admin email").fill("contact@dupont.example")
    page.get_by_label("External id").fill("forms-new")
    page.locator("#f-country").select_option("FR")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(re.compile(r".*/portal/customers/.+\?created=1"))


def _fill_then_sign_out_in_another_tab(page, context, server, *, name: str, email: str, external_id: str, line1: str):
    """Sign in, fill the new-customer form (Paris, no country yet), then end the session by signing out in a second
    tab of the same browser; return that tab."""
    base, printed = server
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")
    page.goto(f"{base}/portal/customers/new")
    page.locator("#f-name").fill(name)
    page.get_by_label("Primary admin email").fill(email)
    page.get_by_label("External id").fill(external_id)
    page.get_by_label("Address line 1").fill(line1)
    page.get_by_label("City").fill("Paris")
    other = context.new_page()
    other.goto(f"{base}/portal/customers")
    other.get_by_role("button", name="Sign out").click()
    other.wait_for_url(f"{base}/portal/signin")
    return other


def test_a_sign_out_elsewhere_during_the_preview_keeps_the_page_but_nothing_after(server, browser):
    base, printed = server
    context = browser.new_context()
    page = context.new_page()
    other = _fill_then_sign_out_in_another_tab(
        page,
        context,
        server,
        name="Boulangerie Tardive",
        email="pain@tardive.example",
        external_id="forms-late",
        line1="3 Quai des Orfèvres",
    )
    other.close()

    # The live preview says so in place: the page stays, and so does what was typed.
    page.locator("#f-country").select_option("FR")
    page.get_by_test_id("preview-signed-out").wait_for()
    assert page.url == f"{base}/portal/customers/new"
    assert page.locator("#f-name").input_value() == "Boulangerie Tardive"

    # Sending it asks for a sign-in; the user signed out, so nothing typed was kept in this browser (a session
    # that ran out keeps it: tests/portal/test_portal_forms.py), and the form opens empty for whoever signs in.
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(re.compile(r".*/portal/signin\?next=%2Fportal%2Fcustomers%2Fnew$"))
    assert page.get_by_test_id("signin-kept").count() == 0
    page.get_by_label("Email").fill(printed["portal partner admin"])
    page.get_by_label("Password").fill(printed["portal partner admin password"])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/portal/customers/new")
    assert page.get_by_test_id("kept-notice").count() == 0
    assert page.locator("#f-name").input_value() == ""
    context.close()


def test_signing_in_again_in_another_tab_lets_the_kept_form_be_sent(server, browser):
    base, printed = server
    context = browser.new_context()
    page = context.new_page()
    other = _fill_then_sign_out_in_another_tab(
        page,
        context,
        server,
        name="Fromagerie Patiente",
        email="brie@patiente.example",
        external_id="forms-patient",
        line1="8 Rue Mouffetard",
    )
    page.locator("#f-country").select_option("BE")
    page.get_by_test_id("preview-signed-out").wait_for()

    # As the preview suggests: sign in again in another tab (a new session and a new security token) ...
    sign_in(other, base, printed, "partner admin")
    other.wait_for_url(f"{base}/portal/customers")
    other.close()
    # ... pick the country again: the preview is back, and brings the form the new token, so it can be sent as it is.
    page.locator("#f-country").select_option("FR")
    page.get_by_test_id("preview-location").wait_for()
    assert page.locator("#f-name").input_value() == "Fromagerie Patiente"
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(re.compile(r".*/portal/customers/.+\?created=1"))
    context.close()


def test_the_template_team_and_billing_forms_show_their_errors_within_a_phone_width(server, browser):
    base, printed = server
    page = browser.new_page()
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")

    def bad_template(page) -> None:
        page.get_by_label("Language").fill("klingon_qo")
        page.get_by_label("Meetings time zone").fill("Mars/Olympus")
        page.get_by_role("button", name="Save").click()
        page.locator("[data-error-summary]").wait_for()

    def bad_colleague(page) -> None:
        page.locator("#f-email").fill("colleague.example")
        page.get_by_role("button", name="Create account").click()
        page.locator("[data-error-summary]").wait_for()

    def bad_days(page) -> None:
        page.get_by_label("First day").fill("2026-02-10")
        page.get_by_label("Last day").fill("2026-02-01")
        page.get_by_role("button", name="Create report").click()
        page.locator("[data-error-summary]").wait_for()

    too_wide = shoot(page, base, "/portal/templates/new", "partner-template-errors", then=bad_template)
    assert page.locator(".field-error").count() == 3  # name, language and time zone at once
    assert page.get_by_label("Meetings time zone").input_value() == "Mars/Olympus"
    too_wide += shoot(page, base, "/portal/team", "partner-team-errors", then=bad_colleague)
    assert page.locator("#e-email").inner_text() == "Enter an email address like name@example.com."
    too_wide += shoot(page, base, "/portal/billing", "partner-billing-errors", then=bad_days)
    assert page.locator("#e-start").inner_text() == "The first day must be on or before the last day."
    assert page.get_by_label("First day").input_value() == "2026-02-10"
    assert too_wide == []
    assert not API_WORDS.search(page.locator("main").inner_text())
