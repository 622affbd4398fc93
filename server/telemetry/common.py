"""What the telemetry writers share: the clock type, the window, dialect-specific upserts,
the counts epoch and pruning of expired dedup rows and salts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from server.runtime import schema

WINDOW: Final = 24 * 3600  # seconds in which a client counts once per package and version
DAY: Final = 24 * 3600  # salts change every UTC day

Clock = Callable[[], float]  # Unix seconds


def upsert(bind: Engine | sa.Connection, table: sa.Table) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` support."""
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def day_of(timestamp: int) -> str:
    """``YYYY-MM-DD`` (UTC) of a Unix time."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")


def bump_epoch(conn: sa.Connection) -> None:
    """Mark counts as changed (see :meth:`server.telemetry.counts.DbCounts.epoch`)."""
    conn.execute(
        sa.update(schema.state)
        .where(schema.state.c.key == schema.EPOCH_KEY)
        .values(value=schema.state.c.value + 1)
    )


def prune(conn: sa.Connection, now: int) -> tuple[int, int]:
    """Delete dedup rows older than the window and salts of past days; returns both counts."""
    seen = conn.execute(sa.delete(schema.seen).where(schema.seen.c.counted_at <= now - WINDOW))
    salts = conn.execute(sa.delete(schema.salts).where(schema.salts.c.period < now // DAY))
    return seen.rowcount, salts.rowcount
