"""The runtime database: data the server writes while it runs (telemetry now; users and
sessions later), as opposed to the immutable builds it serves.

SQLAlchemy Core 2.x over SQLite (one file in the storage directory, WAL mode) or PostgreSQL
(several server instances sharing state); the schema is versioned with Alembic, whose
migration scripts live in ``server/runtime/migrations`` and run programmatically
(:func:`server.runtime.migrate.upgrade`), at server start and by ``curator telemetry migrate``.

- :mod:`server.runtime.engine`: database URLs and engines (SQLite pragmas on connect);
- :mod:`server.runtime.schema`: the tables, as SQLAlchemy Core metadata;
- :mod:`server.runtime.migrate`: running and inspecting migrations.
"""
