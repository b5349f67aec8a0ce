"""The portal's history pages: a customer's history on its page and on a page of its own (also once compliance has
deprovisioned it: the notice with the reason "restricted-party review", never the list details), the partner's
Activity page, and the operators' Audit log with its filters. Times read as people read them. Partner B never sees
partner A's rows."""

import html
import re

import sqlalchemy as sa

from helpers import CSRF, customer_body, wait_for, without_ids
from subscribers_support import sub_body

READABLE_TIME = re.compile(
    r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z" data-local>\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d UTC</time>'
)
RAW_ISO_SHOWN = re.compile(r">[^<]*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^<]*<")
EVIDENCE = ("SDN", "12345", "spoke to nobody", "score", "entryId", "hits")


def sign_in(web, token: str) -> str:
    web.cookies.clear()
    csrf = CSRF.search(web.get("/portal/signin").text).group(1)
    assert web.post("/portal/signin", data={"csrf": csrf, "token": token}).status_code == 303
    return CSRF.search(web.get("/portal/signin").text).group(1)


def _create(client, partner, **overrides) -> str:
    body = customer_body(partner.template_id, packages=["webex_meetings"], **overrides)
    body.pop("provisioningParameters")
    response = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)
    assert response.status_code == 202, response.text
    return response.json()["url"].rsplit("/", 1)[1]


def _settled(client, partner, customer_id):
    return wait_for(
        lambda: client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating"),
        timeout=60,
    )


def _visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_customer_page_tells_its_history_in_words_newest_first(web, client, partner):
    customer_id = _create(client, partner)
    _settled(client, partner, customer_id)
    sub = client.post("/v1/wholesale/subscribers", json=sub_body(customer_id), headers=partner.headers)
    assert sub.status_code in (200, 201), sub.text
    sign_in(web, partner.token)
    page = web.get(f"/portal/customers/{customer_id}")
    assert page.status_code == 200
    history = page.text[page.text.index('id="history"') :]
    for words in (
        "Customer created with webex meetings (US)",
        "Organisation created",
        "Provisioning finished: provisioned",
        "Meetings site created",
    ):
        assert words in history, words
    assert f'User added with webex meetings</span> <span class="muted">({sub.json()["email"]})' in history
    assert history.index("User added") < history.index("Provisioning finished") < history.index("Customer created")
    assert "by API (partner-admin" in history and "by Platform (customers.provision)" in history
    assert READABLE_TIME.search(history) and not RAW_ISO_SHOWN.search(history)
    assert 'href="/portal/activity"' in page.text  # the nav

    full = web.get(f"/portal/customers/{customer_id}/history")
    assert full.status_code == 200 and "Customer created with" in full.text and "User added" in full.text


def test_a_deprovisioned_customer_keeps_its_history_with_the_notice_and_no_list_details(
    web, client, db, make_partner, platform_token
):
    from wholesale.compliance.models import ComplianceCase

    partner, other = make_partner(), make_partner()
    customer_id = _create(
        client,
        partner,
        customerInfo={"name": "Mahan Air", "primaryEmail": "ops@mahan.example"},
        address={"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"},
    )

    def case_id():
        with db.session(write=False) as s:
            return s.scalars(sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)).first()

    case = wait_for(case_id, bool, timeout=60)
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    decided = client.post(
        f"/v1/compliance/cases/{case}/decision",
        json={"decision": "reject", "reason": "SDN entry 12345"},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    for n in range(3):
        client.post(
            f"/v1/compliance/cases/{case}/contactAttempts",
            json={"channel": "phone", "outcome": "unreachable", "note": f"spoke to nobody {n}"},
            headers=reviewer,
        )
    wait_for(
        lambda: client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).status_code,
        lambda code: code == 404,
        timeout=60,
    )

    sign_in(web, partner.token)
    gone = web.get(f"/portal/customers/{customer_id}")  # gone from the live pages ...
    assert gone.status_code == 303 and gone.headers["location"] == f"/portal/customers/{customer_id}/history"
    page = web.get(f"/portal/customers/{customer_id}/history")  # ... not from its history
    assert page.status_code == 200, page.text
    text = without_ids(_visible_text(page.text))
    assert "This customer was removed" in text
    assert "Deprovisioned after restricted-party review" in text
    assert "Deprovisioning started: restricted-party review" in text
    assert "Compliance review: not compliant (restricted-party review)" in text
    assert "The compliance team tried to reach the partner" in text and "Customer removed" in text
    assert "by Compliance team" in text and 'class="notice-row"' in page.text
    for secret in EVIDENCE:
        assert secret not in text, secret

    activity = web.get("/portal/activity")
    assert activity.status_code == 200
    assert "Deprovisioned after restricted-party review" in activity.text
    assert f'href="/portal/customers/{customer_id}/history">Mahan Air<' in activity.text
    assert READABLE_TIME.search(activity.text) and not RAW_ISO_SHOWN.search(activity.text)
    for secret in EVIDENCE:
        assert secret not in _visible_text(activity.text), secret

    sign_in(web, other.token)
    assert web.get(f"/portal/customers/{customer_id}/history").status_code == 404
    assert customer_id not in web.get("/portal/activity").text


def test_the_activity_page_is_the_partners_feed_newest_first_in_pages(web, client, make_partner):
    partner, other = make_partner(), make_partner()
    made = [_create(client, partner) for _ in range(21)]
    theirs = _create(client, other)
    sign_in(web, partner.token)
    first = web.get("/portal/activity")
    assert first.status_code == 200
    assert 'rel="next"' in first.text and first.text.count('data-type="') == 20
    older = re.search(r'href="(/portal/activity\?before=\d+)" rel="next"', first.text).group(1)
    second = web.get(older)
    assert second.status_code == 200 and "Newest" in second.text
    # Walk every page (the provisioning runs add events at the head meanwhile; the cursor keeps older pages
    # still): each create once, newest first, none of the other partner's.
    created, page, pages = [], first, 0
    while True:
        pages += 1
        assert theirs not in page.text
        created += re.findall(
            r'data-type="customer.created">.*?href="/portal/customers/([^/]+)/history"', page.text, re.S
        )
        more = re.search(r'href="(/portal/activity\?before=\d+)" rel="next"', page.text)
        if more is None or pages > 50:
            break
        page = web.get(more.group(1))
    assert created == made[::-1]
    assert web.get("/portal/activity", params={"before": "soon"}).status_code == 400


def test_the_operators_audit_log_filters_and_is_for_operators_only(web, client, partner, platform_token):
    customer_id = _create(client, partner)
    operator = platform_token("operator")
    sign_in(web, operator)
    page = web.get("/portal/audit")
    assert page.status_code == 200 and "Audit log" in page.text and 'href="/portal/audit"' in page.text
    assert "portal.signed_in" in page.text  # its own sign-in, newest first
    assert READABLE_TIME.search(page.text)

    narrowed = web.get("/portal/audit", params={"target": customer_id, "action": "customer."})
    assert narrowed.status_code == 200
    rows = re.findall(r'<tr class="[^"]*" data-id="\d+">', narrowed.text)
    assert rows and "customer.created" in narrowed.text and "portal.signed_in" not in narrowed.text
    assert "Customer created with webex meetings" in narrowed.text
    typed = web.get("/portal/audit", params={"target_type": "token", "action": "portal.signed_in"})
    assert "portal.signed_in" in typed.text and "customer.created" not in typed.text
    later = web.get("/portal/audit", params={"from": "2999-01-01T00:00", "target": customer_id})
    assert later.status_code == 200 and "No audit rows match." in later.text
    window = web.get(
        "/portal/audit", params={"from": "2000-01-01T00:00", "to": "2999-01-01T00:00:00", "target": customer_id}
    )
    assert "customer.created" in window.text

    bad = web.get("/portal/audit", params={"from": "yesterday", "action": "Not An Action"})
    assert bad.status_code == 400 and '<span id="e-from" class="field-error">' in bad.text  # next to its field
    assert "must be an ISO-8601 instant" in html.unescape(bad.text)

    for token in (platform_token("reviewer"), partner.token):
        sign_in(web, token)
        refused = web.get("/portal/audit")
        assert refused.status_code == 403 and "Not allowed" in refused.text


def test_signing_in_and_out_of_the_portal_is_audited(web, db, partner):
    from wholesale.events.models import AuditEvent

    csrf = sign_in(web, partner.token)
    assert web.post("/portal/signout", data={"csrf": csrf}).status_code == 303
    with db.session(write=False) as s:
        rows = list(
            s.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.partner_org_id == partner.org_id, AuditEvent.action.startswith("portal."))
                .order_by(AuditEvent.id)
            )
        )
    assert [r.action for r in rows] == ["portal.signed_in", "portal.signed_out"]
    assert rows[0].actor == rows[1].actor and rows[0].actor.startswith("portal:")
    assert rows[0].actor_role == "partner-admin" and rows[0].actor_org_id == partner.org_id
