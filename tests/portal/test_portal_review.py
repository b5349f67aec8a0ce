"""The reviewers' pages through the ASGI client (issue 14): the customer beside each listed entry in words, the queue
that refreshes itself, the decision-time chart, escaping, CSRF and who may open them."""

import html
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpers import customer_body, wait_for
from helpers import portal_sign_in as sign_in

ENGINE_WORDS = ("tokenSort", "softTokens", "listedCovered", "queryCovered", "numberPenalty", "containment", "features")


def listed_customer(client, partner, db, name: str = "Mahan Air") -> tuple[str, str]:
    """A customer named as an OFAC SDN entry, in Tehran, created through the API: (its id, the case screening opened)."""
    from wholesale.compliance.models import ComplianceCase

    body = customer_body(partner.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = name
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "zipOrPostalCode": "1234", "country": "IR"}
    created = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)
    assert created.status_code == 202, created.text
    customer_id = created.json()["url"].rsplit("/", 1)[1]

    def case_id():
        with db.session(write=False) as s:
            return s.scalars(sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)).first()

    return customer_id, wait_for(case_id, bool, timeout=60)


def listed_entry(db, case_id: str):
    """The list entry of the case's strongest hit, as the lists in force publish it."""
    from wholesale.compliance import lists
    from wholesale.compliance.models import ComplianceCase

    with db.session(write=False) as s:
        hit = s.get(ComplianceCase, case_id).hits[0]
        entries = lists.get_screener(s).list_set.entries
    return next(e for e in entries if (e.source, e.entry_id) == (hit["source"], hit["entryId"]))


def test_the_case_shows_the_customer_beside_the_listed_entry_in_plain_words(web, client, partner, platform_token, db):
    _customer_id, cid = listed_customer(client, partner, db)
    entry = listed_entry(db, cid)
    sign_in(web, platform_token("reviewer"))
    page = web.get(f"/portal/review/cases/{cid}").text

    # The entry as its list publishes it: names and aliases, addresses, programs, list and its date, entry id.
    assert html.escape(entry.name) in page and f"<code>{entry.entry_id}</code>" in page
    assert all(html.escape(a) in page for a in entry.aliases)
    assert all(html.escape(p) in page for p in entry.programs) and entry.programs
    assert re.search(
        r"OFAC Specially Designated Nationals \(SDN\) list, (shipped snapshot of 3 May 2024|loaded \d+ \w+ \d{4})", page
    )
    assert all(html.escape(a.street or a.city or "") in page for a in entry.addresses)
    # What agrees is marked, and the reason reads as a sentence.
    assert '<mark class="w-same" title="the same word is in the other name">Mahan</mark>' in page
    assert f"The name matches the SDN entry {html.escape(entry.name)} word for word" in page
    assert "the country (Iran) matches one of its addresses" in page
    assert '<span class="cmp cmp-same">same</span>' in page  # the country row
    # The customer's side.
    assert "1 Main Street, Tehran, 1234, Iran" in page
    # No engine internals, no requirement codes, no raw instants.
    assert not [w for w in ENGINE_WORDS if w in page], page
    assert "score" not in page.lower() and not re.search(r"\bR1\d\b", page)
    assert not re.search(r">\d{4}-\d\d-\d\dT\d\d:\d\d", page)
    assert re.search(r"Opened: a (strong|possible) match was found when the customer was created\.", page)
    assert re.search(r"\(opened (just now|\d+ min ago)\)", page)


def test_the_queue_polls_its_rows_keeping_the_filter_and_shows_ages_in_words(web, client, partner, platform_token, db):
    _customer_id, cid = listed_customer(client, partner, db)
    sign_in(web, platform_token("reviewer"))
    queue = web.get("/portal/review").text
    assert 'hx-get="/portal/review/rows?status=open" hx-trigger="every 5s"' in queue
    assert f'href="/portal/review/cases/{cid}">Mahan Air<' in queue
    rows = web.get("/portal/review/rows", params={"status": "open"}, headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text and f"/portal/review/cases/{cid}" in rows.text
    assert re.search(r"opened (just now|\d+ min ago)", rows.text) and "within 15-minute target" in rows.text
    assert 'class="badge badge-age-ok"' in rows.text and "<time datetime=" in rows.text
    assert "OFAC Specially Designated Nationals (SDN) list" in rows.text  # the strongest hit's list, by name
    approved = web.get("/portal/review", params={"status": "approved"}).text
    assert 'hx-get="/portal/review/rows?status=approved"' in approved  # the poll keeps the filter
    assert f"/portal/review/cases/{cid}" not in approved
    assert web.get("/portal/review/rows", params={"status": "bogus"}).status_code == 400


def test_a_customer_name_with_markup_is_escaped_on_queue_case_and_stats(web, client, partner, platform_token, db):
    from wholesale.customers.models import Customer

    customer_id, cid = listed_customer(client, partner, db)
    evil = '<script>alert("x")</script> Mahan Air'
    with db.transaction() as s:
        s.get(Customer, customer_id).name = evil
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    assert client.post(
        f"/v1/compliance/cases/{cid}/decision", json={"decision": "approve"}, headers=reviewer
    ).is_success
    sign_in(web, platform_token("reviewer"))
    for path in ("/portal/review?status=approved", f"/portal/review/cases/{cid}", "/portal/review/stats"):
        page = web.get(path).text
        assert "<script>alert(" not in page, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Mahan Air" in page, path
    # What a list file says is data too: a stored hit whose entry is no longer listed is shown as stored.
    from wholesale.compliance.models import ComplianceCase

    with db.transaction() as s:
        case = s.get(ComplianceCase, cid)
        case.hits = [
            case.hits[0]
            | {"entryId": "gone", "name": "<script>alert('entry')</script>", "matchedVariant": "<img src=x onerror=y>"}
        ]
    page = web.get(f"/portal/review/cases/{cid}").text
    assert "<script>alert('entry')" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;entry&#39;)&lt;/script&gt;" in page and "no longer in the lists in force" in page
    assert "&lt;img src=x onerror=y&gt;" in page.replace("&#34;", '"')


def test_a_decision_without_the_csrf_token_is_refused(web, client, partner, platform_token, db):
    _customer_id, cid = listed_customer(client, partner, db)
    csrf = sign_in(web, platform_token("reviewer"))
    for form in ({"decision": "approve"}, {"decision": "approve", "csrf": "forged"}):
        refused = web.post(f"/portal/review/cases/{cid}/decision", data=form)
        assert refused.status_code == 403 and "could not be verified" in refused.text
    contact = web.post(f"/portal/review/cases/{cid}/contact", data={"channel": "email", "outcome": "unreachable"})
    assert contact.status_code == 403
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    case = client.get(f"/v1/compliance/cases/{cid}", headers=reviewer).json()
    assert case["status"] == "open" and case["unreachableAttempts"] == 0
    assert (
        web.post(f"/portal/review/cases/{cid}/decision", data={"csrf": csrf, "decision": "approve"}).status_code == 303
    )


def test_a_partner_admin_cannot_open_the_review_pages(web, client, partner, platform_token, db):
    _customer_id, cid = listed_customer(client, partner, db)
    csrf = sign_in(web, partner.token)
    for path in ("/portal/review", "/portal/review/rows", "/portal/review/stats", f"/portal/review/cases/{cid}"):
        page = web.get(path)
        assert page.status_code == 403 and "Mahan Air" not in page.text and "MAHAN" not in page.text, path
    decided = web.post(f"/portal/review/cases/{cid}/decision", data={"csrf": csrf, "decision": "approve"})
    assert decided.status_code == 403
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    assert client.get(f"/v1/compliance/cases/{cid}", headers=reviewer).json()["status"] == "open"


def test_the_stats_chart_draws_decision_times_against_the_targets(web, client, partner, platform_token, db):
    _customer_id, cid = listed_customer(client, partner, db)
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    assert client.post(
        f"/v1/compliance/cases/{cid}/decision", json={"decision": "approve"}, headers=reviewer
    ).is_success
    sign_in(web, platform_token("reviewer"))
    page = web.get("/portal/review/stats").text
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    assert re.search(r'<svg class="chart" viewBox="0 0 640 240"[^>]*role="img" aria-labelledby="chart-title', svg)
    assert '<title id="chart-title">Time to decision of the last' in svg
    assert "15-min target" in svg and "60-min target" in svg and svg.count('class="target"') == 2
    assert 'class="band-ok"' in svg and 'class="band-warn"' in svg
    assert re.search(r'<rect class="bar bar-ok" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"', svg)
    assert "<title>Mahan Air: decided in" in svg
    summary = re.search(r'data-testid="chart-summary">([^<]+)<', page).group(1)
    assert "Median" in summary and "90th percentile" in summary and "within 15 minutes" in summary
    assert "within 60 minutes" in summary
    # The page's CSP: no inline script, no style attribute.
    assert "style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)


def test_decision_times_of_the_chart(session, tenant):
    """The chart's figures: the most recent decided cases, oldest first, with median, 90th percentile and shares."""
    from wholesale.compliance import service as compliance
    from wholesale.compliance.models import ComplianceCase
    from wholesale.identity.roles import Role
    from wholesale.identity.schemas import Principal
    from wholesale.kit import clock

    # Decided "tomorrow": the three newest decisions whatever else the session's database holds.
    base = clock.now() + timedelta(days=1)
    for n, minutes in enumerate((90, 10, 30)):
        opened = base + timedelta(hours=n)
        session.add(
            ComplianceCase(
                id=f"case-{uuid.uuid4().hex}",
                customer_id=f"cust-{uuid.uuid4().hex}",
                partner_org_id=tenant.partner_org_id,
                status="approved",
                opened_at=opened,
                deadline=opened + timedelta(days=30),
                decided_at=opened + timedelta(minutes=minutes),
                decision="approve",
                screening_id="s",
                hits=[],
                timeline=[],
                unreachable_attempts=0,
            )
        )
    session.flush()
    principal = Principal(token_id="t", org_id="platform", role=Role.REVIEWER, scopes=frozenset(), partner_org_id=None)
    times = compliance.decision_times(session, principal, limit=3)
    assert [round(c["minutes"]) for c in times["cases"]] == [10, 90, 30]  # by decision time, oldest first
    assert round(times["median"]) == 30 and 30 < times["p90"] <= 90
    assert times["within15"] == pytest.approx(1 / 3) and times["within60"] == pytest.approx(2 / 3)
    partner_principal = Principal(
        token_id="t", org_id="p", role=Role.PARTNER_ADMIN, scopes=frozenset(), partner_org_id="p"
    )
    with pytest.raises(Exception, match="compliance team"):
        compliance.decision_times(session, partner_principal)


def test_the_timeline_reads_in_words_after_three_unreachable_attempts(web, client, partner, platform_token, db):
    _customer_id, cid = listed_customer(client, partner, db)
    csrf = sign_in(web, platform_token("reviewer"))
    for n in range(3):
        form = {"csrf": csrf, "channel": "phone", "outcome": "unreachable", "note": f"try {n}", "confirm": "yes"}
        assert web.post(f"/portal/review/cases/{cid}/contact", data=form).status_code == 303
    page = web.get(f"/portal/review/cases/{cid}").text
    assert "badge-deprovisioned" in page and "Contact attempt by phone: partner unreachable." in page
    assert "Deprovisioned: partner unreachable after 3 contact attempts." in page
    assert not re.search(r"\bR1\d\b", page) and "contact_attempt" not in page
    assert 'action="/portal/review/cases/' not in page  # a closed case takes no more decisions
