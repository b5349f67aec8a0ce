"""The partner event feed: events written with their change, read in commit order after a cursor, never a gap
nor a repeat (on PostgreSQL also when a transaction that began first commits last), tenancy, and what compliance
lets a partner see."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from helpers import assert_error_body, customer_body, wait_for, without_ids
from wholesale.activity import service as activity
from wholesale.compliance import service as compliance
from wholesale.customers import service as customers
from wholesale.customers.schemas import CustomerCreate
from wholesale.events import feed
from wholesale.events.models import Event
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal

URL = "/v1/wholesale/events"
REVIEWER = Principal(token_id="t-rev", org_id="platform", role=Role.REVIEWER, scopes=frozenset(), partner_org_id=None)


def _create(session, tenant, **overrides):
    body = customer_body(tenant.template_id, **overrides)
    return customers.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))


@pytest.fixture
def committed(db, make_partner):
    """Factory: a committed partner (or sub-partner) and its tenant; the feed shows only committed events."""
    from wholesale.partners import tenancy

    def make(parent=None):
        partner = make_partner(parent=parent.partner.org_id if parent else None)
        caller = parent.partner.org_id if parent else partner.org_id
        principal = Principal("t", caller, Role.PARTNER_ADMIN, frozenset(), caller)
        with db.session(write=False) as s:
            tenant = tenancy.resolve(s, principal, partner.org_id if parent else None, writing=False)
        return SimpleNamespace(partner=partner, tenant=tenant, template_id=partner.template_id)

    return make


def _create_committed(db, tenant) -> str:
    with db.transaction() as s:
        return _create(s, tenant).id


def _all(db, tenant, page: int = 2, types=("customer.created",)) -> list[dict]:
    """Read the whole feed `page` events at a time, as a client storing its cursor would (only `types` kept)."""
    seen, cursor = [], None
    while True:
        with db.session(write=False) as s:
            result = activity.read_feed(s, tenant.tenant, cursor, str(page))
        seen += result["items"]
        if not result["items"]:
            assert cursor is None or result["cursor"] == cursor  # nothing new: the same place to poll from
            return [i for i in seen if i["type"] in types]
        cursor = result["cursor"]


def test_changes_appear_once_each_in_commit_order_across_pages(db, committed):
    tenant = committed()
    made = [_create_committed(db, tenant) for _ in range(5)]
    # On PostgreSQL the feed waits for write transactions still running (other tests' jobs): poll, as clients do.
    items = wait_for(lambda: _all(db, tenant, page=2), lambda found: len(found) >= 5)
    assert [i["data"]["id"] for i in items] == made
    assert len({i["id"] for i in items}) == 5
    first = items[0]
    assert first["resource"] == "customers" and first["event"] == "created"
    assert first["orgId"] == tenant.partner.org_id and first["data"]["packages"]


def test_a_cursor_picks_up_exactly_what_came_after_it(db, committed):
    tenant = committed()
    first = _create_committed(db, tenant)

    def read(after):
        with db.session(write=False) as s:
            return activity.read_feed(s, tenant.tenant, after, "1000")

    def created(result):
        return [i["data"]["id"] for i in result["items"] if i["type"] == "customer.created"]

    cursor = wait_for(lambda: read(None), lambda r: created(r) == [first])["cursor"]
    later = _create_committed(db, tenant)
    # After the cursor: the later create, never the first one again (its provisioning's events may follow).
    assert wait_for(lambda: read(cursor), lambda r: bool(created(r)))["items"] and created(read(cursor)) == [later]


def test_a_partner_never_sees_another_partners_events(db, committed):
    a, b = committed(), committed()
    _create_committed(db, a)
    assert _all(db, b, types=("customer.created", "customer.settled", "org.created")) == []
    assert len(wait_for(lambda: _all(db, a), bool)) == 1


def test_a_sub_partners_events_are_its_own(db, committed):
    master = committed()
    sub = committed(parent=master)
    created = _create_committed(db, sub)
    assert [i["data"]["id"] for i in wait_for(lambda: _all(db, sub), bool)] == [created]
    assert _all(db, master) == []


def test_a_change_rolled_back_leaves_no_event_and_a_refused_one_writes_none(db, make_partner, client):
    partner = make_partner()
    from wholesale.partners import tenancy

    principal = Principal("t", partner.org_id, Role.PARTNER_ADMIN, frozenset(), partner.org_id)
    with db.session(write=True) as s:
        tenant = tenancy.resolve(s, principal, None, writing=True)
        customers.create_customer(s, tenant, CustomerCreate.model_validate(customer_body(partner.template_id)))
        s.rollback()
    body = customer_body(partner.template_id)
    assert client.post("/v1/wholesale/customers", json=body, headers=partner.headers).status_code == 202
    again = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)  # the same externalId
    assert again.status_code == 409
    with db.session(write=False) as s:
        rows = s.scalars(
            sa.select(Event.type).where(Event.partner_org_id == partner.org_id, Event.resource == "customers")
        )
        assert list(rows).count("customer.created") == 1


def test_compliance_events_tell_the_partner_that_a_review_runs_never_what_matched(
    session, tenant, fixed_clock, listed_case
):
    customer_id, case_id = listed_case
    compliance.decide(session, REVIEWER, case_id, "reject", "Mahan Air, SDN entry 12345")
    fixed_clock.advance(timedelta(days=23, hours=1).total_seconds())  # 6 days 23 hours left
    compliance.check_deadlines(session)
    compliance.check_deadlines(session)  # the sweep runs hourly: the warning is sent once
    fixed_clock.advance(timedelta(days=6).total_seconds())  # 23 hours left
    compliance.check_deadlines(session)
    fixed_clock.advance(timedelta(days=1).total_seconds())
    compliance.check_deadlines(session)  # R14: deprovisioned
    rows = session.scalars(sa.select(Event).where(Event.partner_org_id == tenant.partner_org_id).order_by(Event.id))
    items = [activity.as_item(r) for r in rows]  # in this uncommitted transaction: the feed would wait for its commit
    compliance_items = [i for i in items if i["resource"] == "compliance"]
    assert [(i["type"], i["data"].get("daysLeft")) for i in compliance_items] == [
        ("compliance.case_opened", None),
        ("compliance.reject", None),
        ("compliance.deadline_warning", 7),
        ("compliance.deadline_warning", 1),
        ("compliance.deprovision", None),
    ]
    text = without_ids(repr(compliance_items))
    assert "SDN" not in text and "12345" not in text and "score" not in text and "hits" not in text
    assert compliance_items[-1]["data"] == {
        "id": case_id,
        "customerId": customer_id,
        "status": "deprovisioned",
        "reason": "restricted-party review",
    }
    deleting = [i for i in items if i["type"] == "customer.delete_requested"]
    assert deleting[-1]["data"] == {"id": customer_id, "status": "deleting", "reason": "restricted-party review"}


def test_bad_cursor_and_max_are_clear_400s(client, partner):
    response = client.get(URL, params={"after": "not-a-cursor"}, headers=partner.headers)
    assert "cursor" in assert_error_body(response, 400)["message"]
    assert_error_body(client.get(URL, params={"max": "-1"}, headers=partner.headers), 400)


def test_the_api_feed_follows_a_customer_to_provisioned(client, partner):
    created = client.post("/v1/wholesale/customers", json=customer_body(partner.template_id), headers=partner.headers)
    assert created.status_code == 202, created.text
    customer_id = created.json()["url"].rsplit("/", 1)[1]

    def settled():
        return client.get(URL, params={"max": "1000"}, headers=partner.headers).json()

    page = wait_for(settled, lambda p: any(i["type"] == "customer.settled" for i in p["items"]), timeout=60)
    assert all(i["orgId"] == partner.org_id for i in page["items"])
    assert page["items"][0]["data"]["id"] == customer_id
    again = client.get(URL, params={"after": page["cursor"]}, headers=partner.headers).json()
    assert all(i["id"] not in {j["id"] for j in page["items"]} for i in again["items"])


def test_other_roles_cannot_read_a_partners_feed(client, platform_token):
    response = client.get(URL, headers={"Authorization": f"Bearer {platform_token('reviewer')}"})
    assert response.status_code in (401, 403)


def test_cursor_round_trip():
    assert feed.decode(feed.encode((12, 34))) == (12, 34)
    assert feed.decode(None) == feed.START


def test_a_transaction_that_commits_late_is_never_skipped(db, make_partner):
    """Two writers: the first takes its id (smaller) and commits last. On PostgreSQL the reader sees neither event
    while the first still runs, then both in order; on SQLite the second writer waits for the first (one writer),
    so commit order is id order by construction."""
    if db.write_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: a later commit cannot hold a smaller id")
    from wholesale.events import service as events

    partner = make_partner()
    seen, cursor = [], feed.START
    early = db.session(write=True)
    try:
        events.record(
            early, subject_type="customer", subject_id="early", action="customer.created", partner_org_id=partner.org_id
        )
        early.flush()  # id and txid taken now
        with db.transaction() as late:
            events.record(
                late,
                subject_type="customer",
                subject_id="late",
                action="customer.created",
                partner_org_id=partner.org_id,
            )
        with db.session(write=False) as reader:
            rows, cursor = feed.read(reader, partner.org_id, cursor, 100)
            seen += [r.subject_id for r in rows]
        assert seen == []  # "late" is committed but waits for "early": handing it out now would skip "early"
        early.commit()
    finally:
        early.close()
    with db.session(write=False) as reader:
        rows, cursor = feed.read(reader, partner.org_id, cursor, 100)
        seen += [r.subject_id for r in rows]
    assert seen == ["early", "late"]
