"""audit log: a partner's audit rows newest first, and of one action (GET /v1/auditEvents, the portal's history)

Revision ID: 0010
Revises: 0008
"""

from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_partner_org_id")
        batch_op.create_index("ix_audit_events_partner", ["partner_org_id", "id"], unique=False)
        batch_op.create_index("ix_audit_events_partner_action", ["partner_org_id", "action", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_partner_action")
        batch_op.drop_index("ix_audit_events_partner")
        batch_op.create_index("ix_audit_events_partner_org_id", ["partner_org_id"], unique=False)
