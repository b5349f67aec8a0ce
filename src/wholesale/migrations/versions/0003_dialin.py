"""dialin: remember the org country a meetings site's number was derived for

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings_sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings_sites", schema=None) as batch_op:
        batch_op.drop_column("org_country")
