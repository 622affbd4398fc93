"""``curator doctor``'s runtime database checks, on SQLite and PostgreSQL: connects, migrations
at head (never created, behind, unknown), WAL on SQLite; read-only (a missing file stays
missing, a non-WAL file stays non-WAL)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from curator.doctor import Check, Status
from server.runtime.check import check_database
from server.runtime.engine import default_url, ensure_directory, make_engine
from server.runtime.migrate import downgrade, head, upgrade


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_migrated_database_is_ok(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    checks = by_name(check_database(database_url))
    assert all(c.status is Status.OK for c in checks.values()), checks
    assert checks["migrations"].detail == f"at the newest revision {head()}"
    if database_url.startswith("sqlite"):
        assert "WAL" in checks["journal"].detail
    else:
        assert "journal" not in checks


def test_a_database_behind_the_migrations_fails(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    downgrade(engine, "0001")
    engine.dispose()
    found = by_name(check_database(database_url))["migrations"]
    assert found.status is Status.FAIL
    assert "at revision 0001, behind the newest" in found.detail
    assert found.fix is not None and "curator telemetry migrate" in found.fix


def test_a_database_never_migrated_or_at_an_unknown_revision_fails(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_directory(engine)
    with engine.begin() as connection:  # connected (the SQLite file exists), no schema
        connection.exec_driver_sql("CREATE TABLE unrelated (x INTEGER)")
    found = by_name(check_database(database_url))["migrations"]
    assert found.status is Status.FAIL and "never created" in found.detail
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    found = by_name(check_database(database_url))["migrations"]
    assert found.status is Status.FAIL and "f00dfeed, unknown to this version" in found.detail


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    (found,) = check_database(url)
    assert found.status is Status.WARN and "no database file yet" in found.detail
    assert not (tmp_path / "runtime").exists()


def test_sqlite_outside_wal_mode_is_a_warning_and_left_alone(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    path = tmp_path / "runtime" / "runtime.sqlite3"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    found = by_name(check_database(url))["journal"]
    assert found.status is Status.WARN and "journal mode delete" in found.detail
    with sqlite3.connect(path) as db:  # the check switched nothing
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_a_file_that_is_not_a_database_fails(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / "runtime.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not SQLite" * 100)
    (found,) = check_database(default_url(tmp_path))
    assert found.status is Status.FAIL and found.name == "connect"
    assert "not a database" in found.detail


def test_an_unreachable_server_or_a_bad_url_fails() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (found,) = check_database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    assert found.status is Status.FAIL and found.name == "connect"
    assert f"127.0.0.1:{port}" in found.detail and found.fix is not None
    (bad,) = check_database("mysql://x@y/z")
    assert bad.status is Status.FAIL and "unsupported database" in bad.detail
