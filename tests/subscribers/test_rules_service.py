"""Subscriber rules at service level, on a session rolled back after each test (no HTTP, no workers): R7 one
package, R8 caps, R9 add-ons, calling parameters, email, R5 admin tier, precheck, pending moves.

The customers are provisioned in the session by the provisioning run the workflow makes. The HTTP tests next
door keep what needs the wire or the workers (spec shapes, Link headers, tokens and scopes, the consent job,
customer removal, concurrency).
"""

from typing import Any

import pytest

from subscribers_support import new_email, sub_body
from wholesale.kit.errors import BadRequest, Conflict, DomainError, NotFound
from wholesale.subscribers import service
from wholesale.subscribers.schemas import SubscriberCreate, SubscriberUpdate, SubscriberValidate


def _create(session, ctx, body: dict[str, Any], tenant: Any = None) -> dict[str, Any]:
    _, rendered = service.create_subscriber(session, tenant or ctx.tenant, SubscriberCreate.model_validate(body))
    return rendered


def _update(session, ctx, subscriber_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return service.update_subscriber(session, ctx.tenant, subscriber_id, SubscriberUpdate.model_validate(body))


def _refused(kind: type[DomainError], call: Any, *args: Any) -> DomainError:
    with pytest.raises(kind) as caught:
        call(*args)
    return caught.value


def _admin_subscriber(session, ctx) -> dict[str, Any]:
    from wholesale.kit.pagination import PageParams

    filters = service.list_filters(email=ctx.admin_email)
    items = service.list_subscribers(session, ctx.tenant, PageParams(max=100, offset=0), filters).items
    assert len(items) == 1
    return items[0]


# ---------------------------------------------------------------------------------------------- create


def test_subscriber_is_a_user_of_the_customer_org(session, provisioned):
    from wholesale.identity.models import User

    customer = provisioned()
    created = _create(session, customer, sub_body(customer.id))
    user = session.get(User, created["personId"])
    assert user.org_id == customer.org_id and user.first_name == "Ada" and user.email == created["email"]


def test_a_create_reads_its_customer_with_its_packages_and_the_emails_holder_in_one_statement_each(
    session, provisioned
):
    """Issue 15: the single create's reads are built once and joined: the customer with its package rows, the
    email's user with whether a customer in provisioning holds it. 11 statements for a meetings subscriber."""
    import sqlalchemy as sa

    customer = provisioned()
    seen: list[str] = []

    def note(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    conn = session.connection()
    sa.event.listen(conn, "before_cursor_execute", note)
    try:
        _create(session, customer, sub_body(customer.id))
        session.flush()
    finally:
        sa.event.remove(conn, "before_cursor_execute", note)
    selects = [s for s in seen if s.startswith("SELECT")]
    customer_reads = [s for s in selects if s.startswith("SELECT customers.id")]
    assert len(customer_reads) == 1 and "JOIN customer_packages" in customer_reads[0]
    assert not [s for s in selects if s.startswith("SELECT customer_packages")]
    holder = [s for s in selects if s.startswith("SELECT users.id")]
    assert len(holder) == 1 and "customers.primary_email" in holder[0]
    assert not [s for s in selects if s.startswith("SELECT customers.primary_email")]
    assert len(seen) <= 11, seen


def test_legacy_package_field_is_accepted(session, provisioned):
    customer = provisioned()
    body = sub_body(customer.id)
    body.pop("packages")
    body["package"] = "webex_meetings"
    assert _create(session, customer, body)["packages"] == ["webex_meetings"]


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
def test_r7_exactly_one_package(session, provisioned, change, code):
    customer = provisioned()
    body = sub_body(customer.id) | change
    if body.get("packages") is None:
        body.pop("packages")
    error = _refused(BadRequest, _create, session, customer, body)
    assert error.errors[0]["errorCode"] == code and "package" in error.message


def test_r7_package_must_be_held_by_the_customer(session, provisioned):
    customer = provisioned()
    error = _refused(BadRequest, _create, session, customer, sub_body(customer.id, "webex_voice", extension="2001"))
    assert "webex_voice is not a package of customer" in error.message


# ---------------------------------------------------------------------------------------------- R8


def test_r8_cap_refusal_names_package_cap_and_left(session, provisioned):
    customer = provisioned(limits={"webex_meetings": 2, "webex_suite": 5})
    for _ in range(2):
        _create(session, customer, sub_body(customer.id, "webex_meetings"))
    error = _refused(Conflict, _create, session, customer, sub_body(customer.id, "webex_meetings"))
    assert "webex_meetings" in error.message and "limit 2" in error.message and "0 left" in error.message
    assert error.errors[0]["errorCode"] == 409500
    assert customer.assigned(session, "webex_meetings") == 2


def test_r8_delete_frees_the_unit_immediately(session, provisioned):
    customer = provisioned(limits={"webex_meetings": 1})
    first = _create(session, customer, sub_body(customer.id))
    _refused(Conflict, _create, session, customer, sub_body(customer.id))
    service.delete_subscriber(session, customer.tenant, first["id"])
    _refused(NotFound, service.get_subscriber, session, customer.tenant, first["id"])
    assert customer.assigned(session, "webex_meetings") == 0
    _create(session, customer, sub_body(customer.id))


def test_r8_package_change_moves_one_unit_and_is_refused_at_the_cap(session, provisioned):
    customer = provisioned(limits={"webex_meetings": 2, "webex_calling": 1})
    a = _create(session, customer, sub_body(customer.id, "webex_meetings"))
    b = _create(session, customer, sub_body(customer.id, "webex_meetings"))
    moved = _update(
        session, customer, a["id"], {"packages": ["webex_calling"], "provisioningParameters": {"extension": "3001"}}
    )
    assert moved["packages"] == ["webex_calling"]
    assert customer.assigned(session, "webex_meetings") == 1
    assert customer.assigned(session, "webex_calling") == 1
    # webex_calling is now at its cap: b cannot move, and nothing changes.
    change = {"packages": ["webex_calling"], "provisioningParameters": {"extension": "3002"}}
    error = _refused(Conflict, _update, session, customer, b["id"], change)
    assert "webex_calling" in error.message and "limit 1" in error.message and "0 left" in error.message
    assert service.get_subscriber(session, customer.tenant, b["id"])["packages"] == ["webex_meetings"]
    assert customer.assigned(session, "webex_meetings") == 1
    # Moving back frees the calling unit for b.
    _update(session, customer, a["id"], {"package": "webex_meetings"})
    change = {"packages": ["webex_calling"], "provisioningParameters": {"extension": "3001"}}
    assert _update(session, customer, b["id"], change)["packages"] == ["webex_calling"]


# ---------------------------------------------------------------------------------------------- R9


def test_r9_attendant_console_needs_a_base_package_of_the_customer(session, provisioned):
    with_base = provisioned(packages=["webex_calling", "attendant_console"])
    created = _create(session, with_base, sub_body(with_base.id, "attendant_console", extension="4001"))
    assert created["packages"] == ["attendant_console"] and "package" not in created
    without = provisioned(packages=["webex_meetings"])
    body = sub_body(without.id, "attendant_console", extension="4001")
    assert "attendant_console" in _refused(BadRequest, _create, session, without, body).message


def test_r9_helper_refuses_addon_without_base_even_if_customer_holds_the_addon():
    from types import SimpleNamespace

    from wholesale.subscribers.rules import check_package

    rows = {
        "attendant_console": SimpleNamespace(status="provisioned"),
        "webex_meetings": SimpleNamespace(status="provisioned"),
    }
    with pytest.raises(BadRequest, match="needs the customer to hold one of cx_essentials, webex_calling, webex_suite"):
        check_package(SimpleNamespace(id="c", external_id="x"), "attendant_console", rows)


# ---------------------------------------------------------------------------------------------- calling parameters


def test_calling_package_needs_number_or_extension(session, provisioned):
    customer = provisioned()
    error = _refused(BadRequest, _create, session, customer, sub_body(customer.id, "webex_calling"))
    assert "primaryPhoneNumber and/or extension" in error.message


def test_phone_number_validated_and_stored_e164_unique_in_customer(session, provisioned):
    from wholesale.customers.repository import get_location
    from wholesale.subscribers.models import Subscriber

    customer = provisioned()
    location = get_location(session, customer.id)
    body = sub_body(customer.id, "webex_calling", primaryPhoneNumber="(408) 555-0199", locationId=location.id)
    created = _create(session, customer, body)
    assert created["status"] == "provisioned"
    assert session.get(Subscriber, created["id"]).primary_phone_number == "+14085550199"
    dup = sub_body(customer.id, "webex_calling", primaryPhoneNumber="+1 408-555-0199")
    assert "already used" in _refused(Conflict, _create, session, customer, dup).message
    bad = sub_body(customer.id, "webex_calling", primaryPhoneNumber="+1 555")
    assert "not a valid phone number" in _refused(BadRequest, _create, session, customer, bad).message
    other = provisioned()  # another customer may use the same number
    _create(session, other, sub_body(other.id, "webex_calling", primaryPhoneNumber="+14085550199"))


@pytest.mark.parametrize("extension", ["1", "12345678901", "12a", "+123"])
def test_extension_must_be_2_to_10_digits(session, provisioned, extension):
    customer = provisioned()
    body = sub_body(customer.id, "webex_calling", extension=extension)
    assert "2 to 10 digits" in _refused(BadRequest, _create, session, customer, body).message


def test_extension_unique_within_the_location(session, provisioned):
    customer = provisioned()
    _create(session, customer, sub_body(customer.id, "webex_calling", extension="10"))
    _create(session, customer, sub_body(customer.id, "webex_suite", extension="1234567890"))
    dup = sub_body(customer.id, "webex_suite", extension="10")
    assert "already used" in _refused(Conflict, _create, session, customer, dup).message


def test_location_must_be_the_customers_calling_location(session, provisioned):
    from wholesale.customers.repository import get_location

    customer = provisioned()
    other = provisioned()
    body = sub_body(customer.id, "webex_calling", extension="55", locationId=get_location(session, other.id).id)
    assert "not the calling location of this customer" in _refused(BadRequest, _create, session, customer, body).message


def test_move_from_meetings_to_calling_needs_number_or_extension(session, provisioned):
    customer = provisioned()
    created = _create(session, customer, sub_body(customer.id, "webex_meetings"))
    error = _refused(BadRequest, _update, session, customer, created["id"], {"packages": ["webex_calling"]})
    assert "primaryPhoneNumber and/or extension" in error.message


# ---------------------------------------------------------------------------------------------- email


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com"])
def test_email_syntax(session, provisioned, email):
    customer = provisioned()
    error = _refused(BadRequest, _create, session, customer, sub_body(customer.id, email=email))
    assert error.message.startswith("email:")


def test_email_unique_platform_wide_10022(session, provisioned, make_tenant):
    email = new_email()
    customer = provisioned()
    _create(session, customer, sub_body(customer.id, email=email))
    other = provisioned(owner=make_tenant())
    for owner in (customer, other):
        error = _refused(BadRequest, _create, session, owner, sub_body(owner.id, email=email.upper()))
        assert error.errors[0]["errorCode"] == 10022
    # The customer's full administrator's address is taken too.
    error = _refused(BadRequest, _create, session, customer, sub_body(customer.id, email=customer.admin_email))
    assert error.errors[0]["errorCode"] == 10022


# ---------------------------------------------------------------------------------------------- R5


def test_r5_full_admin_gets_the_customers_tier_package(session, provisioned):
    customer = provisioned(packages=["webex_meetings", "webex_calling", "cx_essentials"])
    admin = _admin_subscriber(session, customer)
    assert admin["packages"] == ["cx_essentials"] and admin["status"] == "provisioned"
    assert customer.assigned(session, "cx_essentials") == 1


def test_r5_full_admin_downgrade_refused_and_nothing_changes(session, provisioned):
    customer = provisioned()
    admin = _admin_subscriber(session, customer)
    assert admin["packages"] == ["webex_suite"]
    before = {n: customer.assigned(session, n) for n in ("webex_suite", "webex_meetings")}
    error = _refused(Conflict, _update, session, customer, admin["id"], {"packages": ["webex_meetings"]})
    assert "full administrator" in error.message and "webex_suite" in error.message
    assert "Nothing was changed" in error.message
    assert service.get_subscriber(session, customer.tenant, admin["id"]) == admin
    assert {n: customer.assigned(session, n) for n in ("webex_suite", "webex_meetings")} == before


def test_r5_full_admin_upgrade_allowed(session, provisioned):
    from wholesale.subscribers.models import CustomerAdminTier

    # Created with webex_suite as its top: make a customer whose tier is lower, then upgrade.
    low = provisioned(packages=["webex_meetings", "webex_calling", "webex_suite"])
    session.get(CustomerAdminTier, low.id).package = "webex_calling"
    admin = _admin_subscriber(session, low)
    down = _update(
        session, low, admin["id"], {"packages": ["webex_calling"], "provisioningParameters": {"extension": "77"}}
    )
    assert down["packages"] == ["webex_calling"]  # equal to the tier
    assert _update(session, low, admin["id"], {"packages": ["webex_suite"]})["packages"] == ["webex_suite"]


def test_r5_full_admin_cannot_be_deleted(session, provisioned):
    customer = provisioned()
    admin = _admin_subscriber(session, customer)
    error = _refused(Conflict, service.delete_subscriber, session, customer.tenant, admin["id"])
    assert error.errors[0]["errorCode"] == 409540


def test_r5_later_administrators_get_the_tier_package(session, provisioned):
    customer = provisioned()
    body = sub_body(customer.id, extension="9001") | {"administrator": True}
    body.pop("packages")
    assert _create(session, customer, body)["packages"] == ["webex_suite"]
    low = sub_body(customer.id, "webex_meetings") | {"administrator": True}
    assert "must keep webex_suite" in _refused(Conflict, _create, session, customer, low).message


def test_r5_full_admin_with_a_zero_cap_is_a_package_warning(session, provisioned):
    from wholesale.customers.repository import get_package
    from wholesale.kit.pagination import PageParams

    customer = provisioned(packages=["webex_suite", "webex_meetings", "webex_calling"], limits={"webex_suite": 0})
    filters = service.list_filters(email=customer.admin_email)
    assert service.list_subscribers(session, customer.tenant, PageParams(max=100, offset=0), filters).items == []
    suite = get_package(session, customer.id, "webex_suite")
    assert any(w["errorCode"] == 3200 and "0" in w["description"] for w in suite.warnings)


def test_r5_tier_order_is_the_default_catalogue():
    from types import SimpleNamespace

    from wholesale.subscribers.rules import person_tier

    rows = lambda *names: {n: SimpleNamespace(status="provisioned") for n in names}  # noqa: E731
    assert person_tier(rows("webex_voice", "webex_meetings")) == "webex_meetings"
    assert person_tier(rows("webex_calling_standard", "webex_calling")) == "webex_calling"
    assert person_tier(rows("cx_essentials", "webex_suite")) == "webex_suite"
    assert person_tier(rows("common_area_calling")) is None


# ---------------------------------------------------------------------------------------------- pending moves


def test_deleting_a_pending_subscriber_leaves_the_free_account(session, provisioned):
    from wholesale.identity.service import find_user

    customer = provisioned()
    email = new_email()
    service.create_free_account(session, email, first_name="Free", last_name="User")
    subscriber, created = service.create_subscriber(
        session, customer.tenant, SubscriberCreate.model_validate(sub_body(customer.id, email=email))
    )
    assert created["status"] == "pending_user_migration" and subscriber.consent_token_hash is None  # until sent
    service.delete_subscriber(session, customer.tenant, created["id"])
    assert find_user(session, email) is not None


# ---------------------------------------------------------------------------------------------- precheck


def test_validate_reports_rule_failures(session, provisioned):
    customer = provisioned(limits={"webex_meetings": 0})
    capped = SubscriberValidate.model_validate(sub_body(customer.id, "webex_meetings"))
    assert "0 left" in _refused(Conflict, service.precheck, session, customer.tenant, capped).message
    two = SubscriberValidate.model_validate(sub_body(customer.id) | {"packages": ["webex_meetings", "webex_suite"]})
    _refused(BadRequest, service.precheck, session, customer.tenant, two)
    taken = SubscriberValidate.model_validate({"email": customer.admin_email})
    assert _refused(BadRequest, service.precheck, session, customer.tenant, taken).errors[0]["errorCode"] == 10022


def test_an_email_a_customer_in_provisioning_will_give_its_admin_is_taken(session, provisioned, tenant):
    """Issue 16, probe 7's other half: a subscriber created with the primaryEmail of a customer still being
    provisioned left that customer without its admin (provisioned_with_errors). The email is spoken for."""
    from helpers import customer_body
    from wholesale.customers import service as customers
    from wholesale.customers.models import Customer
    from wholesale.customers.schemas import CustomerCreate
    from wholesale.subscribers.bulk import import_chunk

    existing = provisioned()
    pending = customers.create_customer(
        session, tenant.tenant, CustomerCreate.model_validate(customer_body(tenant.template_id))
    )
    assert pending.status == "provisioning"
    email = pending.primary_email
    refused = _refused(BadRequest, _create, session, existing, sub_body(existing.id, email=email))
    assert refused.errors[0]["errorCode"] == 10022
    rows = [
        (1, {"email": email, "package": "webex_meetings"}),
        (2, {"email": new_email(), "package": "webex_meetings"}),
    ]
    results = import_chunk(session, session.get(Customer, existing.id), rows)
    assert [r["status"] for r in results] == ["error", "provisioned"]
    assert results[0]["errors"][0]["errorCode"] == 10022
