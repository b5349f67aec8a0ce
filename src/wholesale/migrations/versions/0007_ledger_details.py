"""usage ledger details (R2): what billing reports show (customer name, externalId, orgId, internal; subscriber
email) comes from the ledger; rows carry it in `details`, and every existing customer and subscriber gets one
row with its values as they are now, so a report never reads the live tables again

Revision ID: 0007
Revises: 0005
Depends on: 0002 (the backfill reads customers and subscribers)
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = "0002"

GENESIS = "0" * 64
ACTOR = "migration:0007"


def _canonical(details: dict[str, object]) -> str:
    # Frozen copy of wholesale.ledger.chain.canonical as of this migration.
    return json.dumps(details, sort_keys=True, separators=(",", ":"))


def _digest(fields: list[object], details: str | None) -> str:
    # Frozen copy of wholesale.ledger.chain.digest as of this migration (a migration never changes meaning):
    # the fields of 0005 in order, then `details` only when it is not None.
    values = [*fields, details] if details is not None else fields
    return hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("usage_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.Text(), nullable=True))
    _record_current_details()


def _record_current_details() -> None:
    """Per partner, after its head: one `customer.details` row per customer (deleted ones too) with its values as
    they are now, each followed by one `subscriber.details` row per subscriber of it with its email."""
    bind = op.get_bind()
    customers = bind.execute(
        sa.text(
            "SELECT partner_org_id, id, name, external_id, org_id, is_partner_org FROM customers "
            "ORDER BY partner_org_id, created, id"
        )
    ).all()
    emails: dict[str, list[tuple[str, str]]] = {}
    for customer_id, subscriber_id, email in bind.execute(
        sa.text("SELECT customer_id, id, email FROM subscribers ORDER BY customer_id, created, id")
    ):
        emails.setdefault(customer_id, []).append((subscriber_id, email))
    heads: dict[str, tuple[int, str]] = {
        partner: (seq, sha256)
        for partner, seq, sha256 in bind.execute(sa.text("SELECT partner_org_id, seq, sha256 FROM usage_ledger_heads"))
    }
    known = set(heads)
    at = datetime.now(UTC)
    rows: list[dict[str, object]] = []

    def add(partner: str, kind: str, customer_id: str, subscriber_id: str | None, details: dict[str, object]) -> None:
        seq, prev = heads.get(partner, (0, GENESIS))
        seq += 1
        text = _canonical(details)
        fields: list[object] = [
            partner,
            seq,
            at.isoformat(timespec="microseconds"),
            kind,
            customer_id,
            subscriber_id,
            "",
            0,
            0,
            None,
            ACTOR,
            None,
            prev,
        ]
        digest = _digest(fields, text)
        rows.append(
            {
                "partner_org_id": partner,
                "seq": seq,
                "at": at,
                "kind": kind,
                "customer_id": customer_id,
                "subscriber_id": subscriber_id,
                "package": "",
                "delta": 0,
                "units_after": 0,
                "quantity_limit": None,
                "actor": ACTOR,
                "tracking_id": None,
                "prev_sha256": prev,
                "sha256": digest,
                "details": text,
            }
        )
        heads[partner] = (seq, digest)

    for partner, customer_id, name, external_id, org_id, internal in customers:
        shown = {"name": name or "", "externalId": external_id or "", "orgId": org_id or "", "internal": bool(internal)}
        add(partner, "customer.details", customer_id, None, shown)
        for subscriber_id, email in emails.get(customer_id, []):
            add(partner, "subscriber.details", customer_id, subscriber_id, {"email": email})
    ledger = sa.table(
        "usage_ledger",
        *(
            sa.column(c)
            for c in (
                "partner_org_id",
                "seq",
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
                "sha256",
                "details",
            )
        ),
        sa.column("at", wholesale.db.base.UTCDateTime(timezone=True)),
    )
    for start in range(0, len(rows), 10_000):
        op.bulk_insert(ledger, rows[start : start + 10_000])
    head_table = sa.table("usage_ledger_heads", sa.column("partner_org_id"), sa.column("seq"), sa.column("sha256"))
    new = [{"partner_org_id": p, "seq": s, "sha256": h} for p, (s, h) in heads.items() if p not in known]
    if new:
        op.bulk_insert(head_table, new)
    for partner in sorted(known):
        seq, sha256 = heads[partner]
        op.execute(head_table.update().where(head_table.c.partner_org_id == partner).values(seq=seq, sha256=sha256))


def downgrade() -> None:
    # The backfilled rows stay (the chain holds them); only the column goes, so they keep kind and seq but lose
    # their details, and `wholesale ledger verify` reports them as changed until upgraded again.
    with op.batch_alter_table("usage_ledger", schema=None) as batch_op:
        batch_op.drop_column("details")
