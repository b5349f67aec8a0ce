"""Alembic environment: our metadata only (DBOS owns and migrates its own tables)."""

from alembic import context
from sqlalchemy import pool

from wholesale.db import models  # noqa: F401
from wholesale.db.base import Base
from wholesale.db.migrate import include_object
from wholesale.db.session import normalise_url

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations on a connection given by the caller, or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sqlalchemy import create_engine

    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
