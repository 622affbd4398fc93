"""``curator telemetry migrate|rollup`` through the ``curator`` group (click's CliRunner), on
SQLite (the default file in --storage) and PostgreSQL (--database-url)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from litestar.testing import TestClient
from server_helpers import FakeClock

from curator.cli import cli
from curator.cli._errors import ExitCode
from server.app import create_app
from server.runtime import schema
from server.runtime.engine import default_url, make_engine
from server.runtime.migrate import current, head
from server.settings import ServerSettings
from server.telemetry.counts import DbCounts
from server.telemetry.store import TelemetryStore


def test_migrate_and_rollup(database_url: str, tmp_path: Path, clock: FakeClock) -> None:
    storage = tmp_path / "storage"
    runner = CliRunner()
    args = ["--storage", str(storage), "telemetry"]
    url_args = [] if database_url == default_url(storage) else ["--database-url", database_url]
    result = runner.invoke(cli, [*args, "migrate", *url_args])
    assert result.exit_code == 0, result.output
    assert f"at revision {head()}" in result.output and "password" not in result.output
    engine = make_engine(database_url)
    try:
        assert current(engine) == head()
        store = TelemetryStore(engine, clock=clock)
        store.record("198.51.100.1", [("wp-plugin/a", "1.0.0.0"), ("wp-plugin/b", "1.0.0.0")])
        store.record("198.51.100.2", [("wp-plugin/a", "1.0.0.0")])
        result = runner.invoke(cli, [*args, "rollup", *url_args])
        assert result.exit_code == 0, result.output
        assert "rolled up 3 installs of 2 packages" in result.output
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar() == 0
            totals = dict(
                conn.execute(sa.select(schema.totals.c.package, schema.totals.c.installs)).all()
            )
        assert totals == {"wp-plugin/a": 2, "wp-plugin/b": 1}
        assert DbCounts(engine, clock=clock).total("wp-plugin/a") == 2
        again = runner.invoke(cli, [*args, "rollup", *url_args])
        assert again.exit_code == 0 and "rolled up 0 installs" in again.output
    finally:
        engine.dispose()


def test_rollup_creates_and_migrates_a_new_database_only_when_asked(tmp_path: Path) -> None:
    args = ["--storage", str(tmp_path), "telemetry", "rollup"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == ExitCode.DATA
    assert not (tmp_path / "runtime").exists()
    result = CliRunner().invoke(cli, [*args, "--create"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runtime" / "runtime.sqlite3").is_file()
    assert "rolled up 0 installs" in result.output
    again = CliRunner().invoke(cli, args)  # it exists now
    assert again.exit_code == 0 and "rolled up 0 installs" in again.output


def test_rollup_refuses_a_mistyped_storage(tmp_path: Path) -> None:
    """A typo in --storage names a directory that does not exist: exit 5 (as the storage
    commands do, tests/cli/test_cli_errors.py), naming the database, and nothing created."""
    missing = tmp_path / "typo"
    database = missing / "runtime" / "runtime.sqlite3"
    result = CliRunner().invoke(cli, ["--storage", str(missing), "telemetry", "rollup"])
    assert result.exit_code == ExitCode.DATA
    assert result.stderr == (
        f"curator: error: runtime database {database.resolve()} does not exist, nor does its "
        f"directory {database.parent.resolve()}: give --storage DIR (or set CURATOR_STORAGE) "
        "naming the server's storage, or --database-url (CURATOR_DATABASE_URL); --create "
        "makes a new database\n"
    )
    assert result.stdout == "" and "Traceback" not in result.output
    assert not missing.exists()


def test_rollup_refuses_a_mistyped_database_url(tmp_path: Path) -> None:
    """The directory exists, the file does not (a typo in the file name): refused as well,
    from the option and from the environment."""
    storage = tmp_path / "storage"
    migrated = CliRunner().invoke(cli, ["--storage", str(storage), "telemetry", "migrate"])
    assert migrated.exit_code == 0, migrated.output
    typo = (storage / "runtime" / "runtime.sqlite").resolve()
    url = default_url(storage).replace("runtime.sqlite3", "runtime.sqlite")
    for args, env in (
        (["telemetry", "rollup", "--database-url", url], {}),
        (["telemetry", "rollup"], {"CURATOR_DATABASE_URL": url}),
    ):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == ExitCode.DATA
        assert result.stderr.startswith(f"curator: error: runtime database {typo} does not exist:")
        assert not typo.exists()
    created = CliRunner().invoke(cli, ["telemetry", "rollup", "--database-url", url, "--create"])
    assert created.exit_code == 0, created.output
    assert typo.is_file()


def test_serve_still_creates_the_runtime_database_on_first_start(tmp_path: Path) -> None:
    storage = tmp_path / "new-storage"
    with TestClient(create_app(ServerSettings(storage=storage))) as client:
        assert client.get("/health").status_code == 503  # nothing promoted yet
    assert (storage / "runtime" / "runtime.sqlite3").is_file()


def test_database_url_from_the_environment(tmp_path: Path) -> None:
    url = default_url(tmp_path / "elsewhere")
    result = CliRunner().invoke(cli, ["telemetry", "migrate"], env={"CURATOR_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "runtime" / "runtime.sqlite3").is_file()


def test_bad_database_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["telemetry", "migrate", "--database-url", "mysql://root@localhost/x"]
    )
    assert result.exit_code == 2
    assert "unsupported database 'mysql'" in result.output
