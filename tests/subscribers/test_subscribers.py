"""Subscriber API: R7 one package, R8 caps, R9 add-on, calling parameters, email, R5 admin tier, consent move,
delete, customer removal, list filters and pagination, tenancy; every response checked against the spec."""

import time

import pytest
import sqlalchemy as sa

from helpers import assert_error_body, validate_against_spec, wait_for
from subscribers_support import new_email, sub_body

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


# ---------------------------------------------------------------------------------------------- create and read


def test_create_meetings_subscriber_200_and_read_back(client, partner, customer):
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


def test_subscriber_is_a_user_of_the_customer_org(client, partner, customer, db):
    from wholesale.identity.models import User

    created = _create(client, partner, sub_body(customer.id))
    with db.session(write=False) as s:
        user = s.get(User, created["personId"])
    assert user.org_id == customer.org_id and user.first_name == "Ada" and user.email == created["email"]


def test_legacy_package_field_is_accepted(client, partner, customer):
    body = sub_body(customer.id)
    body.pop("packages")
    body["package"] = "webex_meetings"
    assert _create(client, partner, body)["packages"] == ["webex_meetings"]


# ---------------------------------------------------------------------------------------------- R7


@pytest.mark.parametrize(
    "change, code",
    [
        ({"packages": []}, 400302),
        ({"packages": ["webex_meetings", "webex_suite"]}, 400302),
        ({"package": "webex_meetings"}, 400301),  # both package and packages
        ({"packages": None}, 400303),
    ],
    ids=["zero", "two", "both", "none"],
)
def test_r7_exactly_one_package(client, partner, customer, change, code):
    body = sub_body(customer.id) | change
    if body.get("packages") is None:
        body.pop("packages")
    error = assert_error_body(client.post(URL, json=body, headers=partner.headers), 400)
    assert error["errors"][0]["errorCode"] == code and "package" in error["message"]


def test_r7_package_must_be_held_by_the_customer(client, partner, customer):
    error = assert_error_body(
        client.post(URL, json=sub_body(customer.id, "webex_voice", extension="2001"), headers=partner.headers), 400
    )
    assert "webex_voice is not a package of customer" in error["message"]


def test_unknown_package_value_is_400(client, partner, customer):
    assert_error_body(client.post(URL, json=sub_body(customer.id, "webex_gold"), headers=partner.headers), 400)


# ---------------------------------------------------------------------------------------------- R8


def test_r8_cap_refusal_names_package_cap_and_left(client, partner, make_customer):
    customer = make_customer(partner, limits={"webex_meetings": 2, "webex_suite": 5})
    for _ in range(2):
        _create(client, partner, sub_body(customer.id, "webex_meetings"))
    error = assert_error_body(
        client.post(URL, json=sub_body(customer.id, "webex_meetings"), headers=partner.headers), 409
    )
    assert "webex_meetings" in error["message"] and "limit 2" in error["message"] and "0 left" in error["message"]
    assert error["errors"][0]["errorCode"] == 409500
    assert _package(client, partner, customer.id, "webex_meetings")["assigned"] == 2


def test_r8_delete_frees_the_unit_immediately(client, partner, make_customer):
    customer = make_customer(partner, limits={"webex_meetings": 1})
    first = _create(client, partner, sub_body(customer.id))
    assert_error_body(client.post(URL, json=sub_body(customer.id), headers=partner.headers), 409)
    deleted = client.delete(f"{URL}/{first['id']}", headers=partner.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"{URL}/{first['id']}", headers=partner.headers).status_code == 404
    assert _package(client, partner, customer.id, "webex_meetings")["assigned"] == 0
    _create(client, partner, sub_body(customer.id))


def test_r8_package_change_moves_one_unit_and_is_refused_at_the_cap(client, partner, make_customer):
    customer = make_customer(partner, limits={"webex_meetings": 2, "webex_calling": 1})
    a = _create(client, partner, sub_body(customer.id, "webex_meetings"))
    b = _create(client, partner, sub_body(customer.id, "webex_meetings"))
    moved = client.put(
        f"{URL}/{a['id']}",
        json={"packages": ["webex_calling"], "provisioningParameters": {"extension": "3001"}},
        headers=partner.headers,
    )
    assert moved.status_code == 200, moved.text
    validate_against_spec(moved.json(), "Subscriber")
    assert moved.json()["packages"] == ["webex_calling"]
    assert _package(client, partner, customer.id, "webex_meetings")["assigned"] == 1
    assert _package(client, partner, customer.id, "webex_calling")["assigned"] == 1
    # webex_calling is now at its cap: b cannot move, and nothing changes.
    refused = client.put(
        f"{URL}/{b['id']}",
        json={"packages": ["webex_calling"], "provisioningParameters": {"extension": "3002"}},
        headers=partner.headers,
    )
    error = assert_error_body(refused, 409)
    assert "webex_calling" in error["message"] and "limit 1" in error["message"] and "0 left" in error["message"]
    assert client.get(f"{URL}/{b['id']}", headers=partner.headers).json()["packages"] == ["webex_meetings"]
    assert _package(client, partner, customer.id, "webex_meetings")["assigned"] == 1
    # Moving back frees the calling unit for b.
    back = client.put(f"{URL}/{a['id']}", json={"package": "webex_meetings"}, headers=partner.headers)
    assert back.status_code == 200, back.text
    assert (
        client.put(
            f"{URL}/{b['id']}",
            json={"packages": ["webex_calling"], "provisioningParameters": {"extension": "3001"}},
            headers=partner.headers,
        ).status_code
        == 200
    )


def test_customer_put_refuses_limit_below_assigned_after_subscribers(client, partner, make_customer, db):
    customer = make_customer(partner, packages=["webex_meetings"], limits={"webex_meetings": 3})
    for _ in range(2):
        _create(client, partner, sub_body(customer.id))
    from helpers import customer_body

    body = {"packages": ["webex_meetings"], "provisioningParameters": {"packages": {"limits": {"webex_meetings": 1}}}}
    assert_error_body(client.put(f"/v1/wholesale/customers/{customer.id}", json=body, headers=partner.headers), 409)
    assert customer_body  # the helper is the create body's source of truth


# ---------------------------------------------------------------------------------------------- R9


def test_r9_attendant_console_needs_a_base_package_of_the_customer(client, partner, make_customer):
    with_base = make_customer(partner, packages=["webex_calling", "attendant_console"])
    created = _create(client, partner, sub_body(with_base.id, "attendant_console", extension="4001"))
    assert created["packages"] == ["attendant_console"] and "package" not in created
    without = make_customer(partner, packages=["webex_meetings"])
    error = assert_error_body(
        client.post(URL, json=sub_body(without.id, "attendant_console", extension="4001"), headers=partner.headers), 400
    )
    assert "attendant_console" in error["message"]


def test_r9_helper_refuses_addon_without_base_even_if_customer_holds_the_addon():
    from types import SimpleNamespace

    from wholesale.kit.errors import BadRequest
    from wholesale.subscribers.rules import check_package

    rows = {
        "attendant_console": SimpleNamespace(status="provisioned"),
        "webex_meetings": SimpleNamespace(status="provisioned"),
    }
    with pytest.raises(BadRequest, match="needs the customer to hold one of cx_essentials, webex_calling, webex_suite"):
        check_package(SimpleNamespace(id="c", external_id="x"), "attendant_console", rows)


# ---------------------------------------------------------------------------------------------- calling parameters


def test_calling_package_needs_number_or_extension(client, partner, customer):
    error = assert_error_body(
        client.post(URL, json=sub_body(customer.id, "webex_calling"), headers=partner.headers), 400
    )
    assert "primaryPhoneNumber and/or extension" in error["message"]


def test_phone_number_validated_and_stored_e164_unique_in_customer(client, partner, customer, make_customer):
    created = _create(
        client,
        partner,
        sub_body(customer.id, "webex_calling", primaryPhoneNumber="(408) 555-0199", locationId=customer.location_id),
    )
    assert created["status"] == "provisioned"
    from wholesale.db.session import get_database
    from wholesale.subscribers.models import Subscriber

    with get_database().session(write=False) as s:
        assert s.get(Subscriber, created["id"]).primary_phone_number == "+14085550199"
    dup = client.post(
        URL, json=sub_body(customer.id, "webex_calling", primaryPhoneNumber="+1 408-555-0199"), headers=partner.headers
    )
    assert "already used" in assert_error_body(dup, 409)["message"]
    bad = client.post(
        URL, json=sub_body(customer.id, "webex_calling", primaryPhoneNumber="+1 555"), headers=partner.headers
    )
    assert "not a valid phone number" in assert_error_body(bad, 400)["message"]
    other = make_customer(partner)  # another customer may use the same number
    _create(client, partner, sub_body(other.id, "webex_calling", primaryPhoneNumber="+14085550199"))


@pytest.mark.parametrize("extension", ["1", "12345678901", "12a", "+123"])
def test_extension_must_be_2_to_10_digits(client, partner, customer, extension):
    error = assert_error_body(
        client.post(URL, json=sub_body(customer.id, "webex_calling", extension=extension), headers=partner.headers), 400
    )
    assert "2 to 10 digits" in error["message"]


def test_extension_unique_within_the_location(client, partner, customer):
    _create(client, partner, sub_body(customer.id, "webex_calling", extension="10"))
    _create(client, partner, sub_body(customer.id, "webex_suite", extension="1234567890"))
    dup = client.post(URL, json=sub_body(customer.id, "webex_suite", extension="10"), headers=partner.headers)
    assert "already used" in assert_error_body(dup, 409)["message"]


def test_location_must_be_the_customers_calling_location(client, partner, customer, make_customer):
    other = make_customer(partner)
    error = assert_error_body(
        client.post(
            URL,
            json=sub_body(customer.id, "webex_calling", extension="55", locationId=other.location_id),
            headers=partner.headers,
        ),
        400,
    )
    assert "not the calling location of this customer" in error["message"]


def test_move_from_meetings_to_calling_needs_number_or_extension(client, partner, customer):
    created = _create(client, partner, sub_body(customer.id, "webex_meetings"))
    error = assert_error_body(
        client.put(f"{URL}/{created['id']}", json={"packages": ["webex_calling"]}, headers=partner.headers), 400
    )
    assert "primaryPhoneNumber and/or extension" in error["message"]


# ---------------------------------------------------------------------------------------------- email


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com"])
def test_email_syntax(client, partner, customer, email):
    error = assert_error_body(client.post(URL, json=sub_body(customer.id, email=email), headers=partner.headers), 400)
    assert error["message"].startswith("email:")


def test_email_unique_platform_wide_10022(client, partner, customer, make_partner, make_customer):
    email = new_email()
    _create(client, partner, sub_body(customer.id, email=email))
    other_partner = make_partner()
    other = make_customer(other_partner)
    for owner, cid in ((partner, customer.id), (other_partner, other.id)):
        error = assert_error_body(client.post(URL, json=sub_body(cid, email=email.upper()), headers=owner.headers), 400)
        assert error["errors"][0]["errorCode"] == 10022
    # The customer's full administrator's address is taken too.
    error = assert_error_body(
        client.post(URL, json=sub_body(customer.id, email=customer.admin_email), headers=partner.headers), 400
    )
    assert error["errors"][0]["errorCode"] == 10022


# ---------------------------------------------------------------------------------------------- R5


def _admin_subscriber(client, partner, customer):
    items = client.get(URL, params={"email": customer.admin_email}, headers=partner.headers).json()["items"]
    assert len(items) == 1
    return items[0]


def test_r5_full_admin_gets_the_customers_tier_package(client, partner, make_customer):
    customer = make_customer(partner, packages=["webex_meetings", "webex_calling", "cx_essentials"])
    admin = _admin_subscriber(client, partner, customer)
    assert admin["packages"] == ["cx_essentials"] and admin["status"] == "provisioned"
    validate_against_spec(admin, "Subscriber")
    assert _package(client, partner, customer.id, "cx_essentials")["assigned"] == 1


def test_r5_full_admin_downgrade_refused_and_nothing_changes(client, partner, customer):
    admin = _admin_subscriber(client, partner, customer)
    assert admin["packages"] == ["webex_suite"]
    before = {n: _package(client, partner, customer.id, n)["assigned"] for n in ("webex_suite", "webex_meetings")}
    refused = client.put(f"{URL}/{admin['id']}", json={"packages": ["webex_meetings"]}, headers=partner.headers)
    error = assert_error_body(refused, 409)
    assert (
        "full administrator" in error["message"]
        and "webex_suite" in error["message"]
        and "Nothing was changed" in error["message"]
    )
    assert client.get(f"{URL}/{admin['id']}", headers=partner.headers).json() == admin
    assert {
        n: _package(client, partner, customer.id, n)["assigned"] for n in ("webex_suite", "webex_meetings")
    } == before


def test_r5_full_admin_upgrade_allowed(client, partner, make_customer):
    customer = make_customer(
        partner, packages=["webex_meetings", "webex_calling", "webex_suite"], limits={"webex_suite": 10}
    )
    # Created with webex_suite as its top: make a customer whose tier is lower, then upgrade.
    low = make_customer(partner, packages=["webex_meetings", "webex_calling", "webex_suite"])
    assert customer and low
    from wholesale.db.session import get_database
    from wholesale.subscribers.models import CustomerAdminTier

    with get_database().transaction() as s:
        s.get(CustomerAdminTier, low.id).package = "webex_calling"
    admin = _admin_subscriber(client, partner, low)
    down = client.put(
        f"{URL}/{admin['id']}",
        json={"packages": ["webex_calling"], "provisioningParameters": {"extension": "77"}},
        headers=partner.headers,
    )
    assert down.status_code == 200, down.text  # equal to the tier
    up = client.put(f"{URL}/{admin['id']}", json={"packages": ["webex_suite"]}, headers=partner.headers)
    assert up.status_code == 200 and up.json()["packages"] == ["webex_suite"]


def test_r5_full_admin_cannot_be_deleted(client, partner, customer):
    admin = _admin_subscriber(client, partner, customer)
    assert_error_body(client.delete(f"{URL}/{admin['id']}", headers=partner.headers), 409)


def test_r5_later_administrators_get_the_tier_package(client, partner, customer):
    body = sub_body(customer.id, extension="9001") | {"administrator": True}
    body.pop("packages")
    created = _create(client, partner, body)
    assert created["packages"] == ["webex_suite"]
    low = sub_body(customer.id, "webex_meetings") | {"administrator": True}
    assert (
        "must keep webex_suite"
        in assert_error_body(client.post(URL, json=low, headers=partner.headers), 409)["message"]
    )


def test_r5_full_admin_with_a_zero_cap_is_a_package_warning(client, partner, make_customer):
    customer = make_customer(
        partner, packages=["webex_suite", "webex_meetings", "webex_calling"], limits={"webex_suite": 0}
    )
    assert client.get(URL, params={"email": customer.admin_email}, headers=partner.headers).json()["items"] == []
    suite = _package(client, partner, customer.id, "webex_suite")
    assert any(w["errorCode"] == 3200 and "0" in w["description"] for w in suite["warnings"])


def test_r5_tier_order_is_the_default_catalogue():
    from types import SimpleNamespace

    from wholesale.subscribers.rules import person_tier

    rows = lambda *names: {n: SimpleNamespace(status="provisioned") for n in names}  # noqa: E731
    assert person_tier(rows("webex_voice", "webex_meetings")) == "webex_meetings"
    assert person_tier(rows("webex_calling_standard", "webex_calling")) == "webex_calling"
    assert person_tier(rows("cx_essentials", "webex_suite")) == "webex_suite"
    assert person_tier(rows("common_area_calling")) is None


# ---------------------------------------------------------------------------------------------- consent move


def test_free_account_moves_after_consent(client, partner, customer, free_account, db):
    from wholesale.events.models import AuditEvent
    from wholesale.identity.models import User
    from wholesale.subscribers.models import Subscriber

    email = free_account()
    created = _create(client, partner, sub_body(customer.id, email=email), status=202)
    assert created["status"] == "pending_user_migration" and "personId" not in created
    with db.session(write=False) as s:
        sub = s.get(Subscriber, created["id"])
        token, user_id = sub.consent_token, sub.user_id
        assert s.get(User, user_id).org_id != customer.org_id
    # The consent email job ran and recorded its link.
    sent = wait_for(
        lambda: (
            db.session(write=False)
            .scalars(
                sa.select(AuditEvent.data).where(
                    AuditEvent.subject_id == created["id"], AuditEvent.action == "subscriber.consent_email_sent"
                )
            )
            .all()
        ),
        lambda rows: len(rows) == 1,
    )
    assert sent[0]["link"].endswith(f"/v1/subscribers/consent/{token}")
    # Re-send (both paths of the spec).
    for path in (f"/v1/subscribers/{created['id']}/emails/consentMove", f"{URL}/{created['id']}/emails/consentMove"):
        resent = client.post(path, headers=partner.headers)
        assert resent.status_code == 204 and resent.content == b""
    listed = client.get(
        URL, params={"status": "pending_user_migration", "customerId": customer.id}, headers=partner.headers
    ).json()["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    time.sleep(0.01)
    accepted = client.post(f"/v1/subscribers/consent/{token}")
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
    assert_error_body(client.post(f"/v1/subscribers/consent/{token}"), 404)  # used once
    assert_error_body(client.post(f"/v1/subscribers/{created['id']}/emails/consentMove", headers=partner.headers), 409)


def test_deleting_a_pending_subscriber_leaves_the_free_account(client, partner, customer, free_account, db):
    from wholesale.identity.service import find_user

    email = free_account()
    created = _create(client, partner, sub_body(customer.id, email=email), status=202)
    assert client.delete(f"{URL}/{created['id']}", headers=partner.headers).status_code == 204
    with db.session(write=False) as s:
        assert find_user(s, email) is not None


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


def test_validate_reports_rule_failures(client, partner, make_customer):
    customer = make_customer(partner, limits={"webex_meetings": 0})
    capped = client.post(f"{URL}/validate", json=sub_body(customer.id, "webex_meetings"), headers=partner.headers)
    assert "0 left" in assert_error_body(capped, 409)["message"]
    two = client.post(
        f"{URL}/validate",
        json=sub_body(customer.id) | {"packages": ["webex_meetings", "webex_suite"]},
        headers=partner.headers,
    )
    assert_error_body(two, 400)
    taken = client.post(f"{URL}/validate", json={"email": customer.admin_email}, headers=partner.headers)
    assert assert_error_body(taken, 400)["errors"][0]["errorCode"] == 10022


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
