"""The reviewers' pages in a real browser (issue 14): approve a case, deprovision another after three unreachable
attempts and the confirmation, the queue that shows a new case without a reload, and each page at phone and laptop
width."""

import re

import httpx

from browsing import BROWSER, shoot, sign_in
from helpers import customer_body

pytestmark = BROWSER


def create_listed(base: str, printed: dict[str, str], name: str, external_id: str) -> None:
    """Create a customer in Tehran through the API, as a partner's system would; screening opens its case."""
    body = customer_body(printed["customer template (provisioningId)"], packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["externalId"] = external_id
    body["customerInfo"]["name"] = name
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}
    created = httpx.post(
        f"{base}/v1/wholesale/customers",
        json=body,
        headers={"Authorization": f"Bearer {printed['partner-admin token']}"},
        timeout=30,
    )
    assert created.status_code == 202, created.text


def open_case(page, base: str, name: str) -> None:
    """From the queue (which refreshes itself), open the named customer's case."""
    page.goto(f"{base}/portal/review")
    link = page.get_by_role("link", name=name, exact=True)
    link.wait_for(timeout=60_000)
    link.click()
    page.wait_for_url(re.compile(r".*/portal/review/cases/.+"))


def test_reviewer_approves_one_case_and_deprovisions_another_after_confirming(server, browser):
    base, printed = server
    create_listed(base, printed, "Mahan Air", "browser-review-1")
    create_listed(base, printed, "Bank Melli Iran", "browser-review-2")
    page = browser.new_page()
    sign_in(page, base, printed, "reviewer")
    page.wait_for_url(f"{base}/portal/review")

    # Approve: the evidence first, in words, beside the customer.
    open_case(page, base, "Mahan Air")
    assert page.get_by_role("heading", name="Hits").is_visible()
    assert "word for word" in page.locator(".why").first.inner_text()
    assert page.locator("table.compare").first.get_by_role("columnheader", name="Listed entry").is_visible()
    case_url = page.url
    page.get_by_role("radio", name=re.compile("^Approve")).check()
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(r".*done=decision"))
    assert page.locator("h1 .badge").inner_text() == "approved"
    assert page.get_by_role("button", name="Record decision").count() == 0

    # Deprovision: two unreachable attempts, then the third asks first.
    open_case(page, base, "Bank Melli Iran")
    for n in range(2):
        page.get_by_label("Channel").select_option("phone")
        page.get_by_role("radio", name=re.compile("^Unreachable")).check()
        page.get_by_label("Note").fill(f"no answer {n + 1}")
        page.get_by_role("button", name="Record attempt").click()
        page.wait_for_url(re.compile(r".*done=contact"))
        assert page.get_by_text(f"{n + 1} of 3 attempts").is_visible()
    page.get_by_label("Channel").select_option("email")
    page.get_by_role("radio", name=re.compile("^Unreachable")).check()
    page.get_by_role("button", name="Record attempt").click()
    assert page.get_by_role("heading", name="Deprovision Bank Melli Iran?").is_visible()
    assert "cannot be undone" in page.get_by_role("alertdialog").inner_text()
    page.get_by_role("button", name="Record it and deprovision").click()
    page.wait_for_url(re.compile(r".*done=contact"))
    assert page.locator("h1 .badge").inner_text() == "deprovisioned"
    assert page.get_by_text("Deprovisioned: partner unreachable after 3 contact attempts.").is_visible()
    deprovisioned_url = page.url.split("?")[0]

    # The stats page counts the approval; every review page fits a phone and a laptop.
    page.goto(f"{base}/portal/review/stats")
    assert page.locator("svg.chart rect.bar").count() >= 1
    too_wide = []
    for name, path in (
        ("review-queue", "/portal/review?status="),
        ("review-case-approved", case_url.removeprefix(base)),
        ("review-case-deprovisioned", deprovisioned_url.removeprefix(base)),
        ("review-stats", "/portal/review/stats"),
    ):
        too_wide += shoot(page, base, path, name)
    assert too_wide == []
    page.close()


def test_the_queue_shows_a_new_case_without_a_reload(server, browser):
    base, printed = server
    page = browser.new_page()
    sign_in(page, base, printed, "reviewer")
    page.wait_for_url(f"{base}/portal/review")
    loads = []
    page.on("load", lambda _page: loads.append(1))
    assert page.get_by_role("link", name="Mahan Air").count() == 0
    create_listed(base, printed, "Mahan Air", "browser-review-live")
    # The table polls its rows every few seconds: the new case appears while the page stays where it is.
    page.get_by_role("link", name="Mahan Air").wait_for(timeout=60_000)
    assert loads == []
    assert page.locator("#queue tr.age-ok .badge-age-ok").first.inner_text().endswith("within 15-minute target")
    assert re.search(r"opened (just now|\d+ min ago)", page.locator("#queue").inner_text())
    too_wide = shoot(page, base, "/portal/review", "review-queue-live")
    assert too_wide == []
    page.close()
