"""the queue of provisioning runs, taken in batches (issue 15)

Revision ID: 0016
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_run_queue",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("screen", sa.String(length=40), nullable=True),
        sa.Column("queued_at", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_run_queue_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_customer_run_queue")),
    )
    with op.batch_alter_table("customer_run_queue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_run_queue_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_run_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_run_queue_customer_id"))
    op.drop_table("customer_run_queue")
