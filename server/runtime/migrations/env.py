"""Alembic's environment for the runtime database: always run with a connection handed in by
:mod:`server.runtime.migrate` (which owns the transaction and the lock)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from server.runtime.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, sa.Connection):
    raise RuntimeError("run migrations through server.runtime.migrate, not the alembic CLI")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
