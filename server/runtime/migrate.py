"""Running the runtime database's Alembic migrations programmatically (no ``alembic.ini``).

:func:`upgrade` brings a database to the newest schema; it is safe when several server
instances start at once: the whole upgrade is one transaction, serialised by an advisory lock
on PostgreSQL and by the write lock (``BEGIN IMMEDIATE``) on SQLite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from server.runtime.engine import begin_write, ensure_directory, is_sqlite

MIGRATIONS: Final = Path(__file__).parent / "migrations"
MIGRATION_LOCK: Final = 0x63757261746F72  # pg_advisory_xact_lock key ("curator")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision of the shipped migration scripts."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated, or no SQLite file yet)."""
    if is_sqlite(engine) and engine.url.database and not Path(engine.url.database).exists():
        return None
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to ``revision``; returns the revision it is at afterwards."""
    ensure_directory(engine)
    with begin_write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        command.upgrade(alembic_config(connection), revision)
    return current(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """Migrate the database down to ``revision`` (``"base"``: empty)."""
    with begin_write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        command.downgrade(alembic_config(connection), revision)
    return current(engine)
