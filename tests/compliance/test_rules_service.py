"""Compliance rules (R12-R14) at service level, on a session rolled back after each test: the real screener and
lists, no HTTP, no worker. The HTTP tests beside this file keep what crosses processes (the screening job, the
delete workflow, the sandbox tick)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from helpers import customer_body
from wholesale.compliance import lists
from wholesale.compliance import service as compliance
from wholesale.customers import service as customers
from wholesale.customers.schemas import CustomerCreate
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal
from wholesale.kit import clock
from wholesale.kit.errors import Forbidden
from wholesale.provisioning import steps

REVIEWER = Principal(
    token_id="t-reviewer", org_id="platform", role=Role.REVIEWER, scopes=frozenset(), partner_org_id=None
)


@pytest.fixture
def fixed_clock() -> Iterator[clock.FixedClock]:
    """The injectable clock, frozen at the real time and moved only by the test (R14's 30 days in milliseconds)."""
    before = clock.get_clock()
    fixed = clock.FixedClock(clock.now())
    clock.set_clock(fixed)
    try:
        yield fixed
    finally:
        clock.set_clock(before)


@pytest.fixture
def listed_case(session, tenant) -> tuple[str, str]:
    """A provisioned customer named as an OFAC SDN entry, screened by the real screener: its open case."""
    body = customer_body(tenant.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = "Mahan Air"
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}
    customer = customers.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))
    steps.converge(session, customer, new=True)
    screener = lists.get_screener(session)
    result = screener.screen(compliance.query_for(customer))
    assert (
        compliance.screen_customer(session, customer.id, "created", result, screener.list_set.sha256) == "case_opened"
    )
    case = compliance.open_case_of(session, customer.id)
    assert case is not None
    return customer.id, case.id


def _attempt(session, case_id: str, outcome: str):
    return compliance.add_contact_attempt(session, REVIEWER, case_id, channel="phone", outcome=outcome, note=None)


def test_two_unreachable_then_reached_does_not_deprovision(session, listed_case):
    customer_id, case_id = listed_case
    for outcome in ("unreachable", "unreachable", "reached"):
        case, _attempt_row = _attempt(session, case_id, outcome)
    assert case.status == "open" and case.unreachable_attempts == 2
    assert len(compliance.get_case(session, REVIEWER, case_id)["contactAttempts"]) == 3
    assert customers.owned_customer(session, _tenant_of(session, customer_id), customer_id).status != "deleting"


def test_the_third_unreachable_attempt_deprovisions_through_a_deletion_request(session, listed_case):
    """R13/R14: the customer moves to `deleting` in the same transaction; the delete workflow does the rest."""
    customer_id, case_id = listed_case
    for _ in range(3):
        case, _attempt_row = _attempt(session, case_id, "unreachable")
    assert case.status == "deprovisioned"
    assert customers.owned_customer(session, _tenant_of(session, customer_id), customer_id).status == "deleting"


def test_thirty_days_deprovision_and_twenty_nine_do_not(session, fixed_clock, listed_case):
    """R14 on the injectable clock: the sweep takes cases open 30 days, not 29."""
    _customer_id, case_id = listed_case
    compliance.decide(session, REVIEWER, case_id, "reject", "listed")
    fixed_clock.advance(timedelta(days=29).total_seconds())
    assert case_id not in compliance.check_deadlines(session)
    fixed_clock.advance(timedelta(days=1, minutes=1).total_seconds())
    assert case_id in compliance.check_deadlines(session)
    assert compliance.get_case(session, REVIEWER, case_id)["status"] == "deprovisioned"


def test_only_reviewers_decide_and_only_the_team_reads_cases(session, listed_case):
    _customer_id, case_id = listed_case
    operator = Principal(
        token_id="t-op", org_id="platform", role=Role.OPERATOR, scopes=frozenset(), partner_org_id=None
    )
    partner = Principal(token_id="t-p", org_id="p", role=Role.PARTNER_ADMIN, scopes=frozenset(), partner_org_id="p")
    with pytest.raises(Forbidden):
        compliance.decide(session, operator, case_id, "approve", None)
    with pytest.raises(Forbidden):
        compliance.get_case(session, partner, case_id)
    assert compliance.get_case(session, operator, case_id)["id"] == case_id


def _tenant_of(session, customer_id: str):
    from wholesale.customers.models import Customer
    from wholesale.partners.tenancy import Tenant

    customer = session.get(Customer, customer_id)
    return Tenant(REVIEWER, partner_org_id=customer.partner_org_id)
