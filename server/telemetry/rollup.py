"""Rollups: counted installs (``telemetry_events``) into per-day (per version), per-month and
all-time counts, then deleted.

Each batch is one transaction that claims its events with ``DELETE ... RETURNING`` and adds
them to the rollup tables with ``ON CONFLICT DO UPDATE SET installs = installs + n``; a
concurrent rollup (another process or instance) is kept out by an advisory lock on PostgreSQL
and by the write lock on SQLite, so no event is added twice. Readers see either the events or
their rollups, never both (:mod:`server.telemetry.counts` reads both in one statement). A
rollup also prunes expired dedup rows and past salts.

Each rollup logs one record (logger ``server.telemetry``, ``event: rollup.finished``) with
its numbers as fields (:mod:`curator.logs`): ``events`` (installs rolled up), ``packages``,
``days`` (distinct UTC days among them), ``batches``, ``pruned_seen``, ``pruned_salts`` and
``seconds``; at ``INFO`` when it rolled up or pruned anything, else at ``DEBUG``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.runtime import schema
from server.runtime.engine import begin_write
from server.telemetry.common import Clock, bump_epoch, prune, upsert

BATCH: Final = 20_000
ROLLUP_LOCK: Final = 0x726F6C6C7570  # pg_advisory_xact_lock key ("rollup")

log = logging.getLogger("server.telemetry")


@dataclass(frozen=True)
class RollupResult:
    """What one rollup did: installs (``events``) of how many packages and UTC days, in how
    many transactions (``batches``), what it pruned, and how long it took."""

    events: int
    packages: int
    pruned_seen: int
    pruned_salts: int
    days: int = 0
    batches: int = 0
    seconds: float = 0.0


def _add(
    conn: sa.Connection, table: sa.Table, keys: list[str], counts: Counter[tuple[str, ...]]
) -> None:
    if not counts:
        return
    stmt = upsert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={"installs": table.c.installs + stmt.excluded.installs}
    )
    conn.execute(
        stmt, [dict(zip(keys, key, strict=True), installs=n) for key, n in sorted(counts.items())]
    )


def rollup(engine: Engine, *, clock: Clock = time.time, batch: int = BATCH) -> RollupResult:
    """Roll every counted install up; returns what was done (and logs it)."""
    started = time.perf_counter()
    events = schema.events
    total = 0
    batches = 0
    packages: set[str] = set()
    days: set[str] = set()
    pruned = (0, 0)
    first = True
    while True:
        with begin_write(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ROLLUP_LOCK)))
            if first:
                pruned = prune(conn, int(clock()))
                first = False
            claim = sa.select(events.c.id).order_by(events.c.id).limit(batch)
            rows = conn.execute(
                sa.delete(events)
                .where(events.c.id.in_(claim.scalar_subquery()))
                .returning(events.c.package, events.c.version, events.c.day)
            ).all()
            if rows:
                daily: Counter[tuple[str, ...]] = Counter()
                monthly: Counter[tuple[str, ...]] = Counter()
                totals: Counter[tuple[str, ...]] = Counter()
                for package, version, day in rows:
                    daily[(package, version, day)] += 1
                    monthly[(package, day[:7])] += 1
                    totals[(package,)] += 1
                _add(conn, schema.daily, ["package", "version", "day"], daily)
                _add(conn, schema.monthly, ["package", "month"], monthly)
                _add(conn, schema.totals, ["package"], totals)
                bump_epoch(conn)
                packages.update(p for (p,) in totals)
                days.update(day for (_package, _version, day) in daily)
                total += len(rows)
                batches += 1
        if len(rows) < batch:
            break
    result = RollupResult(
        events=total,
        packages=len(packages),
        pruned_seen=pruned[0],
        pruned_salts=pruned[1],
        days=len(days),
        batches=batches,
        seconds=time.perf_counter() - started,
    )
    log.log(
        logging.INFO if total or any(pruned) else logging.DEBUG,
        "rollup: %d installs of %d packages over %d days in %.3f s; "
        "pruned %d dedup rows and %d salts",
        result.events,
        result.packages,
        result.days,
        result.seconds,
        result.pruned_seen,
        result.pruned_salts,
        extra={
            "event": "rollup.finished",
            "events": result.events,
            "packages": result.packages,
            "days": result.days,
            "batches": result.batches,
            "pruned_seen": result.pruned_seen,
            "pruned_salts": result.pruned_salts,
            "seconds": round(result.seconds, 3),
        },
    )
    return result
