"""events: the partner event feed, and who acted (role, org) with before/after on audit rows

Revision ID: 0008
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0008"
down_revision = "0001"
branch_labels = ("events",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_role", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("actor_org_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch_op.create_index("ix_audit_events_occurred_at", ["occurred_at", "id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("partner_org_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("tracking_id", sa.String(length=120), nullable=True),
        sa.Column("created", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_feed", ["partner_org_id", "txid", "id"], unique=False)
        batch_op.create_index("ix_events_created", ["created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_created")
        batch_op.drop_index("ix_events_feed")
    op.drop_table("events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_occurred_at")
        batch_op.drop_column("after")
        batch_op.drop_column("before")
        batch_op.drop_column("actor_org_id")
        batch_op.drop_column("actor_role")
