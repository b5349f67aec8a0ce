"""Subscriber management in a real browser (Debian's chromium via Playwright) against a real `wholesale serve`,
signing in with portal accounts (issue 14): add a subscriber and hit the cap; import a CSV of 500 and watch the
progress reach 100 %; as a customer admin fail to downgrade the full administrator (R5); every page at phone and
laptop width without sideways scrolling (screenshots in var/screenshots/)."""

import re
from typing import Any

import httpx

import processes
from browsing import BROWSER, LAPTOP, shoot, sign_in
from helpers import customer_body, wait_for

pytestmark = BROWSER


def provision(base: str, printed: dict[str, str], limits: dict[str, int] | None = None) -> dict[str, Any]:
    """Create a customer over the API (suite, calling, meetings; a US calling location) and wait until provisioned."""
    headers = {"Authorization": f"Bearer {printed['partner-admin token']}"}
    body = customer_body(
        printed["customer template (provisioningId)"], packages=["webex_suite", "webex_calling", "webex_meetings"]
    )
    if limits:
        body["provisioningParameters"]["packages"] = {"limits": limits}
    created = httpx.post(f"{base}/v1/wholesale/customers", json=body, headers=headers, timeout=30)
    assert created.status_code == 202, created.text
    customer = wait_for(
        lambda: httpx.get(created.json()["url"], headers=headers, timeout=30).json(),
        lambda c: c.get("status") not in ("provisioning", "updating"),
        timeout=60,
        interval=0.5,
    )
    assert customer["status"] == "provisioned", customer
    return customer | {"name": body["customerInfo"]["name"], "adminEmail": body["customerInfo"]["primaryEmail"]}


def add(page, email: str, package: str, extension: str = "", first: str = "", last: str = "") -> None:
    """Fill and send the add form."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Package").select_option(package)
    page.get_by_label("Extension").fill(extension)
    page.get_by_role("button", name=re.compile("^Add (subscriber|user)$")).click()


def test_a_partner_adds_a_subscriber_and_hits_the_cap_in_plain_words(served, browser):
    base, printed, _ = served
    customer = provision(base, printed, limits={"webex_calling": 1})
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")
    page.goto(f"{base}/portal/customers/{customer['id']}")
    page.get_by_role("link", name=re.compile("^Subscribers")).first.click()
    page.wait_for_url(f"{base}/portal/customers/{customer['id']}/subscribers")
    assert page.get_by_role("heading", name=f"Subscribers of {customer['name']}").is_visible()
    assert page.locator(f"tr[data-email='{customer['adminEmail']}']").get_by_text("full administrator").is_visible()

    add(page, "grace@pizza.example", "webex_calling", extension="1001", first="Grace", last="Hopper")
    page.wait_for_url(re.compile(r".*\?done=added$"))
    row = page.locator("tr[data-email='grace@pizza.example']")
    assert row.get_by_text("Grace Hopper").is_visible() and row.get_by_text("Webex Calling").is_visible()
    licence = page.locator("li[data-package='webex_calling']")
    assert "1 of 1 used, none left" in licence.inner_text()

    add(page, "alan@pizza.example", "webex_calling", extension="1002", first="Alan")
    error = page.locator("#e-package")
    assert error.inner_text().startswith("This customer has used the one Webex Calling licence it may assign.")
    assert page.get_by_role("alert").first.is_visible()
    assert page.get_by_label("Email").input_value() == "alan@pizza.example"  # what was typed stays
    assert page.get_by_label("First name").input_value() == "Alan"
    assert page.locator("tr[data-email='alan@pizza.example']").count() == 0

    # Change Grace to meetings, which frees the calling licence; then Alan fits.
    row.get_by_role("link", name=re.compile("^Change")).click()
    page.get_by_label("Package").select_option("webex_meetings")
    page.get_by_role("button", name="Change package").click()
    page.wait_for_url(re.compile(r".*\?done=changed$"))
    assert page.locator("tr[data-email='grace@pizza.example']").get_by_text("Webex Meetings").is_visible()
    add(page, "alan@pizza.example", "webex_calling", extension="1002", first="Alan")
    page.wait_for_url(re.compile(r".*\?done=added$"))

    subscriber_path = page.locator("tr[data-email='grace@pizza.example'] a").get_attribute("href")
    too_wide = shoot(page, base, f"/portal/customers/{customer['id']}/subscribers", "partner-subscribers")
    too_wide += shoot(page, base, subscriber_path, "partner-subscriber")
    assert not too_wide, too_wide

    # Removal asks first.
    page.set_viewport_size(LAPTOP)
    page.goto(f"{base}{subscriber_path}")
    page.get_by_role("button", name=re.compile("^Remove grace@pizza.example")).click()
    assert page.get_by_role("heading", name="Remove grace@pizza.example?").is_visible()
    page.get_by_role("button", name="Remove the subscriber").click()
    page.wait_for_url(re.compile(r".*\?done=removed$"))
    assert page.locator("tr[data-email='grace@pizza.example']").count() == 0
    page.close()


def test_a_partner_imports_500_subscribers_from_a_csv_and_sees_the_progress_reach_100(served, browser, tmp_path):
    base, printed, _ = served
    customer = provision(base, printed)
    lines = ["email,firstName,lastName,package,primaryPhoneNumber,extension"]
    lines += [f"user{i:03d}@bulk.example,User,{i:03d},webex_meetings,," for i in range(500)]
    file = tmp_path / "people.csv"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("mail,package\nx@bulk.example,webex_meetings\n", encoding="utf-8")

    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")
    subscribers = f"/portal/customers/{customer['id']}/subscribers"
    page.goto(f"{base}{subscribers}")
    page.get_by_label("CSV file").set_input_files(bad)
    page.get_by_role("button", name="Import").click()
    assert "unknown column 'mail'" in page.locator("#e-file").inner_text()  # refused whole, nothing imported

    page.get_by_label("CSV file").set_input_files(file)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r".*/subscribers/import/.+"))
    progress_path = page.url.removeprefix(base)
    assert page.locator("progress.import-bar").get_attribute("max") == "500"
    # The page follows the job by itself (htmx, every second) until every row is done.
    page.wait_for_selector("[data-testid=import-percent]:text-is('100 %')", timeout=120_000)
    page.wait_for_selector("[data-testid=import-state]:text-is('Finished')", timeout=30_000)
    assert page.locator("progress.import-bar").get_attribute("value") == "500"
    assert page.get_by_test_id("import-created").inner_text() == "500"
    assert page.get_by_test_id("import-failed").inner_text() == "0"

    too_wide = shoot(page, base, progress_path, "partner-subscribers-import")
    page.goto(f"{base}{subscribers}")
    assert "501 in all" in page.get_by_test_id("people-count").inner_text()  # and the full administrator
    too_wide += shoot(page, base, f"{subscribers}?offset=20", "partner-subscribers-paged")
    assert not too_wide, too_wide
    page.close()


def test_a_customer_admin_cannot_downgrade_the_full_administrator(served, browser):
    base, printed, url = served
    customer = provision(base, printed)
    email = "it@pizza-customer.example"
    password = processes.cli(url, "users", "create", email, "--role", "customer-admin", "--org", customer["orgId"])
    account = {"portal customer admin": email, "portal customer admin password": password.strip()}

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, base, account, "customer admin")
    page.wait_for_url(f"{base}/portal/users")
    assert page.get_by_role("heading", name=f"Users of {customer['name']}").is_visible()
    assert page.get_by_role("link", name="Customers").count() == 0  # no partner pages in its menu

    add(page, "lin@pizza-customer.example", "webex_meetings", first="Lin")
    page.wait_for_url(re.compile(r".*/portal/users\?done=added$"))

    admin_row = page.locator(f"tr[data-email='{customer['adminEmail']}']")
    assert admin_row.get_by_text("full administrator").is_visible()
    admin_row.get_by_role("link", name=re.compile("^Change")).click()
    admin_path = page.url.removeprefix(base)
    assert page.get_by_test_id("current-package").inner_text() == "Webex Suite"
    page.get_by_label("Package").select_option("webex_meetings")
    page.get_by_role("button", name="Change package").click()
    error = page.locator("#e-package").inner_text()
    assert error == (
        f"{customer['adminEmail']} is this customer's full administrator and must keep Webex Suite or a higher "
        "package; Webex Meetings is lower. Nothing was changed."
    )
    page.goto(f"{base}{admin_path}")
    assert page.get_by_test_id("current-package").inner_text() == "Webex Suite"  # nothing changed
    assert page.get_by_role("button", name=re.compile("^Remove")).count() == 0  # it stays as long as the customer

    for path in ("/portal/customers", "/portal/templates", f"/portal/customers/{customer['id']}/subscribers"):
        page.goto(f"{base}{path}")
        assert page.get_by_role("heading", name="Not allowed").is_visible(), path

    too_wide = shoot(page, base, "/portal/users", "customer-users")
    too_wide += shoot(page, base, admin_path, "customer-user")
    assert not too_wide, too_wide
    context.close()
