"""``curator telemetry migrate|rollup`` through the ``curator`` group (click's CliRunner), on
SQLite (the default file in --storage) and PostgreSQL (--database-url)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from conftest import FakeClock

from curator.cli import cli
from server.runtime import schema
from server.runtime.engine import default_url, make_engine
from server.runtime.migrate import current, head
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


def test_rollup_migrates_a_new_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--storage", str(tmp_path), "telemetry", "rollup"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runtime" / "runtime.sqlite3").is_file()


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
