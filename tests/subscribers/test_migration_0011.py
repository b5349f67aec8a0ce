"""Migration 0011 on a database written before it (SQLite or PostgreSQL, as the session runs): the consent
tokens become their SHA-256, so a link sent before still works; the links in the audit rows of sent consent
emails are gone; a downgrade gives each pending move a new token."""

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from conftest import fresh_database_url
from wholesale.customers.models import Customer
from wholesale.customers.schemas import TemplateIn
from wholesale.customers.templates import add_template
from wholesale.db.base import UTCDateTime
from wholesale.db.session import normalise_url
from wholesale.events.models import AuditEvent
from wholesale.identity.service import create_org, create_user
from wholesale.kit.errors import NotFound
from wholesale.migrate import alembic_config
from wholesale.partners.service import create_partner
from wholesale.subscribers import service

SENT = "subscriber.consent_email_sent"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _subscriber(session: Session, customer: Customer, user_id: str, status: str, token: str | None) -> str:
    """A subscriber row as 0002 made the table (the token in clear)."""
    now = datetime.now(UTC)
    subscriber_id = f"s-{uuid.uuid4().hex[:8]}"
    table = sa.table(
        "subscribers",
        *(sa.column(c) for c in ("id", "customer_id", "partner_org_id", "org_id", "user_id", "email", "package")),
        *(sa.column(c) for c in ("status", "consent_token")),
        sa.column("errors", sa.JSON()),
        *(sa.column(c, UTCDateTime()) for c in ("consent_sent_at", "created", "last_status_change")),
    )
    email = f"{subscriber_id}@example.org"
    session.execute(
        sa.insert(table).values(
            id=subscriber_id,
            customer_id=customer.id,
            partner_org_id=customer.partner_org_id,
            org_id=customer.org_id,
            user_id=user_id,
            email=email,
            package="webex_meetings",
            status=status,
            consent_token=token,
            errors=[],
            consent_sent_at=now if token else None,
            created=now,
            last_status_change=now,
        )
    )
    if token:
        link = f"http://127.0.0.1:8000/v1/subscribers/consent/{token}"
        session.add(_audit(subscriber_id, SENT, {"to": email, "link": link}))
    return subscriber_id


def _audit(subject_id: str, action: str, data: dict[str, str]) -> AuditEvent:
    return AuditEvent(
        occurred_at=datetime.now(UTC), actor="job:test", subject_type="subscriber", subject_id=subject_id,
        action=action, data=data,
    )  # fmt: skip


@pytest.fixture
def before_0011(tmp_path):
    """A fresh database with every branch at its head but the subscribers', at 0002."""
    url = fresh_database_url(tmp_path)
    config = alembic_config(url)
    for target in [*sorted(set(ScriptDirectory.from_config(config).get_heads()) - {"0011"}), "0002"]:
        command.upgrade(config, target)
    engine = sa.create_engine(normalise_url(url))
    yield engine, config
    engine.dispose()


def test_migration_0011_hashes_pending_tokens_and_drops_the_audited_links(before_0011):
    engine, config = before_0011
    first, second = "tok-" + uuid.uuid4().hex, "tok-" + uuid.uuid4().hex
    with Session(engine) as session, session.begin():
        partner = create_partner(session, name="Before 0011").org_id
        template = add_template(session, partner, TemplateIn(name="Standard")).id
        org = create_org(session, kind="customer", display_name="Acme").id
        free = create_org(session, kind="consumer", display_name="Free accounts").id
        now = datetime.now(UTC)
        customer = Customer(
            id=f"c-{uuid.uuid4().hex[:8]}", partner_org_id=partner, org_id=org, external_id="ext-acme",
            provisioning_id=template, name="Acme", address_line1="1 Main St", city="Paris", country="FR",
            status="provisioned", errors=[], package_limits={}, created=now, updated=now,
        )  # fmt: skip
        session.add(customer)
        session.flush()
        users = [
            create_user(session, org_id=o, email=f"u-{uuid.uuid4().hex[:8]}@example.org").id for o in (free, free, org)
        ]
        pending_1 = _subscriber(session, customer, users[0], "pending_user_migration", first)
        pending_2 = _subscriber(session, customer, users[1], "pending_user_migration", second)
        done = _subscriber(session, customer, users[2], "provisioned", None)
        session.add(_audit(done, "subscriber.note", {"link": "kept: not a consent email"}))

    command.upgrade(config, "heads")

    inspector = sa.inspect(engine)
    columns = {c["name"]: c for c in inspector.get_columns("subscribers")}
    assert "consent_token" not in columns and "consent_token_hash" in columns
    assert "uq_subscribers_consent_token_hash" in {u["name"] for u in inspector.get_unique_constraints("subscribers")}
    with Session(engine) as session, session.begin():
        hashes = dict(session.execute(sa.text("SELECT id, consent_token_hash FROM subscribers")).tuples().all())
        assert hashes == {pending_1: _hash(first), pending_2: _hash(second), done: None}
        rows = {
            (r.subject_id, r.action): r.data
            for r in session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_id.in_(hashes)))
        }
        assert rows[(pending_1, SENT)] == {"to": f"{pending_1}@example.org"}
        assert rows[(pending_2, SENT)] == {"to": f"{pending_2}@example.org"}
        assert rows[(done, "subscriber.note")] == {"link": "kept: not a consent email"}
        # The link sent before the migration still accepts the move, once.
        assert service.accept_consent(session, first).id == pending_1
        with pytest.raises(NotFound):
            service.accept_consent(session, first)

    # Down: no token can come back from its hash; the pending move gets a new one (its next email's).
    command.downgrade(config, "0011-1")
    with Session(engine) as session:
        tokens = dict(session.execute(sa.text("SELECT id, consent_token FROM subscribers")).tuples().all())
    assert tokens[pending_1] is None and tokens[done] is None
    assert tokens[pending_2] not in (None, second) and len(tokens[pending_2]) == 32
    assert "consent_token_hash" not in {c["name"] for c in sa.inspect(engine).get_columns("subscribers")}

    command.upgrade(config, "heads")
    with Session(engine) as session:
        assert session.execute(
            sa.text("SELECT consent_token_hash FROM subscribers WHERE id = :i"), {"i": pending_2}
        ).scalar_one() == _hash(tokens[pending_2])
