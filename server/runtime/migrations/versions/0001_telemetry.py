"""Telemetry: salts, deduplication keys, counted installs, rollups and the counts epoch.

Revision ID: 0001
Revises:
Create Date: 2026-11-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "telemetry_salts",
        sa.Column("period", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("salt", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "telemetry_seen",
        sa.Column("key", sa.LargeBinary(16), primary_key=True),
        sa.Column("counted_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_telemetry_seen_counted_at", "telemetry_seen", ["counted_at"])
    op.create_table(
        "telemetry_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("package", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("counted_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_telemetry_events_package", "telemetry_events", ["package"])
    op.create_table(
        "telemetry_daily",
        sa.Column("package", sa.String(255), primary_key=True),
        sa.Column("version", sa.String(128), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("installs", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_telemetry_daily_package_day", "telemetry_daily", ["package", "day"])
    op.create_table(
        "telemetry_monthly",
        sa.Column("package", sa.String(255), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("installs", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "telemetry_totals",
        sa.Column("package", sa.String(255), primary_key=True),
        sa.Column("installs", sa.BigInteger, nullable=False),
    )
    state = op.create_table(
        "telemetry_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(state, [{"key": "epoch", "value": 0}])


def downgrade() -> None:
    for table in (
        "telemetry_state",
        "telemetry_totals",
        "telemetry_monthly",
        "telemetry_daily",
        "telemetry_events",
        "telemetry_seen",
        "telemetry_salts",
    ):
        op.drop_table(table)
