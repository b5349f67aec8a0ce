"""The usage ledger (R2): every change of what a customer or user holds appends a row in the same transaction,
hash-chained per partner; `verify` names a changed, removed or inserted row. Service level, rolled back."""

import importlib.util
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from helpers import customer_body
from wholesale.customers import service as customers
from wholesale.customers.models import CustomerPackageRow
from wholesale.customers.schemas import CustomerCreate, CustomerUpdate
from wholesale.ledger import service as ledger
from wholesale.ledger.models import LedgerHead, UsageEntry
from wholesale.provisioning import steps
from wholesale.subscribers import service as subscribers
from wholesale.subscribers.schemas import SubscriberCreate, SubscriberUpdate


def _customer(session, ctx, **overrides: Any):
    body = customer_body(ctx.template_id, packages=["webex_meetings", "webex_suite"], **overrides)
    customer = customers.create_customer(session, ctx.tenant, CustomerCreate.model_validate(body))
    assert steps.converge(session, customer, new=True) == ({}, "provisioned")
    return customer


def _add_subscriber(session, ctx, customer, email: str) -> str:
    body = {"customerId": customer.id, "email": email, "package": "webex_meetings", "provisioningParameters": {}}
    subscriber, _read = subscribers.create_subscriber(session, ctx.tenant, SubscriberCreate.model_validate(body))
    return subscriber.id


def _rows(session, partner_org_id: str) -> list[UsageEntry]:
    ledger.write_pending(session)  # this test's transaction never commits; its rows would be written at commit
    query = sa.select(UsageEntry).where(UsageEntry.partner_org_id == partner_org_id).order_by(UsageEntry.seq)
    return list(session.scalars(query))


def _units(session, customer_id: str) -> dict[str, int]:
    ledger.write_pending(session)
    """The ledger's units per package: the last row's units_after (details rows hold no units)."""
    units: dict[str, int] = {}
    for row in session.scalars(
        sa.select(UsageEntry).where(UsageEntry.customer_id == customer_id).order_by(UsageEntry.seq)
    ):
        if row.kind not in ledger.DETAILS_KINDS:
            units[row.package] = row.units_after
    return units


def _assigned(session, customer_id: str) -> dict[str, int]:
    session.expire_all()
    rows = session.scalars(sa.select(CustomerPackageRow).where(CustomerPackageRow.customer_id == customer_id))
    return {r.name: r.assigned for r in rows}


def test_a_subscriber_lifecycle_is_in_the_ledger_with_the_units_after_each_change(session, tenant):
    customer = _customer(session, tenant)
    # What reports show for the customer when it is created and once provisioning made its org; R5: the full
    # admin holds the tier package from the provisioning run.
    kinds = [(r.kind, r.package, r.delta, r.units_after) for r in _rows(session, tenant.partner_org_id)]
    assert kinds == [
        ("customer.details", "", 0, 0),
        ("package.added", "webex_meetings", 0, 0),
        ("package.added", "webex_suite", 0, 0),
        ("customer.details", "", 0, 0),
        ("subscriber.assigned", "webex_suite", 1, 1),
    ]
    details = [json.loads(r.details) if r.details else None for r in _rows(session, tenant.partner_org_id)]
    shown = {"name": customer.name, "externalId": customer.external_id, "internal": False}
    assert details == [
        shown | {"orgId": ""},
        None,
        None,
        shown | {"orgId": customer.org_id},
        {"email": customer.primary_email},
    ]
    subscriber_id = _add_subscriber(session, tenant, customer, "ann@example.com")
    subscribers.update_subscriber(
        session,
        tenant.tenant,
        subscriber_id,
        SubscriberUpdate.model_validate({"package": "webex_suite", "provisioningParameters": {"extension": "2001"}}),
    )
    subscribers.delete_subscriber(session, tenant.tenant, subscriber_id)
    tail = [
        (r.kind, r.subscriber_id, r.package, r.delta, r.units_after, r.details)
        for r in _rows(session, tenant.partner_org_id)
    ][5:]
    ann = '{"email":"ann@example.com"}'  # units taken carry the email, canonical JSON
    assert tail == [
        ("subscriber.assigned", subscriber_id, "webex_meetings", 1, 1, ann),
        ("subscriber.released", subscriber_id, "webex_meetings", -1, 0, None),
        ("subscriber.assigned", subscriber_id, "webex_suite", 1, 2, ann),
        ("subscriber.released", subscriber_id, "webex_suite", -1, 1, None),
    ]
    assert _units(session, customer.id) == _assigned(session, customer.id) == {"webex_meetings": 0, "webex_suite": 1}
    checked, problems = ledger.verify(session, tenant.partner_org_id)
    assert checked == 9 and problems == []


def test_packages_added_removed_and_caps_changed_are_rows(session, tenant):
    customer = _customer(session, tenant)
    update = {
        "packages": ["webex_suite", "webex_calling"],
        "provisioningParameters": {
            "packages": {"limits": {"webex_suite": 10}},
            "calling": {"location": customer_body(tenant.template_id)["provisioningParameters"]["calling"]["location"]},
        },
    }
    customers.update_customer(session, tenant.tenant, customer.id, CustomerUpdate.model_validate(update))
    steps.converge(session, customer, new=False)
    tail = [(r.kind, r.package, r.units_after, r.quantity_limit) for r in _rows(session, tenant.partner_org_id)][5:]
    assert tail == [
        ("package.added", "webex_calling", 0, None),
        ("package.limit_changed", "webex_suite", 1, 10),
        ("package.removed", "webex_meetings", 0, None),
    ]
    assert ledger.verify(session, tenant.partner_org_id)[1] == []


def test_removing_a_customer_gives_every_unit_back_then_drops_its_packages(session, tenant):
    customer = _customer(session, tenant)
    for n in range(3):
        _add_subscriber(session, tenant, customer, f"u{n}@example.com")
    customers.delete_customer(session, tenant.tenant, customer.id)
    assert steps.remove_everything(session, customer.id)
    tail = [(r.kind, r.package, r.delta, r.units_after) for r in _rows(session, tenant.partner_org_id)][-6:]
    # Sorted: which package's subscribers go first is not part of the rule; each unit is.
    assert sorted(tail[:4]) == [
        ("subscriber.released", "webex_meetings", -1, 0),
        ("subscriber.released", "webex_meetings", -1, 1),
        ("subscriber.released", "webex_meetings", -1, 2),
        ("subscriber.released", "webex_suite", -1, 0),
    ]
    assert {(k, p) for k, p, _d, _u in tail[4:]} == {
        ("package.removed", "webex_meetings"),
        ("package.removed", "webex_suite"),
    }
    assert ledger.verify(session, tenant.partner_org_id)[1] == []


def test_a_bulk_chunk_writes_one_row_per_user_with_consecutive_units(session, tenant):
    from wholesale.subscribers import bulk

    customer = _customer(session, tenant)
    rows = [
        (n + 1, {"email": f"bulk{n}@example.com", "package": "webex_meetings", "provisioningParameters": {}})
        for n in range(5)
    ]
    results = bulk.import_chunk(session, customer, rows)
    assert [r["status"] for r in results] == ["provisioned"] * 5
    tail = [(r.kind, r.delta, r.units_after, r.details) for r in _rows(session, tenant.partner_org_id)][5:]
    assert tail == [("subscriber.assigned", 1, n, f'{{"email":"bulk{n - 1}@example.com"}}') for n in range(1, 6)]
    assert _units(session, customer.id)["webex_meetings"] == _assigned(session, customer.id)["webex_meetings"] == 5


def test_verify_names_a_changed_a_removed_and_an_inserted_row(session, tenant):
    customer = _customer(session, tenant)
    for n in range(4):
        _add_subscriber(session, tenant, customer, f"v{n}@example.com")
    rows = _rows(session, tenant.partner_org_id)
    assert len(rows) == 9 and ledger.verify(session, tenant.partner_org_id)[1] == []
    partner = tenant.partner_org_id

    changed, original = rows[3], rows[3].units_after
    session.execute(sa.update(UsageEntry).where(UsageEntry.id == changed.id).values(units_after=99))
    problems = ledger.verify(session, partner)[1]
    assert [(p.row_id, "changed" in p.what) for p in problems] == [(changed.id, True)]
    session.execute(sa.update(UsageEntry).where(UsageEntry.id == changed.id).values(units_after=original))

    removed = rows[4]
    session.execute(sa.delete(UsageEntry).where(UsageEntry.id == removed.id))
    problems = ledger.verify(session, partner)[1]
    assert problems and all(p.row_id == rows[5].id for p in problems)
    assert any(f"expected seq {removed.seq}" in p.what for p in problems)
    assert str(problems[0]).startswith(f"partner {partner}: row {rows[5].id} (seq {rows[5].seq})")


def test_verify_names_a_row_added_behind_the_heads_back(session, tenant):
    _customer(session, tenant)
    last = _rows(session, tenant.partner_org_id)[-1]
    forged = {c.key: getattr(last, c.key) for c in UsageEntry.__table__.columns if c.key != "id"}
    session.execute(sa.insert(UsageEntry).values(forged | {"seq": last.seq + 1, "prev_sha256": last.sha256}))
    problems = ledger.verify(session, tenant.partner_org_id)[1]
    assert any("changed" in p.what for p in problems)  # its hash covers its seq and link, so it cannot be copied
    assert any("inserted" in p.what for p in problems)


def test_the_cli_verifies_the_whole_ledger_and_names_a_tampered_row(db, tmp_path):
    from typer.testing import CliRunner

    from wholesale.cli import app
    from wholesale.ledger.service import Change

    partner = f"ledger-cli-{tmp_path.name}"
    with db.transaction() as s:
        ledger.append(s, [Change(partner, "customer-x", "webex_meetings", "package.added", 0, 0) for _ in range(3)])
    try:
        ok = CliRunner().invoke(app, ["ledger", "verify", "--partner", partner])
        assert ok.exit_code == 0 and "3 rows checked, 0 problem(s)" in ok.output
        with db.transaction() as s:
            second = s.scalars(
                sa.select(UsageEntry).where(UsageEntry.partner_org_id == partner, UsageEntry.seq == 2)
            ).one()
            second.delta = 7
            row_id = second.id
        bad = CliRunner().invoke(app, ["ledger", "verify", "--partner", partner])
        assert bad.exit_code == 1
        assert f"row {row_id} (seq 2): was changed" in bad.output
    finally:
        with db.transaction() as s:
            s.execute(sa.delete(UsageEntry).where(UsageEntry.partner_org_id == partner))
            s.execute(sa.delete(LedgerHead).where(LedgerHead.partner_org_id == partner))


def test_the_migration_opens_the_ledger_with_todays_holdings(session, tenant):
    """Migration 0005's backfill, run again on this session's data: one opening row per package, one per
    holder, and the units equal today's `assigned`."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    customer = _customer(session, tenant)
    for n in range(2):
        _add_subscriber(session, tenant, customer, f"m{n}@example.com")
    ledger.write_pending(session)
    session.execute(sa.delete(UsageEntry))
    session.execute(sa.delete(LedgerHead))
    path = Path(__file__).parents[2] / "src/wholesale/migrations/versions/0005_usage_ledger.py"
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(session.connection())):
        migration._open_with_current_holdings()
    rows = [
        (r.kind, r.subscriber_id is not None, r.package, r.delta, r.units_after)
        for r in _rows(session, tenant.partner_org_id)
    ]
    assert rows == [
        ("opening", False, "webex_meetings", 0, 0),
        ("opening", True, "webex_meetings", 1, 1),
        ("opening", True, "webex_meetings", 1, 2),
        ("opening", False, "webex_suite", 0, 0),
        ("opening", True, "webex_suite", 1, 1),
    ]
    assert _units(session, customer.id) == _assigned(session, customer.id)
    checked, problems = ledger.verify(session)
    assert problems == [] and checked >= 5


def test_the_cli_names_a_row_whose_details_were_changed_cleared_or_set(db, tmp_path):
    from typer.testing import CliRunner

    from wholesale.cli import app
    from wholesale.ledger.service import Change, Kind

    partner = f"ledger-details-{tmp_path.name}"
    shown = {"name": "Acme", "externalId": "acme-1", "orgId": "org-1", "internal": False}
    with db.transaction() as s:
        ledger.append(
            s,
            [
                Change(partner, "customer-x", "", Kind.CUSTOMER_DETAILS, 0, 0, details=shown),
                Change(partner, "customer-x", "webex_meetings", Kind.PACKAGE_ADDED, 0, 0),
                Change(
                    partner,
                    "customer-x",
                    "webex_meetings",
                    Kind.SUBSCRIBER_ASSIGNED,
                    1,
                    1,
                    "sub-1",
                    details={"email": "a@example.com"},
                ),
            ],
        )

    def verify() -> tuple[int, str]:
        run = CliRunner().invoke(app, ["ledger", "verify", "--partner", partner])
        return run.exit_code, run.output

    def tamper(seq: int, details: str | None) -> tuple[int, str | None]:
        with db.transaction() as s:
            row = s.scalars(
                sa.select(UsageEntry).where(UsageEntry.partner_org_id == partner, UsageEntry.seq == seq)
            ).one()
            original, row.details = row.details, details
            return row.id, original

    try:
        code, output = verify()
        assert code == 0 and "3 rows checked, 0 problem(s)" in output
        for seq, details in (
            (1, json.dumps(shown | {"externalId": "acme-2"}, sort_keys=True, separators=(",", ":"))),  # changed
            (3, None),  # cleared
            (2, '{"email":"b@example.com"}'),  # set on a row that had none
        ):
            row_id, original = tamper(seq, details)
            code, output = verify()
            assert code == 1 and f"row {row_id} (seq {seq}): was changed" in output, output
            tamper(seq, original)
            assert verify()[0] == 0
    finally:
        with db.transaction() as s:
            s.execute(sa.delete(UsageEntry).where(UsageEntry.partner_org_id == partner))
            s.execute(sa.delete(LedgerHead).where(LedgerHead.partner_org_id == partner))


def _change(partner_org_id: str, customer_id: str, units: int) -> ledger.Change:
    return ledger.Change(partner_org_id, customer_id, "webex_meetings", ledger.Kind.SUBSCRIBER_ASSIGNED, 1, units)


def _committed(db, partner_org_id: str) -> list[tuple[int, int]]:
    with db.session(write=False) as s:
        query = sa.select(UsageEntry.seq, UsageEntry.units_after).where(UsageEntry.partner_org_id == partner_org_id)
        return [tuple(r) for r in s.execute(query.order_by(UsageEntry.seq))]


def test_rows_are_written_as_the_transaction_commits_and_a_rolled_back_savepoint_takes_its_rows(db, partner):
    """The head row is locked only while the rows are written at commit (bench/scale_out.py --sample-waits found
    20+ sessions waiting on it when it was taken at the change); what a savepoint appended and then rolled back,
    or a transaction that never committed, writes nothing."""
    p = partner.org_id
    with db.transaction() as session:
        ledger.append(session, [_change(p, "c-1", 1)])
        assert (
            session.execute(
                sa.select(sa.func.count()).select_from(UsageEntry).where(UsageEntry.partner_org_id == p)
            ).scalar_one()
            == 0
        )  # nothing written (no head locked) before the commit
        try:
            with session.begin_nested():
                ledger.append(session, [_change(p, "c-1", 2), _change(p, "c-1", 3)])
                raise RuntimeError("the savepoint fails")
        except RuntimeError:
            pass
        with session.begin_nested():
            ledger.append(session, [_change(p, "c-1", 2)])
        ledger.append(session, [_change(p, "c-1", 3)])
    assert _committed(db, p) == [(1, 1), (2, 2), (3, 3)]
    try:
        with db.transaction() as session:
            ledger.append(session, [_change(p, "c-1", 4)])
            raise RuntimeError("the transaction fails")
    except RuntimeError:
        pass
    with db.transaction() as session:
        ledger.append(session, [_change(p, "c-1", 4)])
    assert _committed(db, p) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    with db.session(write=False) as session:
        assert ledger.verify(session, p) == (4, [])


def _head_statements(db, work) -> list[str]:
    """The statements on the heads table made while `work()` runs."""
    seen: list[str] = []

    def spy(conn, cursor, statement, *args):
        if "usage_ledger_heads" in statement:
            seen.append(statement.split()[0])

    sa.event.listen(db.write_engine, "before_cursor_execute", spy)
    try:
        work()
    finally:
        sa.event.remove(db.write_engine, "before_cursor_execute", spy)
    return seen


def test_a_write_after_this_process_wrote_the_partner_moves_the_head_without_reading_it(db, partner):
    """Issue 15: the head this process last wrote is its guess of the head; the UPDATE that moves the head checks
    it, so a partner's second write makes no SELECT of the head. SQLite only: on PostgreSQL one partner's writes
    overlap and the guesses missed (ledger.service._Heads), so the head is read under its lock there."""
    p = partner.org_id

    def write(units: int) -> None:
        with db.transaction() as session:
            ledger.append(session, [_change(p, "c-1", units)])

    assert _head_statements(db, lambda: write(1)) == ["SELECT", "INSERT", "SELECT", "UPDATE"]  # a new head
    assert _head_statements(db, lambda: write(2)) == (["UPDATE"] if db.is_sqlite else ["SELECT", "UPDATE"])
    assert _committed(db, p) == [(1, 1), (2, 2)]
    with db.session(write=False) as session:
        assert ledger.verify(session, p) == (2, [])


def test_a_stale_guess_of_the_head_rehashes_on_the_head_read_under_its_lock(db, partner):
    """Another process (a second Database on the same URL: engines of their own) writes the partner's rows, and a
    transaction that wrote rows rolls back after writing them: every guess left behind is stale, the chain holds."""
    from wholesale.db.session import Database

    p = partner.org_id
    other = Database(db.url)
    try:
        for units, where in [(1, db), (2, other), (3, db), (4, db), (5, other), (6, other), (7, db)]:
            with where.transaction() as session:
                ledger.append(session, [_change(p, "c-1", units)])
        try:
            with db.transaction() as session:
                ledger.append(session, [_change(p, "c-1", 99)])
                ledger.write_pending(session)  # rows and head written, the guess moved ...
                raise RuntimeError("... and the transaction fails")
        except RuntimeError:
            pass
        stale = _head_statements(db, lambda: _append_committed(db, p, 8))
        # the guess missed; read under the lock
        assert stale == (["UPDATE", "SELECT", "UPDATE"] if db.is_sqlite else ["SELECT", "UPDATE"]), stale
    finally:
        other.dispose()
    assert _committed(db, p) == [(n, n) for n in range(1, 9)]
    with db.session(write=False) as session:
        assert ledger.verify(session, p) == (8, [])


def _append_committed(db, partner_org_id: str, units: int) -> None:
    with db.transaction() as session:
        ledger.append(session, [_change(partner_org_id, "c-1", units)])
