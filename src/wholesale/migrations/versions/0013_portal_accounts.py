"""portal accounts: users who sign in with email and password, and server-side portal sessions

Revision ID: 0013
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import wholesale.db.base

revision = "0013"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_users",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("created", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_signed_in", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_portal_users_org_id_orgs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_users")),
        sa.UniqueConstraint("email", name=op.f("uq_portal_users_email")),
    )
    with op.batch_alter_table("portal_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_users_org_id"), ["org_id"], unique=False)
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("portal_user_id", sa.String(length=200), nullable=True),
        sa.Column("api_token_id", sa.String(length=200), nullable=True),
        sa.Column("created", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", wholesale.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", wholesale.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_user_id"],
            ["portal_users.id"],
            name=op.f("fk_portal_sessions_portal_user_id_portal_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["api_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_portal_sessions_api_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_portal_sessions_secret_hash")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_portal_user_id"), ["portal_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sessions_api_token_id"), ["api_token_id"], unique=False)


def downgrade() -> None:
    op.drop_table("portal_sessions")
    op.drop_table("portal_users")
