"""Migration 0007 on a database written before it (SQLite or PostgreSQL, as the session runs): the ledger's rows
keep their hashes, every customer (deleted ones too) and subscriber gets a row with what reports show, chained
after the partner's head, `wholesale ledger verify` passes, and a report over the days before the migration shows
those values and stays byte-identical whatever changes afterwards."""

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from conftest import fresh_database_url
from wholesale.billing import service as billing
from wholesale.billing.generation import Spec
from wholesale.customers import usage as customer_usage
from wholesale.customers.models import Customer
from wholesale.customers.schemas import TemplateIn
from wholesale.customers.templates import add_template
from wholesale.db.base import UTCDateTime
from wholesale.db.session import normalise_url
from wholesale.identity.service import create_org, create_user
from wholesale.ledger import service as ledger
from wholesale.ledger.chain import GENESIS
from wholesale.ledger.models import UsageEntry
from wholesale.migrate import alembic_config
from wholesale.partners.service import create_partner
from wholesale.subscribers.models import Subscriber

VERSIONS = Path(__file__).parents[2] / "src/wholesale/migrations/versions"
OLD_COLUMNS = (  # usage_ledger as migration 0005 made it
    "partner_org_id",
    "seq",
    "at",
    "kind",
    "customer_id",
    "subscriber_id",
    "package",
    "delta",
    "units_after",
    "quantity_limit",
    "actor",
    "tracking_id",
    "prev_sha256",
)


def _migration(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"migration_{name}", VERSIONS / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old_append(session: Session, partner: str, at: datetime, changes: list[tuple[Any, ...]]) -> None:
    """Rows as `ledger.append` wrote them before 0007: no details, hashed with 0005's digest."""
    old_digest = _migration("0005_usage_ledger.py")._digest
    head = session.execute(
        sa.text("SELECT seq, sha256 FROM usage_ledger_heads WHERE partner_org_id = :p"), {"p": partner}
    ).first()
    seq, prev = (head.seq, head.sha256) if head else (0, GENESIS)
    columns = [sa.column(c, UTCDateTime()) if c == "at" else sa.column(c) for c in (*OLD_COLUMNS, "sha256")]
    table = sa.table("usage_ledger", *columns)
    for kind, customer_id, subscriber_id, package, delta, units in changes:
        seq += 1
        values = [partner, seq, at, kind, customer_id, subscriber_id, package, delta, units, None, "test", None, prev]
        row = dict(zip(OLD_COLUMNS, values, strict=True))
        prev = old_digest([*values[:2], at.isoformat(timespec="microseconds"), *values[3:]])
        session.execute(sa.insert(table).values(row | {"sha256": prev}))
    if head is None:
        session.execute(
            sa.text("INSERT INTO usage_ledger_heads (partner_org_id, seq, sha256) VALUES (:p, :s, :h)"),
            {"p": partner, "s": seq, "h": prev},
        )
    else:
        session.execute(
            sa.text("UPDATE usage_ledger_heads SET seq = :s, sha256 = :h WHERE partner_org_id = :p"),
            {"p": partner, "s": seq, "h": prev},
        )


def _customer(session: Session, partner: str, template: str, name: str, org_id: str | None, **extra: Any) -> str:
    now = datetime.now(UTC)
    customer = Customer(
        id=f"c-{uuid.uuid4().hex[:8]}",
        partner_org_id=partner,
        org_id=org_id,
        external_id=f"ext-{name.lower()}",
        provisioning_id=template,
        name=name,
        address_line1="1 Main St",
        city="Paris",
        country="FR",
        status="provisioned",
        errors=[],
        package_limits={},
        created=now,
        updated=now,
        **extra,
    )
    session.add(customer)
    session.flush()
    return customer.id


def _subscriber(session: Session, partner: str, customer_id: str, org_id: str, email: str) -> str:
    now = datetime.now(UTC)
    subscriber = Subscriber(
        id=f"s-{uuid.uuid4().hex[:8]}",
        customer_id=customer_id,
        partner_org_id=partner,
        org_id=org_id,
        user_id=create_user(session, org_id=org_id, email=email).id,
        email=email,
        package="webex_meetings",
        status="provisioned",
        errors=[],
        created=now,
        last_status_change=now,
    )
    session.add(subscriber)
    session.flush()
    return subscriber.id


def test_migration_0007_on_a_ledger_written_before_it(tmp_path):
    url = fresh_database_url(tmp_path)
    config = alembic_config(url)
    # Everything but 0007: every other branch at its head, the ledger at 0005.
    for target in [*sorted(set(ScriptDirectory.from_config(config).get_heads()) - {"0007"}), "0005"]:
        command.upgrade(config, target)
    engine = sa.create_engine(normalise_url(url))
    try:
        _check(engine, url, config)
    finally:
        engine.dispose()


def _check(engine: sa.Engine, url: str, config: Any) -> None:
    day = (datetime.now(UTC) - timedelta(days=10)).date()  # the days reported lie before the migration

    def at(n: int, hour: int) -> datetime:
        return datetime.combine(day + timedelta(days=n), time(hour), tzinfo=UTC)

    with Session(engine) as session, session.begin():
        partner = create_partner(session, name="Before 0007").org_id
        template = add_template(session, partner, TemplateIn(name="Standard")).id
        a_org = create_org(session, kind="customer", display_name="Acme").id
        a = _customer(session, partner, template, "Acme", a_org)
        b = _customer(session, partner, template, "Bistro", None)  # provisioning has not made its org yet
        c = _customer(session, partner, template, "Gone", None, deleted_at=datetime.now(UTC))
        s1 = _subscriber(session, partner, a, a_org, f"one-{uuid.uuid4().hex[:6]}@example.com")
        s2 = _subscriber(session, partner, a, a_org, f"two-{uuid.uuid4().hex[:6]}@example.com")
        s3 = "s-deleted-before-0007"  # in the ledger, no longer in the subscribers table
        _old_append(
            session,
            partner,
            at(0, 9),
            [
                ("package.added", a, None, "webex_meetings", 0, 0),
                ("subscriber.assigned", a, s1, "webex_meetings", 1, 1),
                ("subscriber.assigned", a, s3, "webex_meetings", 1, 2),
                ("package.added", b, None, "webex_suite", 0, 0),
                ("package.added", c, None, "webex_calling", 0, 0),
            ],
        )
        _old_append(
            session,
            partner,
            at(1, 9),
            [
                ("subscriber.released", a, s3, "webex_meetings", -1, 1),
                ("subscriber.assigned", a, s2, "webex_meetings", 1, 2),
                ("package.removed", c, None, "webex_calling", 0, 0),
            ],
        )
        old = {
            r.seq: r.sha256
            for r in session.execute(
                sa.text("SELECT seq, sha256 FROM usage_ledger WHERE partner_org_id = :p"), {"p": partner}
            )
        }
    assert len(old) == 8

    command.upgrade(config, "heads")

    with Session(engine) as session, session.begin():
        assert ledger.verify(session, partner) == (8 + 5, [])
        rows = list(
            session.scalars(sa.select(UsageEntry).where(UsageEntry.partner_org_id == partner).order_by(UsageEntry.seq))
        )
        assert {r.seq: r.sha256 for r in rows[:8]} == old and all(r.details is None for r in rows[:8])
        added = [(r.seq, r.kind, r.customer_id, r.subscriber_id, r.package, r.actor) for r in rows[8:]]
        by_customer = sorted(added, key=lambda r: r[0])
        assert [(k, cid, sid) for _seq, k, cid, sid, _p, _a in by_customer] == [
            ("customer.details", a, None),
            ("subscriber.details", a, s1),
            ("subscriber.details", a, s2),
            ("customer.details", b, None),
            ("customer.details", c, None),
        ]
        assert {(p, actor) for *_rest, p, actor in added} == {("", "migration:0007")}
        assert [json.loads(r.details) for r in rows[8:] if r.kind == "customer.details"] == [
            {"name": "Acme", "externalId": "ext-acme", "orgId": a_org, "internal": False},
            {"name": "Bistro", "externalId": "ext-bistro", "orgId": "", "internal": False},
            {"name": "Gone", "externalId": "ext-gone", "orgId": "", "internal": False},
        ]
        head = session.execute(
            sa.text("SELECT seq, sha256 FROM usage_ledger_heads WHERE partner_org_id = :p"), {"p": partner}
        ).one()
        assert (head.seq, head.sha256) == (rows[-1].seq, rows[-1].sha256)

        user = billing.render(session, partner, Spec("USER", "RECONCILIATION", day, day + timedelta(days=1)))[0]
        partner_csv = billing.render(session, partner, Spec("PARTNER", "RECONCILIATION", day, day + timedelta(days=1)))[
            0
        ]
        emails = {r.subscriber_id: json.loads(r.details)["email"] for r in rows[8:] if r.subscriber_id}
        keys_a = f"{a},Acme,ext-acme,{a_org}"
        emails[s3] = ""  # deleted before 0007: its email was never recorded
        assert user.decode().splitlines()[1:] == [
            f"{d},{keys_a},{s},{emails[s]},webex_meetings"
            for d, held in ((day, (s1, s3)), (day + timedelta(days=1), (s1, s2)))
            for s in sorted(held)
        ]
        assert f"{day},{b},Bistro,ext-bistro,,webex_suite,0,0" in partner_csv.decode()
        assert f"{day + timedelta(days=1)},{c},Gone,ext-gone,,webex_calling,0,0" in partner_csv.decode()

        # After the migration, as the services record them: A gets a new externalId, B its org; s1 is deleted.
        customer_a, customer_b = session.get(Customer, a), session.get(Customer, b)
        assert customer_a is not None and customer_b is not None
        customer_a.external_id = "ext-acme-2"
        customer_usage.details(session, customer_a)
        customer_b.org_id = create_org(session, kind="customer", display_name="Bistro").id
        customer_usage.details(session, customer_b)
        session.execute(sa.delete(Subscriber).where(Subscriber.id == s1))
        assert billing.render(session, partner, Spec("USER", "RECONCILIATION", day, day + timedelta(days=1)))[0] == user
        assert (
            billing.render(session, partner, Spec("PARTNER", "RECONCILIATION", day, day + timedelta(days=1)))[0]
            == partner_csv
        )
        assert ledger.verify(session, partner) == (8 + 5 + 2, [])

    cli = subprocess.run(
        [sys.executable, "-m", "wholesale.cli", "ledger", "verify"],
        env=os.environ | {"WHOLESALE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and "0 problem(s)" in cli.stdout + cli.stderr, cli.stdout + cli.stderr


def test_a_row_without_details_hashes_as_before_0007():
    """The digest leaves `details` out when it is None: the rows written before 0007 keep their hashes."""
    from wholesale.ledger.chain import FIELDS, digest

    row: dict[str, Any] = dict.fromkeys(FIELDS) | {
        "partner_org_id": "p",
        "seq": 1,
        "at": datetime(2026, 3, 1, 9, tzinfo=UTC),
        "kind": "package.added",
        "customer_id": "c",
        "package": "webex_meetings",
        "delta": 0,
        "units_after": 0,
        "actor": "a",
        "prev_sha256": GENESIS,
    }
    fields = [row[c] for c in OLD_COLUMNS]
    fields[2] = "2026-03-01T09:00:00.000000+00:00"
    assert digest(row) == _migration("0005_usage_ledger.py")._digest(fields)
    assert digest(row | {"details": '{"email":"x@example.com"}'}) != digest(row)
    migration = _migration("0007_ledger_details.py")
    assert digest(row | {"details": '{"email":"x@example.com"}'}) == migration._digest(
        fields, '{"email":"x@example.com"}'
    )
