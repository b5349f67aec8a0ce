"""customers: list pages read in order from an index, plain and by status (issue 15, reads at scale)

A partner's live customers oldest first came from (partner_org_id, deleted_at, created, id): PostgreSQL does not
take `deleted_at IS NULL` as fixing that column, so it could not read the order from the index and sorted every
live customer for each page (a parallel seq scan and top-N sort, 31-36 ms of 100,000). The partial index over live
rows reads (created, id) in order on both databases. A status filter read (partner_org_id, status) and sorted what
matched, or (SQLite) walked the order index until 100 rare rows turned up; (partner_org_id, status, created, id)
reads them in order (it keeps every row, tombstones included: their status is `deleted`).

Revision ID: 0015
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_customers_partner_live_order", table_name="customers")
    op.drop_index("ix_customers_partner_status", table_name="customers")
    op.create_index(
        "ix_customers_live_order",
        "customers",
        ["partner_org_id", "created", "id"],
        unique=False,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_customers_partner_status_order", "customers", ["partner_org_id", "status", "created", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customers_partner_status_order", table_name="customers")
    op.drop_index("ix_customers_live_order", table_name="customers")
    op.create_index("ix_customers_partner_status", "customers", ["partner_org_id", "status"], unique=False)
    op.create_index(
        "ix_customers_partner_live_order", "customers", ["partner_org_id", "deleted_at", "created", "id"], unique=False
    )
