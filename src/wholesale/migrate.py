"""Apply Alembic migrations (`wholesale/migrations`, over every table in `wholesale.tables`) and DBOS's own
system-table migrations. Above every domain: it is the one place that knows all tables."""

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config

from wholesale.config import Settings, get_settings
from wholesale.db.session import normalise_url
from wholesale.jobs.runtime import migrate_system_database

MIGRATIONS = Path(__file__).parent / "migrations"


def include_object(obj, name, type_, reflected, compare_to):
    """Leave tables that are not ours (DBOS's, unprefixed on SQLite) out of autogenerate and checks."""
    return not (type_ == "table" and reflected and compare_to is None)


def alembic_config(url: str) -> Config:
    """Build an Alembic config for a database URL (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(settings: Settings | None = None) -> None:
    """Bring the database to the latest schema: ours, then DBOS's."""
    settings = settings or get_settings()
    if settings.is_sqlite:
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path, timeout=60) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block the writer
    # "heads": domains add migrations on their own branches from 0001; all of them apply.
    command.upgrade(alembic_config(settings.database_url), "heads")
    migrate_system_database(settings)
