"""billing reports (R2): the reports partners asked for; their CSVs live under the data dir

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-30 21:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0006"
down_revision = "0001"
branch_labels = ("billing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_reports",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("partner_org_id", sa.String(length=200), nullable=False),
        sa.Column("billing_start_date", sa.Date(), nullable=False),
        sa.Column("billing_end_date", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("completed", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("line_items", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_reports")),
    )
    with op.batch_alter_table("billing_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_reports_partner_start", ["partner_org_id", "billing_start_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_reports_partner_start")
    op.drop_table("billing_reports")
