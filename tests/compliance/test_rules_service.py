"""Compliance rules (R12-R14) at service level, on a session rolled back after each test: the real screener and
lists, no HTTP, no worker. The HTTP tests beside this file keep what crosses processes (the screening job, the
delete workflow, the sandbox tick)."""

from datetime import timedelta

import pytest

from wholesale.compliance import service as compliance
from wholesale.customers import service as customers
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal
from wholesale.kit.errors import Forbidden

REVIEWER = Principal(
    token_id="t-reviewer", org_id="platform", role=Role.REVIEWER, scopes=frozenset(), partner_org_id=None
)


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


def test_stats_count_the_queue_apart_from_rejected_cases(session, listed_case):
    """Issue 14, finding 7: stats counted non-compliant cases as open while the review queue did not."""
    _customer_id, case_id = listed_case
    before = compliance.stats(session)
    compliance.decide(session, REVIEWER, case_id, "reject", "listed airline")
    after = compliance.stats(session)
    assert after["openCases"] == before["openCases"] - 1
    assert after["noncompliantCases"] == before["noncompliantCases"] + 1
    queue = compliance.list_cases(session, REVIEWER, status="open", customer_id=None, min_age_hours=None, limit=1000)
    assert after["openCases"] == len(queue)


def test_a_customer_being_deleted_is_screened_but_gets_no_new_case(session, listed_case):
    """Issue 16 decision: a match on a customer in `deleting` is recorded (R10: the screening is never skipped), and
    no case opens for it (R12's review case decides on a customer that stays; its services end and a deletion never
    turns back); the same screening of a live customer opens one (the fixture)."""
    from wholesale.compliance import lists
    from wholesale.compliance.models import Screening

    customer_id, case_id = listed_case
    for _ in range(3):
        _attempt(session, case_id, "unreachable")  # R14: the case ends deprovisioned, the customer is `deleting`
    customer = customers.owned_customer(session, _tenant_of(session, customer_id), customer_id)
    assert customer.status == "deleting" and compliance.open_case_of(session, customer_id) is None
    screener = lists.get_screener(session)
    result = screener.screen(compliance.query_for(customer))
    assert result.decision != "clear"
    outcome = compliance.screen_customer(session, customer_id, "rescreen", result, screener.list_set.sha256)
    assert outcome == "deleting"
    assert compliance.open_case_of(session, customer_id) is None
    decisions = session.query(Screening.decision).filter(Screening.customer_id == customer_id).all()
    assert len(decisions) == 2 and decisions[-1][0] == result.decision


def test_screenings_recorded_together_read_once_and_see_each_other(session, tenant, listed_case):
    """R10/R12 in a provisioning batch's recording (`record_screenings(together=True)`): what it reads is read once
    for the batch (customers, allow-list, open cases: three SELECTs however many screenings), and a later screening
    of the batch sees what an earlier one did: a clear screening resolves the open case, a match then opens a new
    one, and the next match updates that one instead of opening a third."""
    import sqlalchemy as sa

    from wholesale.compliance import lists
    from wholesale.compliance.models import ComplianceCase, Screening
    from wholesale.compliance.screening import ScreeningResult
    from wholesale.customers.models import Customer

    customer_id, case_id = listed_case
    screener = lists.get_screener(session)
    match = screener.screen(compliance.query_for(session.get(Customer, customer_id)))
    clear = ScreeningResult(id=customer_id, decision="clear", score=0.0, hits=[])
    selects: list[str] = []
    connection = session.connection()

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    sa.event.listen(connection, "before_cursor_execute", count)
    try:
        recorded = compliance.record_screenings(
            session,
            [(customer_id, "rescreen", clear), (customer_id, "address_changed", match), (customer_id, "x", match)],
            screener.list_set.sha256,
            together=True,
        )
        session.flush()
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)
    assert recorded == 3
    assert len(selects) == 3, selects
    cases = session.scalars(
        sa.select(ComplianceCase).where(ComplianceCase.customer_id == customer_id).order_by(ComplianceCase.opened_at)
    ).all()
    assert [c.status for c in cases] == ["resolved", "open"] and cases[0].id == case_id
    assert [e["event"] for e in cases[1].timeline] == ["opened", "rescreened"]
    assert session.get(Customer, customer_id).compliance_hold is True
    triggers = session.scalars(sa.select(Screening.trigger).where(Screening.customer_id == customer_id)).all()
    assert sorted(triggers) == ["address_changed", "created", "rescreen", "x"]
