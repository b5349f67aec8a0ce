"""Acting for a sub-partner in a real browser (issue 14, finding 5): picked by its name, its own templates, its
customer created and found again under it, never under the partner's own organisation."""

import re

import httpx

from browsing import BROWSER, create_customer, shoot, sign_in

pytestmark = BROWSER

SUB_PARTNER = "Demo Sub-Partner"  # wholesale.demo.DEMO_SUB_PARTNER


def test_a_partner_admin_acts_for_its_sub_partner_by_name_and_creates_its_customer(server, browser):
    base, printed = server
    page = browser.new_page()
    sign_in(page, base, printed, "partner admin")
    page.wait_for_url(f"{base}/portal/customers")

    # The switcher names sub-partners, never an id tail.
    options = page.locator("#acting-org option").all_inner_texts()
    assert SUB_PARTNER in options and not any(re.fullmatch(r"Sub-partner \w+", o) for o in options)
    page.locator("#acting-org").select_option(label=SUB_PARTNER)
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(re.compile(r".*/portal/customers.*"))
    assert page.locator("#acting-org").input_value() == printed["sub-partner org id"]

    # Its own templates, not the partner's.
    page.goto(f"{base}/portal/customers/new")
    templates = page.locator("#f-template option").all_inner_texts()
    assert templates == ["Sub-partner standard"], templates
    create_customer(
        page,
        base,
        name="Sub Bistro",
        country="DE",
        city="Berlin",
        external_id="sub-1",
        email="admin@sub-bistro.example",
    )
    page.wait_for_url(re.compile(r".*/portal/customers/.+\?created=1"))
    detail_url = page.url.split("?")[0]
    assert page.get_by_role("heading", name=re.compile("Sub Bistro")).is_visible()

    page.goto(f"{base}/portal/customers")
    assert page.locator("tr[data-external-id='sub-1']").count() == 1
    too_wide = shoot(page, base, "/portal/customers", "partner-acting-for-sub-partner")

    # Back to the partner's own organisation: the sub-partner's customer is not in its list.
    page.set_viewport_size({"width": 1366, "height": 768})
    page.locator("#acting-org").select_option(label="My organisation")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(re.compile(r".*/portal/customers.*"))
    assert page.locator("tr[data-external-id='sub-1']").count() == 0
    page.close()

    # The API agrees: the customer belongs to the sub-partner, and the partner reads it acting for it.
    headers = {"Authorization": f"Bearer {printed['partner-admin token']}"}
    customer_id = detail_url.rsplit("/", 1)[1]
    own = httpx.get(f"{base}/v1/wholesale/customers/{customer_id}", headers=headers, timeout=30)
    assert own.status_code == 404
    acting = httpx.get(
        f"{base}/v1/wholesale/customers/{customer_id}",
        params={"onBehalfOfSubPartnerOrgId": printed["sub-partner org id"]},
        headers=headers,
        timeout=30,
    )
    assert acting.status_code == 200 and acting.json()["externalId"] == "sub-1"
    assert not too_wide, too_wide
