"""Subscriber API end to end: the wire (spec shapes, Location, 204s, Link pagination), the consent move with its
email job, precheck, customer removal by its workflow, list filters, tenancy, scopes and customer-admin tokens;
every response checked against the spec. The rules themselves (R5, R7, R8, R9, calling, email) are tested at
service level in test_rules_service.py."""

import time

import pytest
import sqlalchemy as sa

from helpers import assert_error_body, validate_against_spec, wait_for
from subscribers_support import consent_links, consent_path, new_email, sub_body

URL = "/v1/wholesale/subscribers"


def _create(client, partner, body, status=200):
    response = client.post(URL, json=body, headers=partner.headers)
    assert response.status_code == status, response.text
    validate_against_spec(response.json(), "Subscriber")
    assert response.headers["location"].endswith(f"{URL}/{response.json()['id']}")
    return response.json()


def _package(client, partner, customer_id, name):
    customer = client.get(f"/v1/wholesale/customers/{customer_id}", headers=partner.headers).json()
    return next(p for p in customer["resourceDetails"]["packages"] if p["name"] == name)


# ---------------------------------------------------------------------------------------------- create, read, change, delete


def test_create_meetings_subscriber_200_read_back_change_and_delete(client, partner, make_customer):
    customer = make_customer(partner, limits={"webex_meetings": 1})
    body = sub_body(customer.id, "webex_meetings", email="  Ada.Lovelace@Example.COM ")
    created = _create(client, partner, body)
    assert created["status"] == "provisioned" and created["personId"]
    assert created["email"] == "ada.lovelace@example.com"  # normalised
    assert created["packages"] == ["webex_meetings"] and created["package"] == "webex_meetings"
    assert created["customerId"] == customer.id and created["externalCustomerId"] == customer.external_id
    got = client.get(f"{URL}/{created['id']}", headers=partner.headers)
    assert got.status_code == 200 and got.json() == created
    validate_against_spec(got.json(), "Subscriber")
    org_users = client.get(f"/v1/organizations/{customer.org_id}", headers=partner.headers)
    assert org_users.status_code == 200
    # A package change answers the changed subscriber (R8: one unit moves, see test_rules_service).
    moved = client.put(
        f"{URL}/{created['id']}",
        json={"packages": ["webex_calling"], "provisioningParameters": {"extension": "3001"}},
        headers=partner.headers,
    )
    assert moved.status_code == 200, moved.text
    validate_against_spec(moved.json(), "Subscriber")
    assert moved.json()["packages"] == ["webex_calling"] and moved.headers["location"].endswith(created["id"])
    assert _package(client, partner, customer.id, "webex_meetings")["assigned"] == 0
    # A delete is a 204 with no body, and the unit is free at once (R8).
    deleted = client.delete(f"{URL}/{created['id']}", headers=partner.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"{URL}/{created['id']}", headers=partner.headers).status_code == 404
    assert _package(client, partner, customer.id, "webex_calling")["assigned"] == 0


def test_unknown_package_value_is_400(client, partner):
    # The request schema refuses it before any customer is looked at.
    assert_error_body(client.post(URL, json=sub_body("any-customer", "webex_gold"), headers=partner.headers), 400)


def test_customer_put_refuses_limit_below_assigned_after_subscribers(client, partner, make_customer, db):
    customer = make_customer(partner, packages=["webex_meetings"], limits={"webex_meetings": 3})
    for _ in range(2):
        _create(client, partner, sub_body(customer.id))
    from helpers import customer_body

    body = {"packages": ["webex_meetings"], "provisioningParameters": {"packages": {"limits": {"webex_meetings": 1}}}}
    assert_error_body(client.put(f"/v1/wholesale/customers/{customer.id}", json=body, headers=partner.headers), 409)
    assert customer_body  # the helper is the create body's source of truth


def _admin_subscriber(client, partner, customer):
    items = client.get(URL, params={"email": customer.admin_email}, headers=partner.headers).json()["items"]
    assert len(items) == 1
    return items[0]


# ---------------------------------------------------------------------------------------------- consent move


def test_free_account_moves_after_consent(client, partner, customer, free_account, db):
    from wholesale.identity.models import User
    from wholesale.subscribers.models import Subscriber

    email = free_account()
    created = _create(client, partner, sub_body(customer.id, email=email), status=202)
    assert created["status"] == "pending_user_migration" and "personId" not in created
    with db.session(write=False) as s:
        user_id = s.get(Subscriber, created["id"]).user_id
        assert s.get(User, user_id).org_id != customer.org_id
    # The consent email job ran: the link is in the email (the simulated mailer's outbox).
    link = consent_links(created["id"], 1)[0]
    assert link.startswith("http") and "/v1/subscribers/consent/" in link and link.split("/")[-1]
    # Re-send (both paths of the spec).
    for path in (f"/v1/subscribers/{created['id']}/emails/consentMove", f"{URL}/{created['id']}/emails/consentMove"):
        resent = client.post(path, headers=partner.headers)
        assert resent.status_code == 204 and resent.content == b""
    consent_links(created["id"], 3)
    listed = client.get(
        URL, params={"status": "pending_user_migration", "customerId": customer.id}, headers=partner.headers
    ).json()["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    time.sleep(0.01)
    accepted = client.post(consent_path(consent_links(created["id"], 3)[-1]))
    assert accepted.status_code == 200 and accepted.json() == {"subscriberId": created["id"], "status": "provisioned"}
    after = client.get(f"{URL}/{created['id']}", headers=partner.headers).json()
    validate_against_spec(after, "Subscriber")
    assert (
        after["status"] == "provisioned"
        and after["personId"] == user_id
        and after["lastStatusChange"] > after["created"]
    )
    with db.session(write=False) as s:
        assert s.get(User, user_id).org_id == customer.org_id
    assert_error_body(client.post(consent_path(consent_links(created["id"], 3)[-1])), 404)  # used once
    assert_error_body(client.post(f"/v1/subscribers/{created['id']}/emails/consentMove", headers=partner.headers), 409)


# ---------------------------------------------------------------------------------------------- validate


def test_validate_succeeds_without_writing(client, partner, customer, db):
    from wholesale.subscribers.models import Subscriber

    body = sub_body(customer.id, "webex_calling", extension="88")
    response = client.post(f"{URL}/validate", json=body, headers=partner.headers)
    assert response.status_code == 200, response.text
    validate_against_spec(response.json(), "SubscriberProvisioningPrecheckResponse")
    with db.session(write=False) as s:
        assert s.scalars(sa.select(Subscriber).where(Subscriber.email == body["email"])).first() is None
    # The spec's own example: customerId + email, no package.
    assert (
        client.post(
            f"{URL}/validate", json={"customerId": customer.id, "email": new_email()}, headers=partner.headers
        ).status_code
        == 200
    )


def _precheck(client, headers, body) -> tuple[int, bytes]:
    """A precheck's status and body, its trackingId blanked (the only part that differs between two calls)."""
    response = client.post(f"{URL}/validate", json=body, headers=headers)
    return response.status_code, response.content.replace(response.headers["trackingid"].encode(), b"")


def test_validate_tells_a_tenant_nothing_of_another_tenants_users(
    client, make_partner, make_customer, free_account, customer_admin_headers
):
    """Issue 16, probe 11: another partner's (or, for a customer admin, another customer's) user's email answers
    exactly as an email nobody has; the caller's own duplicates are still reported (10022)."""
    a, b = make_partner(), make_partner()
    customer_a, sibling_a = make_customer(a), make_customer(a)
    customer_b = make_customer(b, packages=["webex_meetings"])
    subscriber = _create(client, a, sub_body(customer_a.id))["email"]
    pending = free_account()  # a free account whose move partner A waits for
    _create(client, a, sub_body(customer_a.id, email=pending), status=202)
    theirs = (subscriber, pending, customer_a.admin_email)
    variants = (
        lambda e, c: {"customerId": c.id, "email": e, "packages": ["webex_meetings"]},
        lambda e, c: {"customerId": c.id, "email": e},  # the spec's example: no package
        lambda e, c: {"email": e},
        lambda e, c: {"customerId": c.id, "email": e, "packages": ["webex_suite"]},  # fails on its own (not held)
    )
    for variant in variants:
        for caller, customer in ((b.headers, customer_b), (customer_admin_headers(sibling_a.org_id), sibling_a)):
            nobodys = _precheck(client, caller, variant(new_email(), customer))
            for email in theirs:
                assert _precheck(client, caller, variant(email, customer)) == nobodys, (variant, email)
    # A's own tenant hears of its duplicates.
    for email in theirs:
        for body in (variants[0](email, customer_a), variants[2](email, customer_a)):
            assert (
                assert_error_body(client.post(f"{URL}/validate", json=body, headers=a.headers), 400)["errors"][0][
                    "errorCode"
                ]
                == 10022
            )
    assert _precheck(client, a.headers, variants[0](new_email(), customer_a))[0] == 200
    # Emails are unique platform-wide: B's create of A's subscriber's email fails, naming nobody.
    refused = client.post(URL, json=sub_body(customer_b.id, email=subscriber), headers=b.headers)
    assert assert_error_body(refused, 400)["errors"][0]["errorCode"] == 10022
    for secret in (a.org_id, customer_a.id, customer_a.org_id):
        assert secret not in refused.text


# ---------------------------------------------------------------------------------------------- customer removal


def test_customer_delete_removes_its_subscribers_and_users(client, partner, make_customer, db):
    from wholesale.customers.models import CustomerPackageRow
    from wholesale.identity.models import User
    from wholesale.subscribers.models import Subscriber

    customer = make_customer(partner)
    ids = [_create(client, partner, sub_body(customer.id))["id"] for _ in range(3)]
    assert client.delete(f"/v1/wholesale/customers/{customer.id}", headers=partner.headers).status_code == 202
    wait_for(
        lambda: client.get(f"/v1/wholesale/customers/{customer.id}", headers=partner.headers).status_code,
        lambda c: c == 404,
    )
    for sid in ids:
        assert client.get(f"{URL}/{sid}", headers=partner.headers).status_code == 404
    with db.session(write=False) as s:
        assert s.scalars(sa.select(Subscriber).where(Subscriber.customer_id == customer.id)).all() == []
        assert s.scalars(sa.select(User).where(User.org_id == customer.org_id)).all() == []
        assert s.scalars(sa.select(CustomerPackageRow).where(CustomerPackageRow.customer_id == customer.id)).all() == []
    # The emails are free again.
    again = make_customer(partner, customerInfo={"name": "Again", "primaryEmail": customer.admin_email})
    assert again.admin_email == customer.admin_email


# ---------------------------------------------------------------------------------------------- list


def test_list_filters_sorting_and_link_pagination(client, partner, make_customer, db):
    from wholesale.subscribers.models import Subscriber

    a = make_customer(partner)
    b = make_customer(partner)
    made = [_create(client, partner, sub_body(a.id)) for _ in range(5)] + [
        _create(client, partner, sub_body(b.id)) for _ in range(2)
    ]
    everyone = client.get(URL, params={"customerId": a.id, "max": 2}, headers=partner.headers)
    assert everyone.status_code == 200
    validate_against_spec(everyone.json(), "SubscriberListResponse")
    ids, page = [], everyone
    while True:
        ids += [i["id"] for i in page.json()["items"]]
        if "link" not in page.headers:
            break
        link = page.headers["link"]
        assert link.startswith("<http") and 'rel="next"' in link and f"customerId={a.id}" in link
        page = client.get(link[1 : link.index(">")].replace("http://testserver", ""), headers=partner.headers)
    admin_a = _admin_subscriber(client, partner, a)
    assert ids == [admin_a["id"]] + [m["id"] for m in made[:5]]  # created ASC by default
    desc = client.get(
        URL, params={"customerId": a.id, "sortOrder": "DESC", "max": 100}, headers=partner.headers
    ).json()["items"]
    assert [i["id"] for i in desc] == list(reversed(ids))
    by_ext = client.get(URL, params={"externalCustomerId": b.external_id}, headers=partner.headers).json()["items"]
    assert {i["id"] for i in by_ext} == {m["id"] for m in made[5:]} | {_admin_subscriber(client, partner, b)["id"]}
    one = made[2]
    assert [
        i["id"] for i in client.get(URL, params={"personId": one["personId"]}, headers=partner.headers).json()["items"]
    ] == [one["id"]]
    assert [
        i["id"]
        for i in client.get(URL, params={"email": one["email"].upper()}, headers=partner.headers).json()["items"]
    ] == [one["id"]]
    # after / lastStatusChange: epoch milliseconds or ISO-8601.
    with db.session(write=False) as s:
        pivot = s.get(Subscriber, made[1]["id"]).created
    ms = str(int(pivot.timestamp() * 1000) + 1)  # epoch ms drop the microseconds: round up past the pivot
    iso = pivot.isoformat().replace("+00:00", "Z")
    for value in (ms, iso):
        later = client.get(URL, params={"customerId": a.id, "after": value}, headers=partner.headers).json()["items"]
        assert [i["id"] for i in later] == [m["id"] for m in made[2:5]]
        changed = client.get(
            URL,
            params={"customerId": a.id, "lastStatusChange": value, "sortBy": "lastStatusChange"},
            headers=partner.headers,
        ).json()["items"]
        assert [i["id"] for i in changed] == [m["id"] for m in made[2:5]]
    for item in desc:
        validate_against_spec(item, "Subscriber")


@pytest.mark.parametrize(
    "params",
    [
        {"status": "active"},
        {"sortBy": "email"},
        {"sortOrder": "UP"},
        {"after": "yesterday"},
        {"lastStatusChange": "2026-13-01"},
        {"max": "-1"},
        {"offset": "x"},
    ],
)
def test_list_refuses_bad_filters(client, partner, params):
    assert_error_body(client.get(URL, params=params, headers=partner.headers), 400)


def test_list_max_default_50_and_at_most_100(client, partner, make_customer, db):
    from wholesale.subscribers import bulk, service
    from wholesale.subscribers.rules import Wanted

    customer = make_customer(partner, packages=["webex_meetings"])
    with db.transaction() as s:
        target = bulk.customer_for_import(s, customer.id)
        for _ in range(120):
            service.provision(s, target, Wanted(email=new_email(), package="webex_meetings"))
    assert len(client.get(URL, params={"customerId": customer.id}, headers=partner.headers).json()["items"]) == 50
    capped = client.get(URL, params={"customerId": customer.id, "max": 1000}, headers=partner.headers)
    assert len(capped.json()["items"]) == 100 and "max=100" in capped.headers["link"]


# ---------------------------------------------------------------------------------------------- tenancy


def test_other_partner_gets_404_everywhere(client, partner, customer, make_partner):
    created = _create(client, partner, sub_body(customer.id))
    other = make_partner()
    sid = created["id"]
    assert_error_body(client.get(f"{URL}/{sid}", headers=other.headers), 404)
    assert_error_body(client.put(f"{URL}/{sid}", json={"packages": ["webex_suite"]}, headers=other.headers), 404)
    assert_error_body(client.delete(f"{URL}/{sid}", headers=other.headers), 404)
    assert_error_body(client.post(f"/v1/subscribers/{sid}/emails/consentMove", headers=other.headers), 404)
    assert_error_body(client.post(URL, json=sub_body(customer.id), headers=other.headers), 404)
    assert client.get(URL, params={"customerId": customer.id}, headers=other.headers).json()["items"] == []


def test_sub_partner_scope(client, partner, make_partner, make_customer):
    sub = make_partner(parent=partner.org_id)
    mine = make_customer(sub)
    created = _create(client, sub, sub_body(mine.id))
    on_behalf = {"onBehalfOfSubPartnerOrgId": sub.org_id}
    assert client.get(f"{URL}/{created['id']}", params=on_behalf, headers=partner.headers).status_code == 200
    assert client.get(f"{URL}/{created['id']}", headers=partner.headers).status_code == 404


def test_customer_admin_sees_only_its_org_and_changes_packages_within_caps(
    client, partner, make_customer, customer_admin_headers
):
    customer = make_customer(partner, limits={"webex_suite": 2})
    other = make_customer(partner)
    a = _create(client, partner, sub_body(customer.id))
    theirs = _create(client, partner, sub_body(other.id))
    headers = customer_admin_headers(customer.org_id)
    listed = client.get(URL, headers=headers).json()["items"]
    assert {i["id"] for i in listed} == {a["id"], _admin_subscriber(client, partner, customer)["id"]}
    assert_error_body(client.get(f"{URL}/{theirs['id']}", headers=headers), 404)
    assert_error_body(client.put(f"{URL}/{theirs['id']}", json={"packages": ["webex_suite"]}, headers=headers), 404)
    assert client.get(URL, params={"customerId": other.id}, headers=headers).json()["items"] == []
    changed = client.put(
        f"{URL}/{a['id']}",
        json={"packages": ["webex_suite"], "provisioningParameters": {"extension": "501"}},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    b = _create(client, partner, sub_body(customer.id))
    refused = client.put(
        f"{URL}/{b['id']}",
        json={"packages": ["webex_suite"], "provisioningParameters": {"extension": "502"}},
        headers=headers,
    )
    assert "0 left" in assert_error_body(refused, 409)["message"]  # the full admin and a hold both units
    admin = _admin_subscriber(client, partner, customer)
    assert_error_body(client.put(f"{URL}/{admin['id']}", json={"packages": ["webex_meetings"]}, headers=headers), 409)


def test_scopes_are_required(client, make_partner, customer):
    reader_only = make_partner(scopes=["spark-admin:wholesale_subscribers_read"])
    assert_error_body(client.post(URL, json=sub_body(customer.id), headers=reader_only.headers), 403)
    assert_error_body(client.get(URL), 401)
