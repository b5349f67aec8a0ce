"""usage ledger (R2): rows hash-chained per partner, one head per partner, opened with today's holdings

Revision ID: 0005
Revises: 0001
Depends on: 0002 (the opening rows read subscribers)
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0005"
down_revision = "0001"
branch_labels = ("ledger",)
depends_on = "0002"

GENESIS = "0" * 64


def _digest(fields: list[object]) -> str:
    # Frozen copy of wholesale.ledger.chain.digest as of this migration (a migration never changes meaning).
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "usage_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("partner_org_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("subscriber_id", sa.String(length=200), nullable=True),
        sa.Column("package", sa.String(length=40), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("units_after", sa.Integer(), nullable=False),
        sa.Column("quantity_limit", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("tracking_id", sa.String(length=120), nullable=True),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_ledger")),
        sa.UniqueConstraint("partner_org_id", "seq", name=op.f("uq_usage_ledger_partner_org_id")),
    )
    with op.batch_alter_table("usage_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_usage_ledger_partner_at", ["partner_org_id", "at"], unique=False)
    op.create_table(
        "usage_ledger_heads",
        sa.Column("partner_org_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("partner_org_id", name=op.f("pk_usage_ledger_heads")),
    )
    _open_with_current_holdings()


def _open_with_current_holdings() -> None:
    """One opening row per package a live customer holds (0 units), then one per subscriber holding it (+1 each),
    chained per partner, so the ledger's units equal today's `assigned` from its first day."""
    bind = op.get_bind()
    packages = bind.execute(
        sa.text(
            "SELECT c.partner_org_id, c.id, p.name, p.quantity_limit FROM customer_packages p "
            "JOIN customers c ON c.id = p.customer_id WHERE c.deleted_at IS NULL "
            "ORDER BY c.partner_org_id, c.created, c.id, p.name"
        )
    ).all()
    holders: dict[tuple[str, str], list[str]] = {}
    for customer_id, package, subscriber_id in bind.execute(
        sa.text("SELECT customer_id, package, id FROM subscribers ORDER BY customer_id, package, created, id")
    ):
        holders.setdefault((customer_id, package), []).append(subscriber_id)
    now = datetime.now(UTC)
    at = now.isoformat(timespec="microseconds")
    ledger = sa.table(
        "usage_ledger",
        *(
            sa.column(c)
            for c in (
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
                "sha256",
            )
        ),
    )
    heads: dict[str, tuple[int, str]] = {}
    rows: list[dict[str, object]] = []

    def add(
        partner: str,
        customer_id: str,
        subscriber_id: str | None,
        package: str,
        delta: int,
        units: int,
        limit: int | None,
    ) -> None:
        seq, prev = heads.get(partner, (0, GENESIS))
        seq += 1
        fields: list[object] = [
            partner,
            seq,
            at,
            "opening",
            customer_id,
            subscriber_id,
            package,
            delta,
            units,
            limit,
            "migration:0005",
            None,
            prev,
        ]
        digest = _digest(fields)
        rows.append(
            {
                "partner_org_id": partner,
                "seq": seq,
                "at": now if bind.dialect.name != "sqlite" else now.replace(tzinfo=None),
                "kind": "opening",
                "customer_id": customer_id,
                "subscriber_id": subscriber_id,
                "package": package,
                "delta": delta,
                "units_after": units,
                "quantity_limit": limit,
                "actor": "migration:0005",
                "tracking_id": None,
                "prev_sha256": prev,
                "sha256": digest,
            }
        )
        heads[partner] = (seq, digest)

    for partner, customer_id, package, limit in packages:
        add(partner, customer_id, None, package, 0, 0, limit)
        for units, subscriber_id in enumerate(holders.get((customer_id, package), []), start=1):
            add(partner, customer_id, subscriber_id, package, 1, units, limit)
    if rows:
        op.bulk_insert(ledger, rows)
    if heads:
        op.bulk_insert(
            sa.table("usage_ledger_heads", sa.column("partner_org_id"), sa.column("seq"), sa.column("sha256")),
            [{"partner_org_id": p, "seq": s, "sha256": h} for p, (s, h) in heads.items()],
        )


def downgrade() -> None:
    op.drop_table("usage_ledger_heads")
    with op.batch_alter_table("usage_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_ledger_partner_at")
    op.drop_table("usage_ledger")
