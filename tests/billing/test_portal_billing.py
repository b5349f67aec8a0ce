"""The portal's Billing page: ask for a report, watch it complete (htmx polls while one is generating), download
it from its signed link, delete it."""

import html
import re

from helpers import portal_sign_in as sign_in
from helpers import wait_for


def test_the_billing_page_creates_polls_downloads_and_deletes(web, partner):
    csrf = sign_in(web, partner.token)
    page = web.get("/portal/billing")
    assert page.status_code == 200 and "No billing reports yet." in page.text
    assert '<a href="/portal/billing">Billing</a>' in page.text

    refused = web.post("/portal/billing", data={"csrf": csrf, "start": "2026-01-10", "end": "2026-01-09"})
    assert refused.status_code == 400 and "The first day must be on or before the last day." in html.unescape(
        refused.text
    )
    assert "billingEndDate" not in refused.text  # plain words, not the API's field names (issue 14)

    form = {"csrf": csrf, "start": "2026-01-01", "end": "2026-01-31", "type": "USER", "category": "POINT_IN_TIME"}
    created = web.post("/portal/billing", data=form)
    assert created.status_code == 303 and created.headers["location"] == "/portal/billing?created=1"
    first = web.get("/portal/billing?created=1").text
    assert "Report requested" in first and "2026-01-01 to 2026-01-31" in first and "point in time" in first
    if "in progress" in first:
        assert 'hx-trigger="every 2s"' in first  # the list refreshes itself while a report is generating

    done = wait_for(lambda: web.get("/portal/billing").text, lambda text: "Download CSV" in text)
    assert 'hx-trigger="every 2s"' not in done
    link = html.unescape(re.search(r'<a href="([^"]+)" download>', done).group(1))
    from fastapi.testclient import TestClient

    anonymous = TestClient(web.app)  # the link needs no sign-in
    csv = anonymous.get(link)
    assert csv.status_code == 200 and csv.text.startswith("date,customerId,")

    report_id = re.search(r'data-report-id="([^"]+)"', done).group(1)
    deleted = web.post(f"/portal/billing/{report_id}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    assert "No billing reports yet." in web.get("/portal/billing").text
    assert anonymous.get(link).status_code == 404


def test_the_billing_page_refuses_a_forged_form(web, partner):
    sign_in(web, partner.token)
    response = web.post("/portal/billing", data={"csrf": "forged", "start": "2026-01-01", "end": "2026-01-02"})
    assert response.status_code == 403
