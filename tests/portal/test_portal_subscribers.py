"""Subscriber management in the portal (issue 14) through the ASGI client: a partner admin's subscribers pages
(list, add, change package, remove, CSV import with its progress) and a customer admin's /portal/users, with the
API's own rules (caps, one package, R5) refused in plain words, CSRF, escaping and tenancy."""

import html
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from helpers import csrf_of, customer_body, wait_for

PACKAGES = ["webex_suite", "webex_calling", "webex_meetings"]


@pytest.fixture
def other_web(client, app):
    """A second browser."""
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def sign_in_token(web, token: str) -> str:
    """Sign in with an API token (a developer's way in); return the CSRF token for form posts."""
    response = web.post("/portal/signin", data={"csrf": csrf_of(web), "token": token})
    assert response.status_code == 303, response.text
    return csrf_of(web)


def sign_in_account(web, db, org_id: str, role: str) -> str:
    """Create a portal account of the org and sign in with its password; return the CSRF token."""
    from wholesale.identity import accounts
    from wholesale.identity.roles import Role

    email = f"{role}-{uuid.uuid4().hex[:8]}@people.example"
    with db.transaction() as s:
        password = accounts.create_user(s, org_id=org_id, email=email, role=Role(role))
    response = web.post("/portal/signin", data={"csrf": csrf_of(web), "email": email, "password": password})
    assert response.status_code == 303, response.text
    return csrf_of(web)


def provision(client, partner, limits: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    """Create a customer over the API (suite, calling, meetings; US location) and wait until it is provisioned."""
    body = customer_body(partner.template_id, packages=PACKAGES)
    if limits:
        body["provisioningParameters"]["packages"] = {"limits": limits}
    created = client.post("/v1/wholesale/customers", json=body, headers=partner.headers, params=extra)
    assert created.status_code == 202, created.text
    url = created.json()["url"].replace("http://testserver", "")
    customer = wait_for(
        lambda: client.get(url, headers=partner.headers, params=extra).json(),
        lambda c: c.get("status") not in ("provisioning", "updating"),
        timeout=30,
    )
    assert customer["status"] == "provisioned", customer
    return customer | {"adminEmail": body["customerInfo"]["primaryEmail"]}


def subscriber(db, email: str):
    from wholesale.subscribers.models import Subscriber

    with db.session(write=False) as s:
        return s.scalars(sa.select(Subscriber).where(Subscriber.email == email)).first()


def field_error(page: str, field: str) -> str:
    """The error shown next to a form field, as read."""
    match = re.search(rf'id="e-{field}"[^>]*>([^<]+)<', page)
    assert match, f"no error next to {field}"
    return html.unescape(match.group(1))


def add_form(csrf: str, **values: str) -> dict[str, str]:
    email = f"person-{uuid.uuid4().hex[:8]}@customer.example"
    return {
        "csrf": csrf,
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "package": "webex_meetings",
    } | values


# ---------------------------------------------------------------------------------------------- partner admins


def test_a_partner_admin_lists_adds_changes_and_removes_subscribers(web, client, partner, db):
    customer = provision(client, partner)
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, partner.token)
    listed = web.get(base)
    assert listed.status_code == 200
    assert customer["adminEmail"] in listed.text and "full administrator" in listed.text  # provisioning made it
    assert 'class="licence-name">Webex Suite<' in listed.text  # packages as people read them
    assert "1 in all" in listed.text

    form = add_form(csrf)
    added = web.post(base, data=form)
    assert added.status_code == 303 and added.headers["location"] == f"{base}?done=added"
    page = web.get(added.headers["location"]).text
    assert "The subscriber was added." in page and form["email"] in page and "Ada Lovelace" in page
    assert "2 in all" in page
    person = subscriber(db, form["email"])
    assert person.package == "webex_meetings" and person.status == "provisioned"

    # Change the package: calling needs a number or an extension, asked for in plain words, keeping the choice.
    edit = f"{base}/{person.id}"
    assert web.get(edit).status_code == 200
    refused = web.post(edit, data={"csrf": csrf, "package": "webex_calling"})
    assert refused.status_code == 400
    assert (
        field_error(refused.text, "phone")
        == "Webex Calling includes calling: enter a phone number, an extension, or both."
    )
    assert re.search(r'<option value="webex_calling"\s+selected', refused.text)
    changed = web.post(edit, data={"csrf": csrf, "package": "webex_calling", "extension": "4321"})
    assert changed.status_code == 303 and changed.headers["location"] == f"{base}?done=changed"
    assert subscriber(db, form["email"]).package == "webex_calling"
    assert subscriber(db, form["email"]).extension == "4321"

    # Remove: a confirmation page first, then the subscriber goes.
    asked = web.post(f"{edit}/delete", data={"csrf": csrf})
    assert (
        asked.status_code == 200
        and f"Remove {form['email']}?" in asked.text
        and 'name="confirm" value="yes"' in asked.text
    )
    assert subscriber(db, form["email"]) is not None
    removed = web.post(f"{edit}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert removed.status_code == 303 and removed.headers["location"] == f"{base}?done=removed"
    assert subscriber(db, form["email"]) is None
    assert "licence is free again" in web.get(removed.headers["location"]).text

    # The full administrator stays as long as the customer: no remove button, and a forged remove is refused.
    admin = subscriber(db, customer["adminEmail"])
    assert "Remove " not in web.get(f"{base}/{admin.id}").text
    kept = web.post(f"{base}/{admin.id}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert kept.status_code == 409 and "stays as long as the customer does" in kept.text
    assert subscriber(db, customer["adminEmail"]) is not None


def test_the_cap_and_the_one_package_rule_are_refused_in_plain_words_keeping_what_was_typed(web, client, partner, db):
    customer = provision(client, partner, limits={"webex_calling": 2})
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, partner.token)
    for extension in ("2001", "2002"):
        assert web.post(base, data=add_form(csrf, package="webex_calling", extension=extension)).status_code == 303
    page = web.get(base).text
    assert "2 of 2 used, none left" in page
    typed = add_form(csrf, package="webex_calling", extension="2003", first_name="Grace", last_name="Hopper")
    refused = web.post(base, data=typed)
    assert refused.status_code == 409
    assert field_error(refused.text, "package").startswith(
        "This customer has used all 2 Webex Calling licences it may assign."
    )
    assert "409500" not in refused.text and "packages:" not in refused.text
    for name in ("email", "first_name", "last_name", "extension"):
        assert f'value="{typed[name]}"' in refused.text, name  # what was typed stays
    assert subscriber(db, typed["email"]) is None

    # The one-package rule: a package the customer does not hold, and none at all.
    other = web.post(base, data=add_form(csrf, package="webex_voice"))
    assert other.status_code == 400
    assert field_error(other.text, "package") == (
        "This customer does not have Webex Voice. It has: Webex Calling, Webex Meetings, Webex Suite."
    )
    none = web.post(base, data=add_form(csrf, package=""))
    assert (
        none.status_code == 400
        and field_error(none.text, "package") == "Choose one package: every user holds exactly one."
    )
    bad_email = web.post(base, data=add_form(csrf, email="not-an-email"))
    assert field_error(bad_email.text, "email") == "Enter an email address like name@example.com."
    taken = web.post(base, data=add_form(csrf, email=customer["adminEmail"]))
    assert taken.status_code == 400
    assert field_error(taken.text, "email") == "This email address already belongs to another user."


def test_form_posts_without_the_csrf_token_are_refused(web, client, partner, db):
    customer = provision(client, partner)
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, partner.token)
    admin = subscriber(db, customer["adminEmail"])
    for sent in ({}, {"csrf": "forged"}):
        form = add_form(csrf) | {"csrf": sent.get("csrf", "")}
        refused = web.post(base, data=form)
        assert refused.status_code == 403 and "security token" in refused.text
        assert subscriber(db, form["email"]) is None
        assert web.post(f"{base}/{admin.id}", data={"package": "webex_meetings"} | sent).status_code == 403
        assert (
            web.post(
                f"{base}/import", data=sent, files={"file": ("a.csv", b"email,package\na@b.example,webex_meetings\n")}
            ).status_code
            == 403
        )
    assert subscriber(db, customer["adminEmail"]).package == "webex_suite"


def test_a_script_in_a_name_is_shown_as_text(web, client, partner, db):
    customer = provision(client, partner)
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, partner.token)
    script = "<script>alert(1)</script>"
    form = add_form(csrf, first_name=script, last_name='"><img src=x onerror=alert(2)>')
    assert web.post(base, data=form).status_code == 303
    for page in (web.get(base).text, web.get(f"{base}/{subscriber(db, form['email']).id}").text):
        assert script not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page
    # Typed values that come back with an error are escaped too.
    again = web.post(base, data=add_form(csrf, email="bad", first_name=script))
    assert again.status_code == 400 and script not in again.text and "&lt;script&gt;" in again.text


def test_another_partner_cannot_open_this_customers_subscribers_by_url(web, other_web, client, make_partner, db):
    owner, stranger = make_partner(), make_partner()
    customer = provision(client, owner)
    base = f"/portal/customers/{customer['id']}/subscribers"
    admin = subscriber(db, customer["adminEmail"])
    csrf = sign_in_token(other_web, stranger.token)
    for path in (base, f"{base}/{admin.id}"):
        response = other_web.get(path)
        assert response.status_code == 404 and customer["adminEmail"] not in response.text, path
    form = add_form(csrf)
    assert other_web.post(base, data=form).status_code == 404
    assert other_web.post(f"{base}/{admin.id}", data={"csrf": csrf, "package": "webex_meetings"}).status_code == 404
    assert other_web.post(f"{base}/{admin.id}/delete", data={"csrf": csrf, "confirm": "yes"}).status_code == 404
    assert subscriber(db, form["email"]) is None and subscriber(db, customer["adminEmail"]).package == "webex_suite"
    # Nor through its own customer's URL: the subscriber id must be that customer's.
    mine = provision(client, stranger)
    assert other_web.get(f"/portal/customers/{mine['id']}/subscribers/{admin.id}").status_code == 404
    # Nor another partner's import.
    owner_csrf = sign_in_token(web, owner.token)
    started = web.post(
        f"{base}/import",
        data={"csrf": owner_csrf},
        files={"file": ("people.csv", b"email,package\nimp@customer.example,webex_meetings\n", "text/csv")},
    )
    assert started.status_code == 303
    import_id = started.headers["location"].rsplit("/", 1)[1]
    assert other_web.get(f"/portal/customers/{mine['id']}/subscribers/import/{import_id}").status_code == 404


def test_acting_for_a_sub_partner_reaches_its_customers_subscribers(web, client, make_partner):
    parent = make_partner()
    sub = make_partner(parent=parent.org_id)
    customer = provision(client, sub)
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, parent.token)
    assert web.get(base).status_code == 404  # acting for the partner itself
    assert web.post("/portal/acting", data={"csrf": csrf, "org_id": sub.org_id}).status_code == 303
    assert web.get(base).status_code == 200
    assert web.post(base, data=add_form(csrf)).status_code == 303


# ---------------------------------------------------------------------------------------------- CSV import


def csv_of(rows: list[str], header: str = "email,firstName,lastName,package,primaryPhoneNumber,extension") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_a_csv_import_shows_its_progress_then_the_failed_rows_in_plain_words(web, client, partner, db):
    customer = provision(client, partner, limits={"webex_calling": 1})
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, partner.token)
    tag = uuid.uuid4().hex[:6]
    rows = [
        f"one-{tag}@import.example,Ann,One,webex_meetings,,",
        f"two-{tag}@import.example,Bob,Two,webex_calling,,3001",
        f"three-{tag}@import.example,Cy,Three,webex_calling,,3002",  # the cap of 1 is used by row 2
        f"four-{tag}@import.example,Di,Four,webex_teleporter,,",
        "not-an-email,Ed,Five,webex_meetings,,",
        f"six-{tag}@import.example,,,WEBEX_SUITE,,",
    ]
    started = web.post(base + "/import", data={"csrf": csrf}, files={"file": ("people.csv", csv_of(rows), "text/csv")})
    assert started.status_code == 303 and started.headers["location"].startswith(f"{base}/import/")
    progress = started.headers["location"]
    first = web.get(progress)
    assert first.status_code == 200 and "<progress" in first.text and "of 6 rows done" in first.text
    done = wait_for(lambda: web.get(progress).text, lambda page: "Finished" in page, timeout=30, interval=0.2)
    assert 'hx-trigger="every 1s"' not in done  # it stops refreshing itself once finished
    assert 'data-testid="import-percent">100 %' in done
    assert re.search(r'data-testid="import-created">2<', done) and re.search(r'data-testid="import-failed">4<', done)
    assert "This customer has used the one Webex Calling licence it may assign." in done
    assert "“webex_teleporter” is not a package a user can hold." in done
    assert "Enter an email address like name@example.com." in done
    assert "“WEBEX_SUITE” is not a package a user can hold." in done
    assert "Input should be" not in done and "409500" not in done
    assert subscriber(db, f"one-{tag}@import.example").package == "webex_meetings"
    assert subscriber(db, f"three-{tag}@import.example") is None


@pytest.fixture(scope="module")
def import_target(client):
    """A partner with a provisioned customer, shared by the bad-file cases."""
    from conftest import PartnerCtx
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token
    from wholesale.partners.service import create_partner

    with get_database().transaction() as session:
        made = create_partner(session, name=f"Partner {uuid.uuid4().hex[:6]}")
        token = create_token(session, org_id=made.org_id, role=Role.PARTNER_ADMIN)
        template = add_template(session, made.org_id, TemplateIn(name="Standard"))
        partner = PartnerCtx(made.org_id, token, template.id)
    return partner, provision(client, partner)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "The file is empty"),
        (b"   \n\n", "The file is empty"),
        (b"email,package\n", "has a header line but no rows"),
        (b"mail,package\na@b.example,webex_meetings\n", "this file has unknown column 'mail'; no email column"),
        (b"email,package,colour\na@b.example,webex_meetings,red\n", "unknown column 'colour'"),
        ("email,package\nzoë@b.example,webex_meetings\n".encode("latin-1"), "not UTF-8 text"),
        (b"email,package\na@b.example,webex_meetings,extra\n", "Row 1 has 3 cells but the header names 2 columns"),
        (
            csv_of([f"p{i}@b.example,,,webex_meetings,," for i in range(1001)]),
            "The file has 1,001 rows; one import takes up to 1,000",
        ),
    ],
    ids=["empty", "blank", "no-rows", "wrong-columns", "unknown-column", "not-utf8", "extra-cell", "too-many"],
)
def test_a_bad_csv_is_refused_whole_saying_why(web, db, import_target, data, says):
    from wholesale.subscribers.models import BulkImport

    partner, customer = import_target
    base = f"/portal/customers/{customer['id']}/subscribers"
    csrf = sign_in_token(web, partner.token)
    refused = web.post(base + "/import", data={"csrf": csrf}, files={"file": ("people.csv", data, "text/csv")})
    assert refused.status_code == 400
    assert says in field_error(refused.text, "file")
    with db.session(write=False) as s:
        count = s.scalar(
            sa.select(sa.func.count()).select_from(BulkImport).where(BulkImport.customer_id == customer["id"])
        )
    assert count == 0


def test_the_csv_reader_takes_a_byte_order_mark_any_column_case_and_blank_lines():
    from wholesale.subscribers import bulk

    rows = bulk.rows_from_csv("\ufeffEMAIL, Package ,firstName\n a@b.example , webex_meetings,\n\n".encode())
    assert rows == [{"email": "a@b.example", "package": "webex_meetings"}]


# ---------------------------------------------------------------------------------------------- customer admins


def test_a_customer_admin_sees_only_its_org_and_cannot_reach_partner_pages(web, client, partner, db):
    customer = provision(client, partner)
    neighbour = provision(client, partner)
    partner_web = other_client(web)
    stranger = add_form(sign_in_token(partner_web, partner.token))
    assert partner_web.post(f"/portal/customers/{neighbour['id']}/subscribers", data=stranger).status_code == 303

    csrf = sign_in_account(web, db, customer["orgId"], "customer-admin")
    home = web.get("/portal")
    assert home.status_code == 303 and home.headers["location"] == "/portal/users"
    users = web.get("/portal/users")
    assert users.status_code == 200 and customer["adminEmail"] in users.text
    assert 'href="/portal/users"' in users.text and 'href="/portal/customers"' not in users.text  # its own nav
    assert stranger["email"] not in users.text and neighbour["adminEmail"] not in users.text
    for path in (
        "/portal/customers",
        "/portal/customers/new",
        "/portal/templates",
        "/portal/billing",
        "/portal/activity",
        "/portal/team",
        "/portal/review",
        f"/portal/customers/{customer['id']}",
        f"/portal/customers/{customer['id']}/subscribers",
    ):
        response = web.get(path)
        assert response.status_code in (403, 404), path
        assert customer["adminEmail"] not in response.text, path
    other = subscriber(db, stranger["email"])
    assert web.get(f"/portal/users/{other.id}").status_code == 404
    assert web.post(f"/portal/users/{other.id}", data={"csrf": csrf, "package": "webex_suite"}).status_code == 404
    assert subscriber(db, stranger["email"]).package == "webex_meetings"
    # A customer admin cannot add to another customer by changing the hidden field.
    forged = add_form(csrf) | {"customer": neighbour["id"]}
    assert web.post("/portal/users", data=forged).status_code == 404 and subscriber(db, forged["email"]) is None
    # And a partner admin has no /portal/users page.
    assert partner_web.get("/portal/users").status_code == 403


def other_client(web):
    from fastapi.testclient import TestClient

    return TestClient(web.app, raise_server_exceptions=False, follow_redirects=False)


def test_a_customer_admin_adds_users_and_changes_packages_but_cannot_downgrade_the_full_admin(web, client, partner, db):
    customer = provision(client, partner, limits={"webex_suite": 2})
    csrf = sign_in_account(web, db, customer["orgId"], "customer-admin")
    page = web.get("/portal/users").text
    assert "1 of 2 used, 1 left" in page  # the full admin holds the customer's package (R5)
    form = add_form(csrf, customer=customer["id"], first_name="Lin")
    added = web.post("/portal/users", data=form)
    assert added.status_code == 303 and added.headers["location"] == "/portal/users?done=added"
    assert "The user was added." in web.get(added.headers["location"]).text
    person = subscriber(db, form["email"])
    moved = web.post(f"/portal/users/{person.id}", data={"csrf": csrf, "package": "webex_suite", "extension": "5001"})
    assert moved.status_code == 303
    assert subscriber(db, form["email"]).package == "webex_suite"
    full = web.post(
        "/portal/users", data=add_form(csrf, customer=customer["id"], package="webex_suite", extension="5002")
    )
    assert full.status_code == 409
    assert field_error(full.text, "package").startswith(
        "This customer has used all 2 Webex Suite licences it may assign."
    )

    admin = subscriber(db, customer["adminEmail"])
    refused = web.post(f"/portal/users/{admin.id}", data={"csrf": csrf, "package": "webex_meetings"})
    assert refused.status_code == 409
    assert field_error(refused.text, "package") == (
        f"{customer['adminEmail']} is this customer's full administrator and must keep Webex Suite or a higher "
        "package; Webex Meetings is lower. Nothing was changed."
    )
    assert "R5" not in refused.text and "409530" not in refused.text
    assert subscriber(db, customer["adminEmail"]).package == "webex_suite"  # nothing changed
    with db.session(write=False) as s:
        from wholesale.customers.models import CustomerPackageRow

        rows = {
            r.name: r.assigned
            for r in s.scalars(sa.select(CustomerPackageRow).where(CustomerPackageRow.customer_id == customer["id"]))
        }
    assert rows["webex_suite"] == 2 and rows["webex_meetings"] == 0


def test_each_rule_refusal_has_plain_words_without_codes_or_field_paths():
    """The wording reads the rules' own messages: each refusal, raised by the rule itself, reads in plain words."""
    from types import SimpleNamespace as Row

    from wholesale.kit.errors import DomainError
    from wholesale.subscribers import plain, rules

    customer = Row(external_id="ext-1", id="C1", status="provisioning", org_id=None, country="US")
    held = {"webex_meetings": Row(status="provisioned")}

    def refusal(call) -> DomainError:
        try:
            call()
        except DomainError as exc:
            return exc
        raise AssertionError("not refused")

    cases = {
        lambda: rules.check_unit_left(
            customer, "webex_suite", Row(status="provisioned", quantity_limit=10, assigned=10)
        ): (
            "package",
            "This customer has used all 10 Webex Suite licences it may assign.",
        ),
        lambda: rules.check_unit_left(
            customer, "webex_suite", Row(status="provisioning", quantity_limit=1, assigned=0)
        ): (
            "package",
            "Webex Suite is not ready for this customer yet; try again once it is set up.",
        ),
        lambda: rules.check_package(
            customer, "attendant_console", held | {"attendant_console": Row(status="provisioned")}
        ): (
            "package",
            "Attendant Console is an add-on: the customer also needs one of Customer Assist, Webex Calling, Webex Suite.",
        ),
        lambda: rules.one_package(None, ["webex_calling", "webex_meetings"]): (
            "package",
            "Choose one package: every user holds exactly one.",
        ),
        lambda: rules.normalise_phone("12", "US"): ("phone", "“12” is not a phone number that can be dialled."),
        lambda: rules.check_open(customer): (
            "_form",
            "This customer is still being set up: add users once it is provisioned.",
        ),
    }
    for call, (field, words) in cases.items():
        exc = refusal(call)
        shown = plain.explain_all(exc.errors)
        assert list(shown) == [field] and shown[field].startswith(words), shown
        assert str(exc.error_code) not in shown[field] and "packages:" not in shown[field]
    for code, field in ((409520, "phone"), (409521, "extension")):
        error = rules.integrity_error(
            Row(orig="UNIQUE constraint failed: subscribers." + ("phone" if field == "phone" else "extension"))
        )
        assert error.error_code == code and list(plain.explain_all(error.errors)) == [field]
