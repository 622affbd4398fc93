"""Counting installs once per client, package and version in a sliding 24 hours, privately.

No client address is stored. A client is known only by a key
``HMAC-SHA256(salt, ip, package, version)`` (16 bytes) in ``telemetry_seen``, next to the time
the install was last counted. Salts are random, one per UTC day (``period`` = Unix day), and
deleted when their day is over, so yesterday's keys can no longer be linked to an address;
dedup rows are deleted 24 hours after they were counted.

The window slides across the daily salt change because a counted install is written under two
keys: today's salt (which decides) and tomorrow's (carried forward). An install is counted by
one statement, ``INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE counted_at <= now - 24h
RETURNING key``: it returns the key when there was no row or only an expired one, and nothing
when the client was counted in the last 24 hours. Concurrent writers (threads, processes,
server instances sharing PostgreSQL) serialise on the key's row, so one install is counted
once without any read-then-write. Keys are written in sorted order, so two transactions never
wait on each other in a cycle.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.runtime import schema
from server.runtime.engine import begin_write, is_sqlite
from server.telemetry.common import DAY, WINDOW, Clock, bump_epoch, day_of, prune, upsert
from server.telemetry.rollup import RollupResult, rollup


class RecordResult(NamedTuple):
    accepted: int  # counted now
    duplicate: int  # counted for this client in the last 24 hours (or repeated in the batch)


def client_key(salt: bytes, ip: str, package: str, version: str) -> bytes:
    message = f"{ip}\x00{package}\x00{version}".encode()
    return hmac.new(salt, message, hashlib.sha256).digest()[: schema.KEY_LEN]


class TelemetryStore:
    """Records counted installs in the runtime database (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._on_change = on_change
        self._salts: dict[int, bytes] = {}
        self._salt_lock = threading.Lock()
        # SQLite has one writer at a time: queue threads here rather than in the busy handler.
        self._write_lock: threading.Lock | None = threading.Lock() if is_sqlite(engine) else None

    def _salts_for(self, conn: sa.Connection, period: int, now: int) -> tuple[bytes, bytes]:
        """The salts of ``period`` and the next one, made on first use (any instance may)."""
        with self._salt_lock:
            found = (self._salts.get(period), self._salts.get(period + 1))
        if found[0] is not None and found[1] is not None:
            return found[0], found[1]
        conn.execute(
            upsert(conn, schema.salts)
            .values(
                [
                    {"period": p, "salt": secrets.token_bytes(32), "created_at": now}
                    for p in (period, period + 1)
                ]
            )
            .on_conflict_do_nothing(index_elements=["period"])
        )
        rows = conn.execute(
            sa.select(schema.salts.c.period, schema.salts.c.salt).where(
                schema.salts.c.period.in_((period, period + 1))
            )
        ).all()
        salts = {int(r.period): bytes(r.salt) for r in rows}
        prune(conn, now)  # a new day for this process: forget what is past
        with self._salt_lock:
            self._salts = salts
        return salts[period], salts[period + 1]

    def record(self, ip: str, installs: Sequence[tuple[str, str]]) -> RecordResult:
        """Count each (package, version) for client ``ip`` unless counted in the last 24 h."""
        unique = list(dict.fromkeys(installs))
        if not unique:
            return RecordResult(0, len(installs))
        if self._write_lock is None:
            accepted = self._record(ip, unique)
        else:
            with self._write_lock:
                accepted = self._record(ip, unique)
        if accepted and self._on_change is not None:
            self._on_change()
        return RecordResult(accepted, len(installs) - accepted)

    def rollup(self) -> RollupResult:
        """Roll counted installs up (:func:`server.telemetry.rollup.rollup`) in this process."""
        if self._write_lock is None:
            result = rollup(self.engine, clock=self._clock)
        else:
            with self._write_lock:
                result = rollup(self.engine, clock=self._clock)
        if result.events and self._on_change is not None:
            self._on_change()
        return result

    def _record(self, ip: str, unique: list[tuple[str, str]]) -> int:
        now = int(self._clock())
        period = now // DAY
        seen = schema.seen
        with begin_write(self.engine) as conn:
            today, tomorrow = self._salts_for(conn, period, now)
            keys = {client_key(today, ip, p, v): (p, v) for p, v in unique}
            decide = upsert(conn, seen).values(
                [{"key": k, "counted_at": now} for k in sorted(keys)]
            )
            decide = decide.on_conflict_do_update(
                index_elements=["key"],
                set_={"counted_at": decide.excluded.counted_at},
                where=seen.c.counted_at <= now - WINDOW,
            ).returning(seen.c.key)
            won = [keys[bytes(row.key)] for row in conn.execute(decide)]
            if not won:
                return 0
            carried = sorted(client_key(tomorrow, ip, p, v) for p, v in won)
            carry = upsert(conn, seen).values([{"key": k, "counted_at": now} for k in carried])
            conn.execute(
                carry.on_conflict_do_update(
                    index_elements=["key"], set_={"counted_at": carry.excluded.counted_at}
                )
            )
            day = day_of(now)
            conn.execute(
                sa.insert(schema.events),
                [{"package": p, "version": v, "day": day, "counted_at": now} for p, v in won],
            )
            bump_epoch(conn)
        return len(won)
