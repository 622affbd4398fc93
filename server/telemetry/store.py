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
wait on each other in a cycle. (Instances must agree on the UTC day: two whose clocks differ
by ``d`` seconds around midnight may both count one install reported to both within ``d``.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Final, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.runtime import schema
from server.runtime.engine import is_sqlite, writer
from server.telemetry.common import DAY, WINDOW, Clock, day_of, prune, upsert
from server.telemetry.rollup import RollupResult, rollup

CHUNK: Final = 500  # rows per statement
Report = tuple[str, Sequence[tuple[str, str]]]  # (client address, [(package, version)])


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
        self._writer = writer(engine)
        self._sql = _Statements(engine.dialect.name)

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
        return self.record_many([(ip, installs)])[0]

    def record_many(self, reports: Sequence[Report]) -> list[RecordResult]:
        """:meth:`record` for several reports in one transaction (a batch of requests: see
        :mod:`server.telemetry.writer`), in order: a later report of the same client,
        package and version is a duplicate of the earlier one."""
        if not any(installs for _ip, installs in reports):
            return [RecordResult(0, len(installs)) for _ip, installs in reports]
        if self._write_lock is None:
            accepted = self._record(reports)
        else:
            with self._write_lock:
                accepted = self._record(reports)
        if any(accepted) and self._on_change is not None:
            self._on_change()
        return [
            RecordResult(n, len(installs) - n)
            for n, (_ip, installs) in zip(accepted, reports, strict=True)
        ]

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

    def _record(self, reports: Sequence[Report]) -> list[int]:
        now = int(self._clock())
        period = now // DAY
        sql = self._sql
        with self._writer.begin() as conn:
            if sql.relaxed_commit:
                conn.exec_driver_sql(sql.relaxed_commit)
            today, tomorrow = self._salts_for(conn, period, now)
            owners: dict[bytes, tuple[int, str, str, str]] = {}  # key -> first report of it
            for i, (ip, installs) in enumerate(reports):
                for package, version in installs:
                    owners.setdefault(
                        client_key(today, ip, package, version), (i, ip, package, version)
                    )
            won: list[tuple[int, str, str, str]] = []
            for chunk in _chunks(sorted(owners)):  # sorted: a fixed lock order
                found = conn.exec_driver_sql(
                    sql.decide(len(chunk)), (*[x for k in chunk for x in (k, now)], now - WINDOW)
                )
                won.extend(owners[bytes(row[0])] for row in found)
            accepted = [0] * len(reports)
            if not won:
                return accepted
            carried = sorted(client_key(tomorrow, ip, p, v) for _i, ip, p, v in won)
            for keys in _chunks(carried):
                conn.exec_driver_sql(sql.carry(len(keys)), tuple(x for k in keys for x in (k, now)))
            day = day_of(now)
            for rows in _chunks(won):
                values = tuple(x for _i, _ip, p, v in rows for x in (p, v, day, now))
                conn.exec_driver_sql(sql.events(len(rows)), values)
            conn.exec_driver_sql(sql.bump_epoch, (schema.EPOCH_KEY,))
        for i, *_rest in won:
            accepted[i] += 1
        return accepted


T = TypeVar("T")


def _chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Statements:
    """The SQL of the counting transaction, written out once per dialect and row count: it
    runs for every report, and building it with SQLAlchemy's compiler would cost more than
    executing it. Same text on SQLite and PostgreSQL but for the placeholder."""

    def __init__(self, dialect: str) -> None:
        self._p = "?" if dialect == "sqlite" else "%s"
        p = self._p
        self.bump_epoch = f"UPDATE telemetry_state SET value = value + 1 WHERE key = {p}"
        # PostgreSQL: do not wait for the WAL flush at commit (a crash may lose the last
        # fraction of a second of counts, never make them wrong); SQLite is already NORMAL.
        self.relaxed_commit = "" if dialect == "sqlite" else "SET LOCAL synchronous_commit = off"
        self.decide = lru_cache(maxsize=256)(self._decide)
        self.carry = lru_cache(maxsize=256)(self._carry)
        self.events = lru_cache(maxsize=256)(self._events)

    def _rows(self, count: int, width: int) -> str:
        row = "(" + ", ".join([self._p] * width) + ")"
        return ", ".join([row] * count)

    def _decide(self, count: int) -> str:
        """Insert keys, or renew expired ones; returns the keys counted now."""
        return (
            f"INSERT INTO telemetry_seen (key, counted_at) VALUES {self._rows(count, 2)} "
            "ON CONFLICT (key) DO UPDATE SET counted_at = excluded.counted_at "
            f"WHERE telemetry_seen.counted_at <= {self._p} RETURNING key"
        )

    def _carry(self, count: int) -> str:
        return (
            f"INSERT INTO telemetry_seen (key, counted_at) VALUES {self._rows(count, 2)} "
            "ON CONFLICT (key) DO UPDATE SET counted_at = excluded.counted_at"
        )

    def _events(self, count: int) -> str:
        return (
            "INSERT INTO telemetry_events (package, version, day, counted_at) "
            f"VALUES {self._rows(count, 4)}"
        )
