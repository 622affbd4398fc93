"""``curator doctor``'s checks of the runtime database: it connects, its schema is at the
newest migration, and a SQLite file is in WAL mode.

Read-only: a missing SQLite file is reported, never created; the connection is a plain one
(not :func:`server.runtime.engine.make_engine`'s, which would switch the journal to WAL on
connect and so hide a database that is not in WAL mode).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from curator.doctor import Check, fail, ok, warn
from server.runtime.engine import DatabaseURLError, parse_url
from server.runtime.migrate import alembic_config, head

MIGRATE = "run `curator telemetry migrate` (the server also migrates when it starts)"


def check_database(url: str) -> list[Check]:
    """The checks of the runtime database at ``url`` (see the module docstring)."""
    try:
        parsed = parse_url(url)
    except DatabaseURLError as exc:
        return [
            fail(
                "database",
                "url",
                str(exc),
                "fix --database-url (CURATOR_DATABASE_URL): sqlite:////PATH or "
                "postgresql+psycopg://USER@HOST/DB",
            )
        ]
    shown = parsed.render_as_string(hide_password=True)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database and not Path(parsed.database).exists():
        return [warn("database", "connect", f"{shown}: no database file yet", MIGRATE)]
    engine = sa.create_engine(
        parsed, connect_args={"timeout": 5} if sqlite else {"connect_timeout": 5}
    )
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar() if sqlite else None
    except sa.exc.SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).strip()
        return [
            fail(
                "database",
                "connect",
                f"{shown}: {reason.splitlines()[0] if reason else type(exc).__name__}",
                "check that the database server runs and that the URL, user and password "
                "are right (PostgreSQL: `pg_isready`); SQLite: the file's permissions",
            )
        ]
    finally:
        engine.dispose()
    checks = [ok("database", "connect", shown), _check_revision(revision)]
    if sqlite:
        if str(journal).lower() == "wal":
            checks.append(ok("database", "journal", "WAL (readers never block the writer)"))
        else:
            checks.append(
                warn(
                    "database",
                    "journal",
                    f"journal mode {journal}, not WAL: telemetry writes block page reads",
                    f"{MIGRATE}; it switches the file to WAL",
                )
            )
    return checks


def _check_revision(revision: str | None) -> Check:
    newest = head()
    if revision == newest:
        return ok("database", "migrations", f"at the newest revision {newest}")
    if revision is None:
        return fail("database", "migrations", "the schema was never created", MIGRATE)
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        return fail(
            "database",
            "migrations",
            f"at revision {revision}, unknown to this version of curator (newest: {newest})",
            "run the curator version that migrated this database (or newer), or restore a "
            "backup made for this version",
        )
    return fail(
        "database",
        "migrations",
        f"at revision {revision}, behind the newest {newest}",
        MIGRATE,
    )
