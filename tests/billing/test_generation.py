"""Billing reports from the usage ledger: a scripted month of changes on a frozen clock gives exactly the expected
CSV for each type and category, and a past report comes out byte-identical whatever happens afterwards.
Service level, in the rolled-back session."""

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from wholesale.billing import downloads, service
from wholesale.billing.generation import Spec
from wholesale.billing.schemas import ReportCreate
from wholesale.customers import usage as customer_usage
from wholesale.customers.models import Customer
from wholesale.identity.service import create_org, create_user
from wholesale.kit import clock
from wholesale.kit.errors import BadRequest, NotFound
from wholesale.ledger.service import Change, Kind, append, write_pending
from wholesale.subscribers.models import Subscriber

HEADER = "date,customerId,customerName,customerExternalId,customerOrgId,package,unitsEndOfDay,peakUnits"
USER_HEADER = "date,customerId,customerName,customerExternalId,customerOrgId,subscriberId,subscriberEmail,package"


@pytest.fixture
def frozen() -> Iterator[clock.FixedClock]:
    previous = clock.get_clock()
    fixed = clock.FixedClock(datetime(2026, 2, 1, tzinfo=UTC))
    clock.set_clock(fixed)
    try:
        yield fixed
    finally:
        clock.set_clock(previous)


@dataclass
class Month:
    """The scripted month: customers A and B, the partner's own org I, their subscribers, and the join keys."""

    partner: str
    ids: dict[str, str]  # short name -> id
    keys: dict[str, str]  # customer short name -> "id,name,externalId,orgId"
    emails: dict[str, str]


def _customer(session, partner: str, template_id: str, cid: str, name: str, ext: str, internal: bool = False) -> str:
    """A customer as of now, and its `customer.details` row (what reports show for it)."""
    org = create_org(session, kind="customer", display_name=name)
    customer = Customer(
        id=cid,
        partner_org_id=partner,
        org_id=org.id,
        external_id=ext,
        provisioning_id=template_id,
        name=name,
        address_line1="1 Main St",
        city="Paris",
        country="FR",
        status="provisioned",
        errors=[],
        package_limits={},
        is_partner_org=internal,
        created=clock.now(),
        updated=clock.now(),
    )
    session.add(customer)
    customer_usage.details(session, customer)
    write_pending(session)  # its commit, at this moment
    return org.id


def _subscriber(session, partner: str, customer_id: str, org_id: str, sid: str, email: str, package: str) -> None:
    user = create_user(session, org_id=org_id, email=email)
    session.add(
        Subscriber(
            id=sid,
            customer_id=customer_id,
            partner_org_id=partner,
            org_id=org_id,
            user_id=user.id,
            email=email,
            package=package,
            status="provisioned",
            errors=[],
            created=clock.now(),
            last_status_change=clock.now(),
        )
    )


@pytest.fixture
def month(session, tenant, frozen) -> Month:
    partner = tenant.partner_org_id
    session.flush()
    run = uuid.uuid4().hex[:8]
    ids = {n: f"{run}-{n}" for n in ("A", "B", "I", "a1", "a2", "a3", "b1", "b2", "i1")}
    emails = {n: f"{n}-{run}@example.com" for n in ("a1", "a2", "a3", "b1", "b2", "i1")}
    orgs = {
        "A": _customer(session, partner, tenant.template_id, ids["A"], "Acme, SARL", f"acme-{run}"),
        "B": _customer(session, partner, tenant.template_id, ids["B"], "Bistro", f"bistro-{run}"),
        "I": _customer(session, partner, tenant.template_id, ids["I"], "Ourselves", f"own-{run}", internal=True),
    }
    session.flush()
    for sub, customer, package in (
        ("a1", "A", "webex_meetings"),
        ("a2", "A", "webex_meetings"),
        ("a3", "A", "webex_meetings"),
        ("b1", "B", "webex_suite"),
        ("b2", "B", "webex_suite"),
        ("i1", "I", "webex_meetings"),
    ):
        _subscriber(session, partner, ids[customer], orgs[customer], ids[sub], emails[sub], package)
    session.flush()

    def at(when: str, *changes: tuple[str, str, str, int, int, str | None]) -> None:
        frozen.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
        append(
            session,
            [
                Change(
                    partner_org_id=partner,
                    customer_id=ids[c],
                    package=p,
                    kind=k,
                    delta=d,
                    units_after=u,
                    subscriber_id=ids[s] if s else None,
                    # As the service writes them: a unit taken carries the subscriber's email.
                    details={"email": emails[s]}
                    if s and k in (Kind.SUBSCRIBER_ASSIGNED, Kind.SUBSCRIBER_DETAILS)
                    else None,
                )
                for (k, c, p, d, u, s) in changes
            ],
        )
        write_pending(session)  # as its commit would at that moment (this session is rolled back after the test)

    # Before the month: what A and I held when the ledger opened, then what changed.
    at(
        "2026-02-10T00:00:00",
        (Kind.OPENING, "A", "webex_meetings", 0, 0, None),
        (Kind.OPENING, "A", "webex_meetings", 1, 1, "a1"),
        (Kind.OPENING, "I", "webex_meetings", 0, 0, None),
        (Kind.OPENING, "I", "webex_meetings", 1, 1, "i1"),
    )
    at("2026-02-20T10:00:00", (Kind.PACKAGE_ADDED, "A", "webex_calling", 0, 0, None))
    at("2026-03-01T09:00:00", (Kind.SUBSCRIBER_ASSIGNED, "A", "webex_meetings", 1, 2, "a2"))
    at("2026-03-01T15:00:00", (Kind.SUBSCRIBER_RELEASED, "A", "webex_meetings", -1, 1, "a2"))
    at("2026-03-02T12:00:00", (Kind.PACKAGE_ADDED, "B", "webex_suite", 0, 0, None))
    at("2026-03-03T08:00:00", (Kind.SUBSCRIBER_ASSIGNED, "B", "webex_suite", 1, 1, "b1"))
    at(  # a1 moves from meetings to calling
        "2026-03-04T10:00:00",
        (Kind.SUBSCRIBER_RELEASED, "A", "webex_meetings", -1, 0, "a1"),
        (Kind.SUBSCRIBER_ASSIGNED, "A", "webex_calling", 1, 1, "a1"),
    )
    at("2026-03-10T23:59:59.999999", (Kind.SUBSCRIBER_ASSIGNED, "B", "webex_suite", 1, 2, "b2"))
    at("2026-03-11T00:00:00", (Kind.SUBSCRIBER_RELEASED, "B", "webex_suite", -1, 1, "b2"))
    at("2026-03-20T12:00:00", (Kind.LIMIT_CHANGED, "B", "webex_suite", 0, 1, None))
    at(
        "2026-03-25T18:00:00",
        (Kind.SUBSCRIBER_RELEASED, "B", "webex_suite", -1, 0, "b1"),
        (Kind.PACKAGE_REMOVED, "B", "webex_suite", 0, 0, None),
    )
    at("2026-04-02T09:00:00", (Kind.SUBSCRIBER_ASSIGNED, "A", "webex_meetings", 1, 1, "a3"))  # after the month
    # Migration 0007 ran after the month: the subscribers the ledger opened with get their email only now.
    at(
        "2026-04-10T00:00:00",
        (Kind.SUBSCRIBER_DETAILS, "A", "", 0, 0, "a1"),
        (Kind.SUBSCRIBER_DETAILS, "I", "", 0, 0, "i1"),
    )
    frozen.set(datetime(2026, 4, 15, 12, tzinfo=UTC))
    session.flush()
    keys = {}
    for short, name, ext in (("A", '"Acme, SARL"', "acme"), ("B", "Bistro", "bistro"), ("I", "Ourselves", "own")):
        keys[short] = f"{ids[short]},{name},{ext}-{run},{orgs[short]}"
    return Month(partner, ids, keys, emails)


def _days(first: int, last: int) -> list[str]:
    return [f"2026-03-{d:02d}" for d in range(first, last + 1)]


def _csv(session, m: Month, spec: Spec) -> str:
    content, _count = service.render(session, m.partner, spec)
    return content.decode()


def _partner_lines(m: Month) -> list[str]:
    """The expected PARTNER rows of March: (customer, package, end of day units, peak units) per day."""
    a, b = m.keys["A"], m.keys["B"]
    lines: list[str] = []

    def day(d: str, *rows: str) -> None:
        lines.extend(f"{d},{row}" for row in rows)

    day("2026-03-01", f"{a},webex_calling,0,0", f"{a},webex_meetings,1,2")
    day("2026-03-02", f"{a},webex_calling,0,0", f"{a},webex_meetings,1,1", f"{b},webex_suite,0,0")
    day("2026-03-03", f"{a},webex_calling,0,0", f"{a},webex_meetings,1,1", f"{b},webex_suite,1,1")
    day("2026-03-04", f"{a},webex_calling,1,1", f"{a},webex_meetings,0,1", f"{b},webex_suite,1,1")
    for d in _days(5, 9):
        day(d, f"{a},webex_calling,1,1", f"{a},webex_meetings,0,0", f"{b},webex_suite,1,1")
    day("2026-03-10", f"{a},webex_calling,1,1", f"{a},webex_meetings,0,0", f"{b},webex_suite,2,2")
    day("2026-03-11", f"{a},webex_calling,1,1", f"{a},webex_meetings,0,0", f"{b},webex_suite,1,2")
    for d in _days(12, 24):
        day(d, f"{a},webex_calling,1,1", f"{a},webex_meetings,0,0", f"{b},webex_suite,1,1")
    day("2026-03-25", f"{a},webex_calling,1,1", f"{a},webex_meetings,0,0", f"{b},webex_suite,0,1")
    for d in _days(26, 31):
        day(d, f"{a},webex_calling,1,1", f"{a},webex_meetings,0,0")
    return lines


MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def test_a_partner_reconciliation_report_of_the_month(session, month):
    expected = "\n".join([HEADER, *_partner_lines(month)]) + "\n"
    assert _csv(session, month, Spec(type="PARTNER", category="RECONCILIATION", **MARCH)) == expected


def test_a_customer_report_is_the_partner_report_of_one_customer(session, month):
    b = month.keys["B"]
    expected = [HEADER, *(line for line in _partner_lines(month) if line[11:].startswith(b))]
    spec = Spec(type="CUSTOMER", category="RECONCILIATION", customer_id=month.ids["B"], **MARCH)
    assert _csv(session, month, spec) == "\n".join(expected) + "\n"
    assert len(expected) == 1 + 24  # B held its package from the 2nd to the 25th
    # Without a customer, a CUSTOMER report covers every customer (the spec has no customerId).
    every = _csv(session, month, Spec(type="CUSTOMER", category="RECONCILIATION", **MARCH))
    assert every == "\n".join([HEADER, *_partner_lines(month)]) + "\n"


def test_a_user_report_gives_the_package_each_subscriber_holds_at_the_end_of_each_day(session, month):
    a, b, e, i = month.keys["A"], month.keys["B"], month.emails, month.ids
    a1_meetings = f"{a},{i['a1']},{e['a1']},webex_meetings"
    a1_calling = f"{a},{i['a1']},{e['a1']},webex_calling"
    b1 = f"{b},{i['b1']},{e['b1']},webex_suite"
    b2 = f"{b},{i['b2']},{e['b2']},webex_suite"
    lines: list[str] = []
    for d, rows in (
        ("2026-03-01", [a1_meetings]),  # a2 held meetings from 09:00 to 15:00 only
        ("2026-03-02", [a1_meetings]),
        ("2026-03-03", [a1_meetings, b1]),
        *((d, [a1_calling, b1]) for d in _days(4, 9)),
        ("2026-03-10", [a1_calling, b1, b2]),
        *((d, [a1_calling, b1]) for d in _days(11, 24)),
        *((d, [a1_calling]) for d in _days(25, 31)),
    ):
        lines.extend(f"{d},{row}" for row in rows)
    expected = "\n".join([USER_HEADER, *lines]) + "\n"
    assert _csv(session, month, Spec(type="USER", category="RECONCILIATION", **MARCH)) == expected


def test_point_in_time_reports_give_the_state_at_the_end_date(session, month):
    a, b, e, i = month.keys["A"], month.keys["B"], month.emails, month.ids
    spec = Spec(type="PARTNER", category="POINT_IN_TIME", start=date(2026, 3, 1), end=date(2026, 3, 11))
    assert _csv(session, month, spec) == (
        f"{HEADER}\n"
        f"2026-03-11,{a},webex_calling,1,1\n"
        f"2026-03-11,{a},webex_meetings,0,0\n"
        f"2026-03-11,{b},webex_suite,1,2\n"
    )
    spec = Spec(type="USER", category="POINT_IN_TIME", start=date(2026, 3, 1), end=date(2026, 3, 10))
    assert _csv(session, month, spec) == (
        f"{USER_HEADER}\n"
        f"2026-03-10,{a},{i['a1']},{e['a1']},webex_calling\n"
        f"2026-03-10,{b},{i['b1']},{e['b1']},webex_suite\n"
        f"2026-03-10,{b},{i['b2']},{e['b2']},webex_suite\n"
    )


def test_internal_orgs_only_when_asked(session, month):
    spec = Spec(type="PARTNER", category="POINT_IN_TIME", start=date(2026, 3, 31), end=date(2026, 3, 31))
    assert month.ids["I"] not in _csv(session, month, spec)
    internal = Spec(
        type="PARTNER", category="POINT_IN_TIME", start=date(2026, 3, 31), end=date(2026, 3, 31), internal=True
    )
    assert f"2026-03-31,{month.keys['I']},webex_meetings,1,1\n" in _csv(session, month, internal)


def test_a_day_before_the_ledger_began_is_empty(session, month):
    spec = Spec(type="PARTNER", category="RECONCILIATION", start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert _csv(session, month, spec) == HEADER + "\n"


def test_a_customer_shows_its_values_as_of_the_end_of_the_report(session, month, frozen):
    a = month.ids["A"]
    frozen.set(datetime(2026, 4, 12, 10, tzinfo=UTC))  # A's externalId changes, as `update_customer` records it
    customer = session.get(Customer, a)
    customer.external_id = "acme-renamed"
    customer_usage.details(session, customer)
    write_pending(session)  # its commit, at this moment
    frozen.set(datetime(2026, 4, 20, 12, tzinfo=UTC))
    session.flush()
    spec = Spec(type="PARTNER", category="RECONCILIATION", start=date(2026, 4, 1), end=date(2026, 4, 14))
    april = _csv(session, month, spec)
    a_lines = [line for line in april.splitlines() if f",{a}," in line]
    assert len(a_lines) == 2 * 14 and all(',"Acme, SARL",acme-renamed,' in line for line in a_lines)
    before = _csv(
        session, month, Spec(type="PARTNER", category="RECONCILIATION", start=date(2026, 4, 1), end=date(2026, 4, 11))
    )
    assert f",{month.keys['A']},webex_calling," in before and "acme-renamed" not in before
    # The live row says something else again: reports never read it.
    customer.external_id = "live-only"
    session.flush()
    assert _csv(session, month, spec) == april


def test_a_customer_without_values_by_the_end_shows_its_first_values_after_it(session, month, frozen):
    """Rows written before migration 0007: the customer's first `customer.details` comes after the report's end
    (the migration's), and later changes do not move it."""
    late = f"{month.ids['A']}-late"
    frozen.set(datetime(2026, 4, 12, tzinfo=UTC))
    append(session, [Change(month.partner, late, "webex_calling", Kind.PACKAGE_ADDED, 0, 0)])
    write_pending(session)  # its commit, at this moment
    for when, external_id in (("2026-04-20T00:00:00", "late-1"), ("2026-04-22T00:00:00", "late-2")):
        frozen.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
        shown = {"name": "Late", "externalId": external_id, "orgId": "org-late", "internal": False}
        append(session, [Change(month.partner, late, "", Kind.CUSTOMER_DETAILS, 0, 0, details=shown)])
        write_pending(session)  # its commit, at this moment
    session.flush()
    april = Spec(type="PARTNER", category="RECONCILIATION", start=date(2026, 4, 1), end=date(2026, 4, 14))
    lines = list(csv.reader(io.StringIO(_csv(session, month, april))))
    assert [line[0] for line in lines if line[1] == late] == ["2026-04-12", "2026-04-13", "2026-04-14"]
    assert {tuple(line[1:]) for line in lines if line[1] == late} == {
        (late, "Late", "late-1", "org-late", "webex_calling", "0", "0")
    }
    assert all(line[5] for line in lines[1:])  # details rows hold no package: no line item comes of them


def test_rerunning_a_past_report_is_byte_identical(session, tenant, month, frozen):
    body = ReportCreate(billingStartDate="2026-03-01", billingEndDate="2026-03-31", type="PARTNER")
    first = service.create_report(session, tenant.tenant, body)
    assert service.generate(session, first.id) == "COMPLETED"
    before = Path(downloads.file_path(first.file_name or "")).read_bytes()
    assert first.line_items == len(_partner_lines(month))
    # Later changes (today and after the range) change nothing in March.
    frozen.set(datetime(2026, 4, 20, 9, tzinfo=UTC))
    append(
        session,
        [
            Change(month.partner, month.ids["A"], "webex_meetings", Kind.SUBSCRIBER_RELEASED, -1, 0, month.ids["a3"]),
            Change(month.partner, month.ids["A"], "webex_meetings", Kind.PACKAGE_REMOVED, 0, 0),
        ],
    )
    session.flush()
    again = service.create_report(session, tenant.tenant, body)
    assert service.generate(session, again.id) == "COMPLETED"
    assert Path(downloads.file_path(again.file_name or "")).read_bytes() == before
    assert again.sha256 == first.sha256
    assert service.generate(session, again.id) == "skipped"  # a completed report is never regenerated
    for report in (first, again):
        downloads.delete_file(report.file_name)


def test_a_sub_partners_report_shows_only_its_customers(session, make_tenant, month, frozen):
    master = make_tenant()
    sub = make_tenant(parent=master.partner_org_id)
    session.flush()
    org = _customer(session, sub.partner_org_id, sub.template_id, f"sub-{uuid.uuid4().hex[:6]}", "Sub Co", "sub-1")
    session.flush()
    customer_id = session.query(Customer.id).filter(Customer.org_id == org).scalar()
    frozen.set(datetime(2026, 3, 5, tzinfo=UTC))
    append(session, [Change(sub.partner_org_id, customer_id, "webex_calling", Kind.PACKAGE_ADDED, 0, 0)])
    write_pending(session)  # its commit, at this moment
    frozen.set(datetime(2026, 4, 15, tzinfo=UTC))
    session.flush()
    spec = Spec(type="PARTNER", category="POINT_IN_TIME", start=date(2026, 3, 31), end=date(2026, 3, 31))
    content, count = service.render(session, sub.partner_org_id, spec)
    assert count == 1 and f"2026-03-31,{customer_id},Sub Co,sub-1,{org},webex_calling,0,0\n" in content.decode()
    assert month.ids["A"] not in content.decode()
    # The master partner's own ledger has none of the sub-partner's customers.
    assert service.render(session, master.partner_org_id, spec) == ((HEADER + "\n").encode(), 0)
    # Created through subPartnerOrgId, the report reads the sub-partner's ledger; another partner cannot see it.
    body = ReportCreate(billingStartDate="2026-03-01", billingEndDate="2026-03-31", subPartnerOrgId=sub.partner_org_id)
    from wholesale.partners import tenancy

    acting_for_sub = tenancy.resolve(session, master.tenant.principal, sub.partner_org_id, writing=True)
    report = service.create_report(session, acting_for_sub, body)
    assert report.partner_org_id == sub.partner_org_id
    assert service.get_report(session, master.tenant, report.id).id == report.id  # the master sees its sub's
    with pytest.raises(NotFound):
        service.get_report(session, month_tenant(session, month), report.id)


def month_tenant(session, month: Month):
    from wholesale.identity.roles import Role
    from wholesale.identity.schemas import Principal
    from wholesale.partners.tenancy import Tenant

    principal = Principal("t", month.partner, Role.PARTNER_ADMIN, frozenset(), month.partner)
    return Tenant(principal, partner_org_id=month.partner)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-04-10", "2026-04-15", "must be before today (2026-04-15 UTC)"),
        ("2026-04-10", "2026-05-01", "must be before today"),
        ("2026-03-10", "2026-03-09", "is after billingEndDate"),
        ("2025-03-01", "2026-03-02", "spans 367 days"),
        ("2026-3-1", "2026-03-02", "billingStartDate: must be a date YYYY-MM-DD"),
    ],
)
def test_ranges_that_are_refused(session, tenant, frozen, start, end, message):
    frozen.set(datetime(2026, 4, 15, 12, tzinfo=UTC))
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        service.create_report(session, tenant.tenant, ReportCreate(billingStartDate=start, billingEndDate=end))


def test_dates_may_be_full_timestamps(frozen):
    assert service.parse_date("d", "2026-03-01T00:00:00.000Z") == date(2026, 3, 1)
    assert service.parse_date("d", "2026-03-01T23:30:00-02:00") == date(2026, 3, 2)
    assert service.parse_date("d", "2026-03-01") == date(2026, 3, 1)
    frozen.set(datetime(2026, 4, 15, tzinfo=UTC))
    service.check_range(date(2025, 4, 15), date(2026, 4, 14))  # 365 days
    service.check_range(date(2026, 4, 14) - timedelta(days=365), date(2026, 4, 14))  # 366 days


def test_a_report_that_cannot_be_generated_is_failed_with_its_error(session, tenant, frozen):
    from helpers import validate_against_spec

    frozen.set(datetime(2026, 4, 15, tzinfo=UTC))
    report = service.create_report(
        session, tenant.tenant, ReportCreate(billingStartDate="2026-03-01", billingEndDate="2026-03-02")
    )
    assert service.fail(session, report.id, "The report could not be generated: OSError.") == "FAILED"
    body = service.read(report, "http://testserver")
    validate_against_spec(body, "Report")
    assert body["status"] == "FAILED" and "tempDownloadURL" not in body
    assert body["errors"] == [{"code": 2500, "description": "The report could not be generated: OSError."}]
    assert service.generate(session, report.id) == "skipped"  # a failed report stays failed
