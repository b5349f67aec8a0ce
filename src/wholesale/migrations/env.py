"""Alembic environment: our metadata only (DBOS owns and migrates its own tables)."""

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from wholesale import tables  # noqa: F401  (every table, so autogenerate sees them all)
from wholesale.db.base import Base
from wholesale.db.session import normalise_url
from wholesale.migrate import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations on a connection given by the caller, or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sqlalchemy import create_engine

    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no sqlalchemy.url configured and no connection given")
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection: Connection) -> None:
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
