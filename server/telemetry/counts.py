"""The database-backed :class:`server.counts.Counts`: rollups plus not yet rolled-up events.

Every answer adds the rollup tables and the raw ``telemetry_events`` in one SQL statement (one
snapshot), so an install is visible right after it was counted and a concurrent rollup never
makes it count twice or vanish.

Answers are cached per epoch (``telemetry_state.epoch``, bumped by every counting transaction
and every rollup). The epoch is re-read at most every ``refresh`` seconds, and at once after
this process changed counts (:meth:`DbCounts.invalidate`, wired to the store), so other
server instances' installs show within ``refresh`` seconds and this one's immediately. The
ranking (all packages' totals, for sorting) is re-read at most every ``ranking_refresh``
seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.counts import MonthCount, Ranking, last_months
from server.runtime import schema
from server.telemetry.common import Clock

CACHE_SIZE: Final = 4096
_IN_CHUNK: Final = 500


class DbCounts:
    """Install counts from the runtime database (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = time.time,
        refresh: float = 1.0,
        ranking_refresh: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._monotonic = monotonic
        self._refresh = refresh
        self._ranking_refresh = ranking_refresh
        self._lock = threading.Lock()
        self._epoch = -1
        self._checked = -float("inf")
        self._dirty = True
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._ranking: tuple[float, Ranking] | None = None

    def invalidate(self) -> None:
        """Counts changed in this process: re-read the epoch on the next question."""
        self._dirty = True

    def epoch(self) -> int:
        now = self._monotonic()
        with self._lock:
            if not self._dirty and now - self._checked < self._refresh:
                return self._epoch
            self._dirty = False
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(schema.state.c.value).where(schema.state.c.key == schema.EPOCH_KEY)
            ).scalar_one()
        with self._lock:
            if value != self._epoch:
                self._cache.clear()
                self._epoch = int(value)
            self._checked = now
            return self._epoch

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        epoch = self.epoch()
        full = (epoch, *key)
        with self._lock:
            if full in self._cache:
                return self._cache[full]
        value = compute()
        with self._lock:
            if epoch == self._epoch:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.clear()
                self._cache[full] = value
        return value

    def total(self, name: str) -> int:
        return self.totals([name])[name]

    def totals(self, names: Sequence[str]) -> dict[str, int]:
        epoch = self.epoch()
        out: dict[str, int] = {}
        missing: list[str] = []
        with self._lock:
            for name in names:
                found = self._cache.get((epoch, "total", name))
                if found is None:
                    missing.append(name)
                else:
                    out[name] = found
        if missing:
            fetched = self._read_totals(sorted(set(missing)))
            with self._lock:
                for name in missing:
                    out[name] = fetched.get(name, 0)
                    if epoch == self._epoch and len(self._cache) < CACHE_SIZE:
                        self._cache[(epoch, "total", name)] = out[name]
        return {name: out[name] for name in names}

    def _read_totals(self, names: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(names), _IN_CHUNK):
                chunk = names[i : i + _IN_CHUNK]
                out.update((str(r[0]), int(r[1])) for r in conn.execute(_totals_query(chunk)))
        return out

    def recent(self, name: str, days: int) -> int:
        today = self._today()
        since = (today - dt.timedelta(days=max(days, 1) - 1)).isoformat()

        def compute() -> int:
            daily, events = schema.daily, schema.events
            rolled = (
                sa.select(sa.func.coalesce(sa.func.sum(daily.c.installs), 0))
                .where(daily.c.package == name, daily.c.day >= since)
                .scalar_subquery()
            )
            fresh = (
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.package == name, events.c.day >= since)
                .scalar_subquery()
            )
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(rolled + fresh)).scalar_one())

        result: int = self._cached(("recent", name, since), compute)
        return result

    def monthly(self, name: str, months: int) -> list[MonthCount]:
        labels = last_months(months, self._today())

        def compute() -> list[MonthCount]:
            monthly, events = schema.monthly, schema.events
            month = sa.func.substr(events.c.day, 1, 7)
            parts = sa.union_all(
                sa.select(monthly.c.month.label("month"), monthly.c.installs.label("n")).where(
                    monthly.c.package == name, monthly.c.month >= labels[0]
                ),
                sa.select(month.label("month"), sa.func.count().label("n"))
                .where(events.c.package == name, events.c.day >= f"{labels[0]}-01")
                .group_by(month),
            ).subquery()
            query = sa.select(parts.c.month, sa.func.sum(parts.c.n)).group_by(parts.c.month)
            with self.engine.connect() as conn:
                found = {str(r[0]): int(r[1]) for r in conn.execute(query)}
            return [MonthCount(m, found.get(m, 0)) for m in labels]

        result: list[MonthCount] = self._cached(("monthly", name, labels[-1], months), compute)
        return result

    def ranking(self) -> Ranking:
        epoch = self.epoch()
        now = self._monotonic()
        with self._lock:
            current = self._ranking
        if current is not None and (
            current[1].epoch == epoch or now - current[0] < self._ranking_refresh
        ):
            return current[1]
        with self.engine.connect() as conn:
            rows = [(str(r[0]), int(r[1])) for r in conn.execute(_totals_query(None))]
        ranking = Ranking(epoch, dict(rows))
        with self._lock:
            self._ranking = (now, ranking)
        return ranking


def _totals_query(names: list[str] | None) -> sa.Select[Any]:
    """``(package, installs)`` of rolled-up totals plus counted events, one statement; of
    ``names`` only, or of every package."""
    totals, events = schema.totals, schema.events
    rolled = sa.select(totals.c.package.label("package"), totals.c.installs.label("n"))
    fresh = sa.select(events.c.package.label("package"), sa.func.count().label("n"))
    if names is not None:
        rolled = rolled.where(totals.c.package.in_(names))
        fresh = fresh.where(events.c.package.in_(names))
    parts = sa.union_all(rolled, fresh.group_by(events.c.package)).subquery()
    return sa.select(parts.c.package, sa.func.sum(parts.c.n)).group_by(parts.c.package)
