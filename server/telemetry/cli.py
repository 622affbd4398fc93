"""``curator telemetry``: the runtime database's migrations and the install-count rollup.

``migrate`` brings the database to the newest schema (the server also does at start);
``rollup`` adds counted installs to the daily, monthly and total counts and prunes expired
dedup rows and salts (run it from cron unless ``curator serve --with-scheduler`` does).
Both take ``--database-url`` (env ``CURATOR_DATABASE_URL``), default the SQLite file in the
storage directory. ``migrate`` creates the database if needed (as ``curator serve`` does when
it starts); ``rollup`` refuses a SQLite database that does not exist (exit 5, naming the file),
since a mistyped ``--storage`` or URL would otherwise get a new, empty database and report
success, unless ``--create`` asks for one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from curator.cli._errors import ExitCode
from server.runtime.engine import DatabaseURLError, default_url, make_engine, parse_url
from server.runtime.migrate import upgrade
from server.telemetry.rollup import rollup

F = TypeVar("F", bound=Callable[..., Any])


def database_url_option(func: F) -> F:
    return click.option(
        "--database-url",
        envvar="CURATOR_DATABASE_URL",
        default=None,
        help="Runtime database URL (sqlite:///... or postgresql+psycopg://...; "
        "default: <storage>/runtime/runtime.sqlite3).",
    )(func)


def database_options(func: F) -> F:
    return click.option(
        "--storage",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Storage directory (default: the global --storage, else ./storage).",
    )(database_url_option(func))


def resolve_url(ctx: click.Context, storage: Path | None, database_url: str | None) -> str:
    """The database URL of the options (a bad URL is a usage error)."""
    url = database_url or default_url(
        storage or getattr(ctx.obj, "storage", None) or Path("storage")
    )
    try:
        parse_url(url)
    except DatabaseURLError as exc:
        raise click.BadParameter(str(exc), param_hint="--database-url") from exc
    return url


def _safe(url: str) -> str:
    return parse_url(url).render_as_string(hide_password=True)


def missing_database(url: str) -> str | None:
    """Why ``url`` names a SQLite database file that does not exist (None: it exists, or the
    database is PostgreSQL, which this does not create anyway)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database)
    if path.exists():
        return None
    if not path.parent.is_dir():
        return f"runtime database {path} does not exist, nor does its directory {path.parent}"
    return f"runtime database {path} does not exist"


def require_database(url: str) -> None:
    """Exit 5 (as for a missing storage directory) when ``url``'s SQLite file is missing."""
    problem = missing_database(url)
    if problem is not None:
        click.echo(
            f"curator: error: {problem}: give --storage DIR (or set CURATOR_STORAGE) naming "
            "the server's storage, or --database-url (CURATOR_DATABASE_URL); --create makes "
            "a new database",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.DATA))


@click.group("telemetry")
def telemetry() -> None:
    """Install telemetry: runtime database migrations and count rollups."""


@telemetry.command("migrate")
@database_options
@click.pass_context
def migrate(ctx: click.Context, storage: Path | None, database_url: str | None) -> None:
    """Create or upgrade the runtime database schema."""
    url = resolve_url(ctx, storage, database_url)
    engine = make_engine(url)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"{_safe(url)}: at revision {revision}")


@telemetry.command("rollup")
@database_options
@click.option(
    "--create",
    is_flag=True,
    help="Create the runtime database (and its directory) if it does not exist; without it "
    "a missing SQLite database is an error (exit 5), not a new empty one.",
)
@click.pass_context
def rollup_cmd(
    ctx: click.Context, storage: Path | None, database_url: str | None, create: bool
) -> None:
    """Roll counted installs up into daily, monthly and total counts."""
    url = resolve_url(ctx, storage, database_url)
    if not create:
        require_database(url)
    engine = make_engine(url)
    try:
        upgrade(engine)
        result = rollup(engine)
    finally:
        engine.dispose()
    click.echo(
        f"rolled up {result.events} installs of {result.packages} packages; "
        f"pruned {result.pruned_seen} dedup rows and {result.pruned_salts} salts"
    )
