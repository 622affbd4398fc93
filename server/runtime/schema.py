"""The runtime database's tables (SQLAlchemy Core). Migrations create exactly these; a test
compares the migrated database with this metadata on SQLite and PostgreSQL.

Telemetry (see :mod:`server.telemetry`):

- ``telemetry_salts(period, salt, created_at)``: one random salt per UTC day (``period`` =
  Unix day number); a day's salt and the next day's exist, older ones are deleted;
- ``telemetry_seen(key, counted_at)``: deduplication, ``key`` = HMAC-SHA256(salt, client IP,
  package, version) truncated to 16 bytes; rows older than the window are deleted. No IP,
  package or version is stored in clear here;
- ``telemetry_events(id, package, version, day, counted_at)``: counted installs not yet
  rolled up (no client information);
- ``telemetry_daily(package, version, day, installs)``, ``telemetry_monthly(package, month,
  installs)``, ``telemetry_totals(package, installs)``: the rollups;
- ``telemetry_state(key, value)``: counters; ``epoch`` changes whenever counts change.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

metadata: Final = sa.MetaData()

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias
PACKAGE_LEN: Final = 255
VERSION_LEN: Final = 128
KEY_LEN: Final = 16

salts: Final = sa.Table(
    "telemetry_salts",
    metadata,
    sa.Column("period", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("salt", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

seen: Final = sa.Table(
    "telemetry_seen",
    metadata,
    sa.Column("key", sa.LargeBinary(KEY_LEN), primary_key=True),
    sa.Column("counted_at", sa.BigInteger, nullable=False),
    sa.Index("ix_telemetry_seen_counted_at", "counted_at"),
)

events: Final = sa.Table(
    "telemetry_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("package", sa.String(PACKAGE_LEN), nullable=False),
    sa.Column("version", sa.String(VERSION_LEN), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("counted_at", sa.BigInteger, nullable=False),
    sa.Index("ix_telemetry_events_package", "package"),
    sqlite_autoincrement=True,
)

daily: Final = sa.Table(
    "telemetry_daily",
    metadata,
    sa.Column("package", sa.String(PACKAGE_LEN), primary_key=True),
    sa.Column("version", sa.String(VERSION_LEN), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("installs", sa.BigInteger, nullable=False),
    sa.Index("ix_telemetry_daily_package_day", "package", "day"),
)

monthly: Final = sa.Table(
    "telemetry_monthly",
    metadata,
    sa.Column("package", sa.String(PACKAGE_LEN), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("installs", sa.BigInteger, nullable=False),
)

totals: Final = sa.Table(
    "telemetry_totals",
    metadata,
    sa.Column("package", sa.String(PACKAGE_LEN), primary_key=True),
    sa.Column("installs", sa.BigInteger, nullable=False),
)

state: Final = sa.Table(
    "telemetry_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

EPOCH_KEY: Final = "epoch"
