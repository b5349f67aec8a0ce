"""The partner hub's customer pages in a real browser (Debian's chromium via Playwright, a real `wholesale serve`),
signed in with the demo's portal account (issue 14): a new customer's page follows provisioning by itself, its
packages change through the edit form, it is deleted after a confirmation, and the list, a customer's page and its
change form fit a phone and a laptop."""

import re

import httpx

from browsing import BROWSER, LAPTOP, create_customer, shoot, sign_in

pytestmark = BROWSER


def test_partner_creates_watches_changes_and_deletes_a_customer(server, browser):
    base, printed = server
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")

    create_customer(
        page, base, name="Live Bakery", country="FR", city="Paris", external_id="live-1", email="admin@live.example"
    )
    page.wait_for_url(re.compile(r".*/portal/customers/[^/?]+\?created=1$"))
    detail_url = page.url.split("?")[0]
    # From here the page must not load again: its own polling (htmx) brings each new status.
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    heading = page.locator("#customer-live h1")
    heading.locator(".badge-provisioned").wait_for(timeout=60_000)
    assert loads == [], loads
    assert page.get_by_test_id("org-country").inner_text() == "FR"
    meetings = page.locator("li[data-package='webex_meetings']")
    assert (
        "Webex Meetings" in meetings.inner_text() and "1 assigned, no cap" in meetings.inner_text()
    )  # the full admin's
    assert page.get_by_test_id("compliance").is_visible()

    # Change its packages: add Webex Calling with a cap of 25 (calling needs a location: the form asks for it).
    page.get_by_role("link", name="Change packages, caps or address").click()
    page.wait_for_url(f"{detail_url}/edit")
    assert page.locator("#rescreen-notice").is_visible()  # a new address screens the customer again
    page.get_by_role("checkbox", name="Webex Calling", exact=True).check()
    page.locator("#f-limit_webex_calling").fill("many")
    page.get_by_role("button", name="Save changes").click()
    # Both problems at once, next to their fields, with what was typed kept.
    assert page.locator("#e-limit_webex_calling").is_visible() and page.locator("#e-location_name").is_visible()
    assert page.locator("#f-limit_webex_calling").input_value() == "many"
    assert page.get_by_role("checkbox", name="Webex Calling", exact=True).is_checked()
    page.locator("#f-limit_webex_calling").fill("25")
    page.get_by_label("Location name").fill("Paris office")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"{detail_url}?done=updated")
    page.locator("#customer-live h1 .badge-provisioned").wait_for(timeout=60_000)  # updating, then provisioned
    calling = page.locator("li[data-package='webex_calling']")
    assert "0 of 25 assigned, 25 left" in calling.inner_text()
    assert page.locator("li[data-package='webex_calling'] meter").get_attribute("max") == "25"

    # Delete it: a confirmation first, then it reads `deleting` and is gone from the list.
    page.get_by_role("button", name="Delete customer…").click()
    assert page.get_by_role("heading", name="Delete Live Bakery?").is_visible()
    assert page.get_by_role("link", name="Cancel").get_attribute("href") == detail_url.removeprefix(base)
    page.get_by_role("button", name="Delete the customer").click()
    # Its page reads `deleting` and follows the removal by itself; a removal done before the page opened shows
    # the customer's history instead, which says it was removed.
    page.wait_for_url(re.compile(re.escape(detail_url) + r"(\?done=deleted|/history)$"))
    page.get_by_test_id("removed").wait_for(timeout=60_000)
    page.goto(f"{base}/portal/customers?q=live-1")
    assert page.get_by_text("No customers matching “live-1”").is_visible()
    page.close()


def test_customer_pages_fit_a_phone_and_a_laptop(server, browser):
    base, printed = server
    headers = {"Authorization": f"Bearer {printed['partner-admin token']}"}
    body = {
        "provisioningId": printed["customer template (provisioningId)"],
        "packages": ["webex_meetings"],
        "externalId": "a-very-long-external-reference-0123456789-abcdefghijklmnopqrstuvwxyz-and-more",
        "address": {"addressLine1": "1 Rue de Rivoli", "city": "Paris", "country": "FR"},
        "customerInfo": {
            "name": "Établissements Boulangerie-Pâtisserie du Centre Historique",
            "primaryEmail": "ops@boulangerie-centre.example",
        },
        "provisioningParameters": {"packages": {"limits": {"webex_meetings": 40}}},
    }
    created = httpx.post(f"{base}/v1/wholesale/customers", json=body, headers=headers, timeout=30)
    assert created.status_code == 202, created.text
    customer_id = created.json()["url"].rsplit("/", 1)[1]
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")
    page.goto(f"{base}/portal/customers/{customer_id}")
    page.locator("#customer-live h1 .badge-provisioned").wait_for(timeout=60_000)
    too_wide = []
    for name, path in {
        "partner-customers-list": "/portal/customers?sort=name",
        "partner-customers-search": "/portal/customers?q=boulangerie",
        "partner-customers-status": "/portal/customers?status=provisioned&sort=status",
        "partner-customer-detail": f"/portal/customers/{customer_id}",
        "partner-customer-edit": f"/portal/customers/{customer_id}/edit",
    }.items():
        too_wide += shoot(page, base, path, name)
    assert not too_wide, too_wide
    # The search found it; the list shows the total and the export link.
    page.goto(f"{base}/portal/customers?q=boulangerie")
    assert page.get_by_test_id("customer-total").inner_text().startswith("1 customer matching")
    assert (
        page.get_by_role("link", name="Export CSV").get_attribute("href")
        == "/portal/customers/export.csv?q=boulangerie"
    )
    page.close()
