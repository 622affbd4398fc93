"""Database URLs and engines of the runtime database.

The default URL is a SQLite file in the storage directory
(``<storage>/runtime/runtime.sqlite3``); ``postgresql+psycopg://...`` URLs select PostgreSQL.
SQLite connections are set up on connect: WAL journal (readers never block the writer),
``synchronous=NORMAL`` (durable at checkpoints, no fsync per commit), a busy timeout so a
second process (``curator telemetry rollup`` from cron) waits instead of failing, and
SQLAlchemy's recipe for real transactions (``BEGIN`` is emitted by SQLAlchemy, not guessed by
the driver), so DDL in migrations is transactional too.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

RUNTIME_DIR: Final = "runtime"
SQLITE_NAME: Final = "runtime.sqlite3"
BUSY_TIMEOUT_MS: Final = 10_000
SUPPORTED: Final = ("sqlite", "postgresql")
WRITE_OPTION: Final = "curator_write"


class DatabaseURLError(ValueError):
    """A runtime database URL that cannot be used."""


def default_url(storage: Path) -> str:
    """The SQLite runtime database inside ``storage``."""
    path = (storage / RUNTIME_DIR / SQLITE_NAME).resolve()
    return URL.create("sqlite+pysqlite", database=str(path)).render_as_string()


def parse_url(url: str) -> URL:
    """``url`` as a SQLAlchemy URL; only SQLite files and PostgreSQL are accepted."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseURLError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseURLError(
            f"unsupported database {parsed.get_backend_name()!r} (use sqlite or postgresql)"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise DatabaseURLError("the SQLite runtime database must be a file")
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (see the module docstring); creates no database, connects lazily."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            pool_size=8,
            max_overflow=8,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(parsed, pool_size=8, max_overflow=8, pool_pre_ping=True)


def ensure_directory(engine: Engine) -> None:
    """Make the directory of a SQLite database file (nothing for PostgreSQL)."""
    if is_sqlite(engine) and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor: Any) -> None:
    """Switch a connection's database to WAL. Switching needs the file to itself, and SQLite
    answers "database is locked" at once (no busy handler) when several processes open a new
    database together, so retry for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def writer(engine: Engine) -> Engine:
    """``engine`` for write transactions: on SQLite they take the write lock at ``BEGIN``
    (``IMMEDIATE``), so they wait for another writer (busy timeout) instead of failing
    half-way. Cheap to keep; ``writer(engine).begin()`` is :func:`begin_write`."""
    return engine.execution_options(**{WRITE_OPTION: True})


def begin_write(engine: Engine) -> AbstractContextManager[sa.Connection]:
    """A write transaction (see :func:`writer`)."""
    return writer(engine).begin()
