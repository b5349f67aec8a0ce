"""The migrations produce exactly the schema the models declare (on SQLite and PostgreSQL)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_migrated_schema_matches_the_models(db):
    from wholesale import tables  # noqa: F401
    from wholesale.db.base import Base
    from wholesale.migrate import include_object

    with db.write_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
