"""The rules can report every problem of a request at once (kit.problems, for the portal's forms, issue 14) while
the API's create and precheck still answer the first one only, as before. Service level, rolled back."""

import pytest

from helpers import customer_body
from wholesale.billing import service as billing
from wholesale.billing.schemas import ReportCreate
from wholesale.customers import checked, rules, service, templates
from wholesale.customers.schemas import CustomerCreate, CustomerValidate, TemplateIn
from wholesale.kit.errors import BadRequest, Conflict, DomainError, NotFound
from wholesale.kit.problems import Checks, Problems


def _messages(exc: DomainError) -> list[str]:
    return [p.message for p in exc.found] if isinstance(exc, Problems) else [exc.message]


def _three_mistakes(tenant, taken: str) -> CustomerCreate:
    body = customer_body(tenant.template_id, externalId=taken)
    body["address"] = body["address"] | {"country": "ZZ"}
    body["customerInfo"] = body["customerInfo"] | {"primaryEmail": "not-an-email"}
    body["provisioningParameters"]["calling"]["location"]["timezone"] = "Mars/Olympus"
    return CustomerCreate.model_validate(body)


def test_a_create_with_several_mistakes_reports_them_all_with_every_problem(session, tenant):
    taken = service.create_customer(
        session, tenant.tenant, CustomerCreate.model_validate(customer_body(tenant.template_id))
    ).external_id
    body = _three_mistakes(tenant, taken)
    with pytest.raises(Problems) as caught:
        checked.create_customer(session, tenant.tenant, body)
    found = _messages(caught.value)
    assert [m.split(":")[0] for m in found] == [
        "address.country",
        "externalId",
        "customerInfo.primaryEmail",
        "provisioningParameters.calling.location.timezone",
    ]
    assert caught.value.status_code == 400 and len(caught.value.errors) == len(found)
    # The API's create and precheck stop at the first, with the same message as before.
    with pytest.raises(BadRequest) as first:
        service.create_customer(session, tenant.tenant, body)
    assert not isinstance(first.value, Problems) and first.value.message == found[0]
    with pytest.raises(BadRequest) as precheck:
        service.precheck(session, tenant.tenant, CustomerValidate.model_validate(body.model_dump(exclude_none=True)))
    assert precheck.value.message == found[0]


def test_every_field_of_an_address_is_checked_and_a_single_problem_is_raised_as_it_is(session, tenant):
    body = customer_body(tenant.template_id)
    body.pop("provisioningParameters")
    body["packages"] = ["webex_meetings"]
    body["address"] = {"addressLine1": "", "city": "", "country": "US", "zipOrPostalCode": "9" * 21}
    with pytest.raises(Problems) as caught:
        rules.plan_create(session, tenant.partner_org_id, CustomerCreate.model_validate(body), every_problem=True)
    assert [m.split(":")[0] for m in _messages(caught.value)] == [
        "address.zipOrPostalCode",
        "address.addressLine1",
        "address.city",
        "address.stateOrProvince",
    ]
    body["address"] = body["address"] | {"addressLine1": "1 Main St", "city": "Austin", "zipOrPostalCode": "78701"}
    with pytest.raises(BadRequest) as single:  # one problem: itself, not a list of one
        rules.plan_create(session, tenant.partner_org_id, CustomerCreate.model_validate(body), every_problem=True)
    assert not isinstance(single.value, Problems) and single.value.message.startswith("address.stateOrProvince:")


def test_a_duplicate_alone_stays_a_409(session, tenant):
    taken = service.create_customer(
        session, tenant.tenant, CustomerCreate.model_validate(customer_body(tenant.template_id))
    ).external_id
    other = customer_body(tenant.template_id, externalId=taken)
    with pytest.raises(Conflict, match="already exists"):
        checked.create_customer(session, tenant.tenant, CustomerCreate.model_validate(other))


def test_templates_and_reports_report_every_problem(session, tenant):
    bad = TemplateIn(name="50%", language="xx_yy", meetingsTimezone="Mars/Olympus")
    with pytest.raises(Problems) as caught:
        templates.check_template(bad)
    assert [m.split(":")[0] for m in _messages(caught.value)] == ["name", "language", "meetingsTimezone"]
    with pytest.raises(BadRequest, match=r"^name:"):
        templates.create_template(session, tenant.tenant, bad)  # the API: the first one
    with pytest.raises(Problems):
        templates.replace_template(session, tenant.tenant, tenant.template_id, bad, every_problem=True)
    assert templates.get_template(session, tenant.tenant, tenant.template_id)["name"] == "Standard"  # unchanged
    report = ReportCreate(billingStartDate="2026-13-45", billingEndDate="yesterday")
    with pytest.raises(Problems) as days:
        billing.create_report(session, tenant.tenant, report, every_problem=True)
    assert [m.split(":")[0] for m in _messages(days.value)] == ["billingStartDate", "billingEndDate"]
    with pytest.raises(BadRequest, match=r"^billingStartDate:"):
        billing.create_report(session, tenant.tenant, report)


def test_checks_note_only_what_a_form_can_fix():
    checks = Checks(every_problem=True)
    with checks:
        raise BadRequest("a: one")
    with checks:
        raise Conflict("b: two")
    with pytest.raises(NotFound), checks:  # not a form problem: it stops at once
        raise NotFound("gone")
    with pytest.raises(ValueError), checks:
        raise ValueError("a bug is a bug")
    with pytest.raises(Problems) as caught:
        checks.done()
    assert _messages(caught.value) == ["a: one", "b: two"]
    at_once = Checks()
    with pytest.raises(BadRequest), at_once:
        raise BadRequest("first")
    at_once.done()  # nothing noted
