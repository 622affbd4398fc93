"""Admin area: users, sessions, login attempts (rate limit) and the server secrets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-10
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            _ID,
            sa.ForeignKey("admin_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_admin_sessions_user_id", "admin_sessions", ["user_id"])
    op.create_index("ix_admin_sessions_expires_at", "admin_sessions", ["expires_at"])
    op.create_table(
        "admin_login_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.LargeBinary(16), nullable=False),
        sa.Column("attempted_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_admin_login_attempts_key_time", "admin_login_attempts", ["key", "attempted_at"]
    )
    op.create_index("ix_admin_login_attempts_time", "admin_login_attempts", ["attempted_at"])
    keys = op.create_table(
        "admin_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("secret", sa.LargeBinary(32), nullable=False),
    )
    # One secret for every server instance sharing this database (HMAC of rate-limit keys).
    op.bulk_insert(keys, [{"name": "ratelimit", "secret": os.urandom(32)}])


def downgrade() -> None:
    for table in ("admin_keys", "admin_login_attempts", "admin_sessions", "admin_users"):
        op.drop_table(table)
