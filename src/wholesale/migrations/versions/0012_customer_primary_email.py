"""customers: find a live customer by its primary email (a create refuses an email a pending customer holds)

Revision ID: 0012
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_customers_primary_email_live",
        "customers",
        ["primary_email"],
        unique=False,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_primary_email_live", table_name="customers")
