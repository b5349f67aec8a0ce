"""webhooks: partners' webhooks (each with its feed position) and their deliveries

Revision ID: 0009
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0009"
down_revision = "0001"
branch_labels = ("webhooks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("partner_org_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_url", sa.String(length=2048), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("filter", sa.String(length=1000), nullable=True),
        sa.Column("secret", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("app_id", sa.String(length=200), nullable=False),
        sa.Column("position_txid", sa.BigInteger(), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retry_at", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index("ix_webhooks_partner", ["partner_org_id", "created"], unique=False)
        batch_op.create_index("ix_webhooks_status_retry", ["status", "retry_at"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("redelivery_of", sa.String(length=200), nullable=True),
        sa.Column("created", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("id", name=op.f("uq_webhook_deliveries_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_webhook", ["webhook_id", "seq"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_event", ["webhook_id", "event_id"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_created", ["created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_created")
        batch_op.drop_index("ix_webhook_deliveries_event")
        batch_op.drop_index("ix_webhook_deliveries_webhook")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_webhooks_status_retry")
        batch_op.drop_index("ix_webhooks_partner")
    op.drop_table("webhooks")
