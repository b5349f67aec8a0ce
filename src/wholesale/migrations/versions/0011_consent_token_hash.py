"""subscribers: keep only the SHA-256 of a consent link's token (issue 16, probe 10); pending links keep working,
and the links recorded in `subscriber.consent_email_sent` audit rows are removed

Revision ID: 0011
Revises: 0002
"""

import hashlib
import json
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = None

EMAIL_SENT = "subscriber.consent_email_sent"


def _hash(token: str) -> str:
    # Frozen copy of wholesale.subscribers.service.consent_token_hash as of this migration.
    return hashlib.sha256(token.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_token_hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    subscribers = sa.table("subscribers", sa.column("id"), sa.column("consent_token"), sa.column("consent_token_hash"))
    pending = bind.execute(
        sa.select(subscribers.c.id, subscribers.c.consent_token).where(subscribers.c.consent_token.is_not(None))
    ).all()
    for subscriber_id, token in pending:
        bind.execute(
            subscribers.update().where(subscribers.c.id == subscriber_id).values(consent_token_hash=_hash(token))
        )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_subscribers_consent_token", type_="unique")
        batch_op.drop_column("consent_token")
        batch_op.create_unique_constraint("uq_subscribers_consent_token_hash", ["consent_token_hash"])
    _drop_links()


def _drop_links() -> None:
    """The audit rows of consent emails sent before keep to whom, not the link (its token is still valid)."""
    bind = op.get_bind()
    audit = sa.table("audit_events", sa.column("id"), sa.column("action"), sa.column("data", sa.JSON()))
    for row_id, data in bind.execute(sa.select(audit.c.id, audit.c.data).where(audit.c.action == EMAIL_SENT)).all():
        value = json.loads(data) if isinstance(data, str) else data
        if isinstance(value, dict) and "link" in value:
            bind.execute(
                audit.update().where(audit.c.id == row_id).values(data={k: v for k, v in value.items() if k != "link"})
            )


def downgrade() -> None:
    # A hash gives no token back: each pending move gets a new one, which its next resent email carries (the
    # links sent before stop working).
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_token", sa.String(length=100), nullable=True))
    bind = op.get_bind()
    subscribers = sa.table("subscribers", sa.column("id"), sa.column("status"), sa.column("consent_token"))
    pending = bind.execute(sa.select(subscribers.c.id).where(subscribers.c.status == "pending_user_migration"))
    for (subscriber_id,) in pending.all():
        bind.execute(
            subscribers.update()
            .where(subscribers.c.id == subscriber_id)
            .values(consent_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_subscribers_consent_token_hash", type_="unique")
        batch_op.drop_column("consent_token_hash")
        batch_op.create_unique_constraint("uq_subscribers_consent_token", ["consent_token"])
