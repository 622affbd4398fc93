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

Admin area (see :mod:`server.admin`):

- ``admin_users(id, email, password_hash, created_at, disabled)``: ``email`` is stored
  lower-cased (unique, so case-insensitive); ``password_hash`` an argon2id PHC string;
- ``admin_sessions(id, user_id, csrf_token, created_at, last_seen_at, expires_at)``: ``id``
  is the SHA-256 (hex) of the opaque token in the cookie, never the token itself;
  ``expires_at`` is the absolute expiry, idle expiry is ``last_seen_at`` + the idle limit;
- ``admin_login_attempts(id, key, attempted_at)``: failed (or in-flight) logins, ``key`` =
  HMAC-SHA256(secret, ``client:<address>`` or ``account:<email>``) truncated to 16 bytes, so
  no address or email is stored in clear; rows older than the window are deleted;
- ``admin_keys(name, secret)``: server secrets shared by every instance (``ratelimit``).
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

# --- admin area -------------------------------------------------------------------------------

EMAIL_LEN: Final = 254

admin_users: Final = sa.Table(
    "admin_users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(EMAIL_LEN), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sqlite_autoincrement=True,
)

admin_sessions: Final = sa.Table(
    "admin_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        Id,
        sa.ForeignKey("admin_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_seen_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

admin_login_attempts: Final = sa.Table(
    "admin_login_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.LargeBinary(KEY_LEN), nullable=False),
    sa.Column("attempted_at", sa.BigInteger, nullable=False),
    sa.Index("ix_admin_login_attempts_key_time", "key", "attempted_at"),
    sa.Index("ix_admin_login_attempts_time", "attempted_at"),
    sqlite_autoincrement=True,
)

admin_keys: Final = sa.Table(
    "admin_keys",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("secret", sa.LargeBinary(32), nullable=False),
)

RATELIMIT_KEY: Final = "ratelimit"
