"""The runtime database: URLs, SQLite set-up, and Alembic migrations up from empty (and down)
on SQLite and PostgreSQL, also when two instances start at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from server.runtime import schema
from server.runtime.engine import DatabaseURLError, default_url, make_engine, parse_url
from server.runtime.migrate import current, downgrade, head, upgrade

TABLES = {t.name for t in schema.metadata.sorted_tables}


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_migrations_up_from_empty_and_down(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current(engine) is None
        assert upgrade(engine) == head() == "0002"
        assert table_names(engine) >= TABLES
        with engine.connect() as conn:
            # the migrated schema is exactly the metadata the code queries
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
            epoch = conn.execute(sa.select(schema.state.c.value)).scalar_one()
        assert epoch == 0
        assert upgrade(engine) == head()  # idempotent
        assert downgrade(engine, "base") is None
        assert not TABLES & table_names(engine)
        assert upgrade(engine) == head()
    finally:
        engine.dispose()


def test_concurrent_startups_migrate_once(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert current(engines[0]) == head()
        with engines[0].connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.state)).scalar() == 1
    finally:
        for e in engines:
            e.dispose()


def test_sqlite_connection_setup(tmp_path: Path) -> None:
    url = default_url(tmp_path / "storage")
    assert url.endswith("/storage/runtime/runtime.sqlite3") and url.startswith("sqlite")
    engine = make_engine(url)
    assert not (tmp_path / "storage").exists()  # nothing is made before the first migration
    upgrade(engine)
    assert (tmp_path / "storage" / "runtime" / "runtime.sqlite3").is_file()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()


def test_sqlite_transactions_are_real(tmp_path: Path) -> None:
    engine = make_engine(default_url(tmp_path))
    upgrade(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(sa.insert(schema.totals).values(package="wp-plugin/a", installs=1))
        raise RuntimeError("roll back")
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.totals)).all() == []
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/test", "sqlite://", "sqlite:///:memory:", "not a url", ""],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(DatabaseURLError):
        parse_url(url)


def test_postgresql_url_uses_psycopg() -> None:
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert parse_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
