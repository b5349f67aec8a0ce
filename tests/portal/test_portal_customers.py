"""The partner hub's customer pages through the ASGI client (issue 14): search, status filter, order, totals and
page numbers done in SQL, the CSV export, a customer's page refreshing itself with its usage and compliance in words,
the change form, the removal behind a confirmation, output escaping, CSRF and tenancy."""

import csv
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from helpers import customer_body, wait_for
from helpers import portal_sign_in as sign_in

ROW = re.compile(r'<tr data-external-id="([^"]+)"')


def add_customers(db, partner, *specs: dict[str, Any]) -> list[str]:
    """Write settled customers straight to the database (no provisioning run: the list's data as it would be),
    created one second apart in the order given; each spec may set name, externalId, orgId, status, hold (a
    compliance hold), packages {name: (assigned, limit)}. Returns their ids."""
    from wholesale.customers.models import Customer, CustomerPackageRow
    from wholesale.kit import clock, ids

    start = clock.now() - timedelta(hours=2)  # settled long ago: no page waits for its screening
    made = []
    with db.transaction() as s:
        for n, spec in enumerate(specs):
            at = start + timedelta(seconds=n)
            customer = Customer(
                id=ids.new_id("ENTERPRISE"),
                partner_org_id=partner.org_id,
                org_id=spec.get("orgId"),
                external_id=spec.get("externalId") or f"ext-{uuid.uuid4().hex[:10]}",
                provisioning_id=partner.template_id,
                name=spec.get("name", f"Customer {n}"),
                primary_email=None,
                language="en_us",
                address_line1="1 Main Street",
                city="Paris",
                country="FR",
                status=spec.get("status", "provisioned"),
                errors=[],
                package_limits={},
                compliance_hold=spec.get("hold", False),
                revision=1,
                created=at,
                updated=at,
            )
            s.add(customer)
            s.flush()
            for name, (assigned, limit) in spec.get("packages", {"webex_meetings": (0, None)}).items():
                s.add(
                    CustomerPackageRow(
                        customer_id=customer.id,
                        name=name,
                        status="provisioned",
                        quantity_limit=limit,
                        assigned=assigned,
                        license_ids=[],
                        errors=[],
                        warnings=[],
                        created=at,
                    )
                )
            made.append(customer.id)
    return made


def listed(html: str) -> list[str]:
    """The externalIds of the list's rows, in order."""
    return ROW.findall(html)


def total_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r'data-testid="customer-total"[^>]*>(.*?)</p>', html, re.S).group(1)).strip()


def api_customer(client, partner, **overrides: Any) -> str:
    """A meetings-only customer created through the API; its id."""
    body = customer_body(partner.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    for key, value in overrides.items():
        body[key] = body[key] | value if key == "customerInfo" else value  # the name, keeping the email
    created = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)
    assert created.status_code == 202, created.text
    return created.json()["url"].rsplit("/", 1)[1]


def settled(client, partner, customer_id: str, status: str = "provisioned") -> dict[str, Any]:
    return wait_for(
        lambda: client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).json(),
        lambda body: body.get("status") == status,
        timeout=60,
    )


# ---------------------------------------------------------------------------------------------- the list


def test_search_matches_name_external_id_and_org_id_in_any_case(web, db, make_partner):
    me, other = make_partner(), make_partner()
    add_customers(
        db,
        me,
        {"name": "Alpha Bakery", "externalId": "alpha-1", "orgId": "ORG-aaa111"},
        {"name": "Beta Foods", "externalId": "BETA-2", "orgId": "ORG-bbb222"},
        {"name": "Gamma 100_% Ltd", "externalId": "gam-3"},
    )
    add_customers(db, other, {"name": "Alpha Elsewhere", "externalId": "alpha-other"})
    sign_in(web, me.token)
    assert listed(web.get("/portal/customers", params={"q": "bakery"}).text) == ["alpha-1"]  # name
    assert listed(web.get("/portal/customers", params={"q": "beta-2"}).text) == ["BETA-2"]  # externalId
    by_org = web.get("/portal/customers", params={"q": "bbb222"}).text  # orgId
    assert listed(by_org) == ["BETA-2"] and total_of(by_org) == "1 customer matching “bbb222”"
    assert listed(web.get("/portal/customers", params={"q": "ALPHA"}).text) == ["alpha-1"]  # never another's
    # % and _ are plain characters, not wildcards.
    assert listed(web.get("/portal/customers", params={"q": "100_%"}).text) == ["gam-3"]
    assert listed(web.get("/portal/customers", params={"q": "1_0"}).text) == []
    nothing = web.get("/portal/customers", params={"q": "zebra"}).text
    assert "No customers matching “zebra”" in nothing and total_of(nothing).startswith("0 customers")
    assert 'value="zebra"' in nothing  # the search box keeps what was typed


def test_status_filter_is_done_before_paging_with_the_right_totals_and_no_next_on_the_last_page(
    web, client, db, make_partner
):
    """Issue 14, finding 1: "pending rpl review" showed "No customers yet" with a Next link although 7 existed; the
    API gave short or empty pages that still carried `Link: next`."""
    p = make_partner()
    held = add_customers(db, p, *({"externalId": f"held-{n:02d}", "hold": True} for n in range(23)))
    add_customers(db, p, *({"externalId": f"free-{n}"} for n in range(5)), {"externalId": "bad-1", "status": "error"})
    sign_in(web, p.token)
    everyone = web.get("/portal/customers").text
    assert total_of(everyone) == "29 customers; showing 1 to 20" and 'rel="next"' in everyone
    first = web.get("/portal/customers", params={"status": "pending_rpl_review"}).text
    assert len(listed(first)) == 20 and 'rel="next"' in first
    assert total_of(first) == "23 customers with status “pending rpl review”; showing 1 to 20"
    assert 'aria-current="page"' in first and 'aria-label="Page 2"' in first
    last = web.get("/portal/customers", params={"status": "pending_rpl_review", "page": 2}).text
    assert len(listed(last)) == 3 and 'rel="next"' not in last and 'rel="prev"' in last
    assert set(listed(first) + listed(last)) == {f"held-{n:02d}" for n in range(23)}
    free = web.get("/portal/customers", params={"status": "provisioned"}).text
    assert sorted(listed(free)) == [f"free-{n}" for n in range(5)] and 'rel="next"' not in free
    assert total_of(free) == "5 customers with status “provisioned”"
    assert listed(web.get("/portal/customers", params={"status": "error"}).text) == ["bad-1"]
    assert web.get("/portal/customers", params={"status": "bogus"}).status_code == 400

    # The API pages the same way: full pages, and `Link: next` only when another row exists.
    api = client.get("/v1/wholesale/customers", params={"status": "pending_rpl_review", "max": 20}, headers=p.headers)
    assert len(api.json()["items"]) == 20 and 'rel="next"' in api.headers["link"]
    rest = client.get(
        "/v1/wholesale/customers",
        params={"status": "pending_rpl_review", "max": 20, "offset": 20},
        headers=p.headers,
    )
    assert [c["id"] for c in rest.json()["items"]] == held[20:] and "link" not in rest.headers


def test_list_sorts_by_name_created_and_status_both_ways(web, db, make_partner):
    p = make_partner()
    add_customers(
        db,
        p,
        {"name": "banana", "externalId": "b"},
        {"name": "Apple", "externalId": "a", "status": "error"},
        {"name": "cherry", "externalId": "c", "hold": True},
    )
    sign_in(web, p.token)
    newest_first = web.get("/portal/customers").text
    assert listed(newest_first) == ["c", "a", "b"]  # the default: newest first
    assert 'aria-sort="descending"' in newest_first
    assert listed(web.get("/portal/customers", params={"sort": "created", "dir": "asc"}).text) == ["b", "a", "c"]
    by_name = web.get("/portal/customers", params={"sort": "name"}).text
    assert listed(by_name) == ["a", "b", "c"]  # any case
    # The header of the current column flips the order; its link keeps the search and filter.
    flip = re.search(r'<th scope="col" aria-sort="ascending"><a href="([^"]+)">Name', by_name).group(1)
    assert listed(web.get(flip.replace("&amp;", "&")).text) == ["c", "b", "a"]
    by_status = web.get("/portal/customers", params={"sort": "status"}).text  # error, pending rpl review, provisioned
    assert listed(by_status) == ["a", "c", "b"]
    assert web.get("/portal/customers", params={"sort": "nonsense"}).status_code == 200  # falls back to created


def test_page_numbers_jump_and_keep_the_search(web, db, make_partner):
    p = make_partner()
    add_customers(db, p, *({"name": f"Shop {n:03d}", "externalId": f"shop-{n:03d}"} for n in range(130)))
    add_customers(db, p, {"name": "Other", "externalId": "other"})
    sign_in(web, p.token)
    html = web.get("/portal/customers", params={"q": "shop", "sort": "name", "page": 4}).text
    assert listed(html) == [f"shop-{n:03d}" for n in range(60, 80)]
    assert total_of(html) == "130 customers matching “shop”; showing 61 to 80"
    numbers = re.findall(r'aria-label="Page (\d+)[^"]*"', html)
    assert numbers == ["1", "2", "3", "4", "5", "6", "7"]  # all seven pages around the fourth
    assert re.search(r'href="/portal/customers\?q=shop&amp;sort=name&amp;page=7"', html)
    beyond = web.get("/portal/customers", params={"q": "shop", "page": 99}).text
    assert listed(beyond) == [] and "No customers" in beyond and 'rel="next"' not in beyond
    assert web.get("/portal/customers", params={"page": "x"}).status_code == 200  # page 1


def test_csv_export_has_every_matching_row_in_order_and_defuses_formulas(web, db, make_partner):
    p = make_partner()
    tricky = ["=cmd|' /C calc'!A0", "+SUM(A1:A2)", "-2+3", "@import", 'Café "Zoë", Köln']
    add_customers(db, p, *({"name": f"Row {n:02d}", "externalId": f"row-{n:02d}"} for n in range(25)))
    add_customers(
        db,
        p,
        *({"name": name, "externalId": f"trick-{n}", "orgId": f"ORG-{n}"} for n, name in enumerate(tricky)),
        {"name": "Error Co", "externalId": "=HYPERLINK(1)", "status": "error"},
        {"name": "Capped", "externalId": "capped", "packages": {"webex_calling": (1, 5), "webex_meetings": (0, None)}},
    )
    sign_in(web, p.token)
    page = web.get("/portal/customers", params={"status": "provisioned", "sort": "name"}).text
    href = re.search(r'href="([^"]+)"[^>]*>Export CSV<', page).group(1).replace("&amp;", "&")
    assert href == "/portal/customers/export.csv?status=provisioned&sort=name"
    response = web.get(href)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="customers-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark: spreadsheets read it so
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Name",
        "External id",
        "Customer id",
        "Organisation id",
        "Status",
        "Country",
        "Packages",
        "Created (UTC)",
    ]
    body = rows[1:]
    assert len(body) == 31  # every provisioned customer, not one page of 20; the `error` one is left out
    names = [r[0] for r in body]
    assert names == sorted(names, key=lambda n: n.lstrip("'").lower())  # the list's order
    by_ext = {r[1]: r for r in body}
    assert by_ext["trick-0"][0] == "'=cmd|' /C calc'!A0" and by_ext["trick-1"][0] == "'+SUM(A1:A2)"
    assert by_ext["trick-2"][0] == "'-2+3" and by_ext["trick-3"][0] == "'@import"
    assert by_ext["trick-4"][0] == 'Café "Zoë", Köln' and by_ext["trick-4"][3] == "ORG-4"
    assert by_ext["capped"][6] == "Webex Calling; Webex Meetings" and by_ext["capped"][4] == "provisioned"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", by_ext["row-00"][7])
    searched = web.get("/portal/customers/export.csv", params={"q": "hyperlink"}).content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(searched)))[1][1] == "'=HYPERLINK(1)"  # externalId cells too


# ---------------------------------------------------------------------------------------------- a customer's page


def test_detail_polls_while_the_customer_changes_and_stops_once_settled(web, db, partner):
    from wholesale.customers.models import Customer
    from wholesale.kit import clock

    (customer_id,) = add_customers(db, partner, {"name": "Settling Co", "status": "provisioning"})
    sign_in(web, partner.token)
    poll = f'hx-get="/portal/customers/{customer_id}/live" hx-trigger="every 2s"'
    page = web.get(f"/portal/customers/{customer_id}").text
    assert poll in page and "badge-provisioning" in page and "follows it by itself" in page
    fragment = web.get(f"/portal/customers/{customer_id}/live", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and poll in fragment.text
    with db.transaction() as s:
        s.get(Customer, customer_id).status = "provisioned"
    settled_fragment = web.get(f"/portal/customers/{customer_id}/live").text
    assert "badge-provisioned" in settled_fragment and "hx-trigger" not in settled_fragment  # polling stops
    with db.transaction() as s:
        s.get(Customer, customer_id).deleted_at = clock.now()
    gone = web.get(f"/portal/customers/{customer_id}/live")
    assert gone.status_code == 200 and 'data-testid="removed"' in gone.text and "hx-trigger" not in gone.text
    assert f"/portal/customers/{customer_id}/history" in gone.text


def test_detail_shows_usage_against_caps_and_package_names(web, db, partner):
    (customer_id,) = add_customers(
        db,
        partner,
        {
            "name": "Usage Co",
            "packages": {"webex_calling": (4, 10), "webex_meetings": (3, None), "webex_suite": (2, 2)},
        },
    )
    sign_in(web, partner.token)
    page = web.get(f"/portal/customers/{customer_id}").text
    calling = re.search(r'<li data-package="webex_calling">(.*?)</li>', page, re.S).group(1)
    assert "Webex Calling" in calling and 'max="10" value="4"' in calling and "4 of 10 assigned, 6 left" in calling
    suite = re.search(r'<li data-package="webex_suite">(.*?)</li>', page, re.S).group(1)
    assert "2 of 2 assigned, none left" in suite
    assert "3 assigned, no cap" in page and "webex_calling" not in re.sub(r'data-package="\w+"', "", page)


def test_compliance_review_reads_in_words_with_its_deadline(web, client, db, partner):
    from wholesale.compliance.models import ComplianceCase

    customer_id = api_customer(
        client,
        partner,
        customerInfo={"name": "Mahan Air"},
        address={"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"},
    )

    def case_id():
        with db.session(write=False) as s:
            return s.scalars(sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)).first()

    cid = wait_for(case_id, bool, timeout=60)
    sign_in(web, partner.token)
    page = wait_for(
        lambda: web.get(f"/portal/customers/{customer_id}").text, lambda html: "Under review" in html, timeout=30
    )
    assert "Services stay on meanwhile" in page and 'data-testid="deadline"' in page
    assert re.search(r"\(in (29|30) days\)", page) and "Review opened" in page
    assert "R14" not in page and "R12" not in page and ">pending_rpl_review<" not in page
    with db.transaction() as s:
        s.get(ComplianceCase, cid).status = "noncompliant"
    later = web.get(f"/portal/customers/{customer_id}").text
    assert "Not compliant" in later and "the customer and all its users are removed" in later
    assert "a review case is open" not in later


# ---------------------------------------------------------------------------------------------- edit, delete


def test_edit_shows_every_error_next_to_its_field_then_applies_the_change(web, client, db, partner):
    customer_id = api_customer(client, partner)
    settled(client, partner, customer_id)
    csrf = sign_in(web, partner.token)
    form_page = web.get(f"/portal/customers/{customer_id}/edit").text
    assert 'value="Milpitas"' in form_page and "screens the customer again" in form_page
    assert re.search(r'name="packages" value="webex_meetings" checked', form_page)
    base = {"csrf": csrf, "address_line1": "1 New Road", "city": "", "state": "CA", "country": "US"}
    bad = web.post(
        f"/portal/customers/{customer_id}/edit",
        data=base | {"external_id": "kept-ext", "packages": ["webex_meetings"], "limit_webex_meetings": "lots"},
    )
    assert bad.status_code == 400
    assert 'id="e-limit_webex_meetings"' in bad.text and 'id="e-city"' in bad.text  # both at once
    assert 'value="lots"' in bad.text and 'value="kept-ext"' in bad.text and 'value="1 New Road"' in bad.text
    assert "provisioningParameters" not in bad.text
    calling = web.post(
        f"/portal/customers/{customer_id}/edit",
        data=base | {"city": "Milpitas", "external_id": "kept-ext", "packages": ["webex_meetings", "webex_calling"]},
    )
    assert calling.status_code == 400 and 'id="e-location_name"' in calling.text  # calling needs a location
    assert client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).json()["packages"] == [
        "webex_meetings"
    ]
    done = web.post(
        f"/portal/customers/{customer_id}/edit",
        data=base
        | {
            "city": "Milpitas",
            "external_id": "kept-ext",
            "packages": ["webex_meetings", "webex_calling"],
            "limit_webex_calling": "5",
            "location_name": "Head Office",
            "location_timezone": "America/Los_Angeles",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == f"/portal/customers/{customer_id}?done=updated"
    assert "Change accepted" in web.get(done.headers["location"]).text
    body = settled(client, partner, customer_id)
    assert body["packages"] == ["webex_calling", "webex_meetings"] and body["externalId"] == "kept-ext"
    assert body["address"]["addressLine1"] == "1 New Road"
    limits = {p["name"]: p.get("quantityLimit") for p in body["resourceDetails"]["packages"]}
    assert limits["webex_calling"] == 5
    assert "0 of 5 assigned, 5 left" in web.get(f"/portal/customers/{customer_id}").text


def test_edit_and_delete_need_the_csrf_token(web, client, partner):
    customer_id = api_customer(client, partner)
    settled(client, partner, customer_id)
    sign_in(web, partner.token)
    form = {"packages": ["webex_meetings", "webex_suite"], "address_line1": "x", "city": "y", "country": "US"}
    for sent in ({}, {"csrf": "forged"}):
        assert web.post(f"/portal/customers/{customer_id}/edit", data=form | sent).status_code == 403
        assert web.post(f"/portal/customers/{customer_id}/delete", data={"confirm": "yes"} | sent).status_code == 403
    body = client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).json()
    assert body["status"] == "provisioned" and body["packages"] == ["webex_meetings"]


def test_another_partner_cannot_open_change_or_delete_the_customer(web, client, make_partner):
    owner, other = make_partner(), make_partner()
    customer_id = api_customer(client, owner)
    settled(client, owner, customer_id)
    csrf = sign_in(web, other.token)
    for path in ("", "/live", "/edit", "/history"):
        response = web.get(f"/portal/customers/{customer_id}{path}")
        assert response.status_code == 404 and "Milpitas" not in response.text, path
    edit = {"csrf": csrf, "packages": ["webex_meetings"], "address_line1": "x", "city": "y", "country": "US"}
    assert web.post(f"/portal/customers/{customer_id}/edit", data=edit).status_code == 404
    assert web.post(f"/portal/customers/{customer_id}/delete", data={"csrf": csrf, "confirm": "yes"}).status_code == 404
    assert client.get(f"/v1/wholesale/customers/{customer_id}", headers=owner.headers).json()["status"] == "provisioned"


def test_delete_asks_first_then_the_customer_reads_deleting_and_disappears(web, client, partner):
    customer_id = api_customer(client, partner, customerInfo={"name": "Short Lived"})
    settled(client, partner, customer_id)
    csrf = sign_in(web, partner.token)
    detail = web.get(f"/portal/customers/{customer_id}").text
    assert f'action="/portal/customers/{customer_id}/delete"' in detail
    asked = web.post(f"/portal/customers/{customer_id}/delete", data={"csrf": csrf})
    assert asked.status_code == 200 and "Delete Short Lived?" in asked.text and "cannot be undone" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).json()["status"] == (
        "provisioned"
    )  # nothing happened yet
    done = web.post(f"/portal/customers/{customer_id}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/portal/customers/{customer_id}?done=deleted"
    page = web.get(done.headers["location"])
    assert page.status_code in (200, 303)  # 303: already removed, to its history
    if page.status_code == 200:
        assert "badge-deleting" in page.text and "Removal accepted" in page.text
    wait_for(
        lambda: web.get(f"/portal/customers/{customer_id}/live").text,
        lambda html: 'data-testid="removed"' in html,
        timeout=60,
    )
    assert "Short Lived" not in web.get("/portal/customers").text
    assert "was removed" in web.get(f"/portal/customers/{customer_id}/history").text


def test_script_in_every_shown_field_is_escaped_on_list_detail_and_edit(web, client, partner):
    script = "<script>alert(1)</script>"
    customer_id = api_customer(
        client,
        partner,
        externalId=f"{script}-{uuid.uuid4().hex[:6]}",
        customerInfo={"name": f"Evil {script}"},
        address={
            "addressLine1": f"1 {script}",
            "city": "<img src=x onerror=alert(2)>",
            "stateOrProvince": "CA",
            "country": "US",
        },
    )
    settled(client, partner, customer_id)
    sign_in(web, partner.token)
    pages = {
        "list": web.get("/portal/customers").text,
        "search": web.get("/portal/customers", params={"q": script}).text,
        "detail": web.get(f"/portal/customers/{customer_id}").text,
        "edit": web.get(f"/portal/customers/{customer_id}/edit").text,
    }
    for name, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
    assert "Evil &lt;script&gt;" in pages["detail"] and "Evil &lt;script&gt;" in pages["edit"]
