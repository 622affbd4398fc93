"""Counting installs: once per client, package and version in a sliding 24 hours (across the
daily salt change), no raw address stored, correct under concurrent writers; rollups; the
database-backed counts. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from server_helpers import FakeClock
from sqlalchemy.engine import Engine

from server.counts import MonthCount
from server.runtime import schema
from server.telemetry.common import DAY
from server.telemetry.counts import DbCounts
from server.telemetry.rollup import RollupResult, rollup
from server.telemetry.scheduler import RollupScheduler
from server.telemetry.store import TelemetryStore

AKISMET = ("wp-plugin/akismet", "5.3.1.0")
HOUR = 3600


def rows(engine: Engine, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table)))


def in_threads(count: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            work(i)
        except BaseException as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_counts_once_per_client_in_a_sliding_day(runtime_engine: Engine, clock: FakeClock) -> None:
    store = TelemetryStore(runtime_engine, clock=clock)
    assert store.record("198.51.100.7", [AKISMET]) == (1, 0)
    assert store.record("198.51.100.7", [AKISMET]) == (0, 1)
    clock.advance(23 * HOUR + 59 * 60)  # 23h59 later: still the same day for this client
    assert store.record("198.51.100.7", [AKISMET]).accepted == 0
    clock.advance(2 * 60)  # 24h01 after the first
    assert store.record("198.51.100.7", [AKISMET]).accepted == 1
    # the window restarts at the install that was counted, not at the duplicate
    clock.advance(23 * HOUR)
    assert store.record("198.51.100.7", [AKISMET]).accepted == 0
    clock.advance(1 * HOUR + 60)
    assert store.record("198.51.100.7", [AKISMET]).accepted == 1
    assert len(rows(runtime_engine, schema.events)) == 3


def test_window_slides_across_the_salt_change(runtime_engine: Engine, clock: FakeClock) -> None:
    clock.now = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC).timestamp()
    store = TelemetryStore(runtime_engine, clock=clock)
    assert store.record("198.51.100.7", [AKISMET]).accepted == 1
    clock.advance(HOUR)  # 00:30 the next day: a new salt
    assert store.record("198.51.100.7", [AKISMET]).accepted == 0
    clock.advance(22 * HOUR + 59 * 60)  # 23:29, 23h59 after the install
    assert store.record("198.51.100.7", [AKISMET]).accepted == 0
    clock.advance(2 * 60)  # 23:31, 24h01 after it
    assert store.record("198.51.100.7", [AKISMET]).accepted == 1
    # a second process (a fresh store, no cached salts) agrees on the salts in the database
    other = TelemetryStore(runtime_engine, clock=clock)
    assert other.record("198.51.100.7", [AKISMET]).accepted == 0


def test_other_clients_packages_and_versions_count(
    runtime_engine: Engine, clock: FakeClock
) -> None:
    store = TelemetryStore(runtime_engine, clock=clock)
    assert store.record("198.51.100.7", [AKISMET]).accepted == 1
    assert store.record("198.51.100.8", [AKISMET]).accepted == 1
    assert store.record("2001:db8::1", [AKISMET]).accepted == 1
    assert store.record("198.51.100.7", [("wp-plugin/akismet", "5.3.0.0")]).accepted == 1
    assert store.record("198.51.100.7", [("wp-plugin/other", "5.3.1.0")]).accepted == 1
    # one batch: a repeated entry counts once; known ones are duplicates
    result = store.record("198.51.100.9", [AKISMET, AKISMET, ("wp-plugin/x", "1.0.0.0")])
    assert (result.accepted, result.duplicate) == (2, 1)
    assert store.record("198.51.100.9", []) == (0, 0)


def test_no_address_is_stored_and_the_past_is_forgotten(
    runtime_engine: Engine, clock: FakeClock
) -> None:
    store = TelemetryStore(runtime_engine, clock=clock)
    ip = "198.51.100.77"
    store.record(ip, [AKISMET, ("wp-plugin/other", "1.0.0.0")])
    with runtime_engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    text = bytes(value) if isinstance(value, bytes | memoryview) else value
                    assert ip not in str(text) and ip.encode() not in (
                        text if isinstance(text, bytes) else b""
                    )
    seen = rows(runtime_engine, schema.seen)
    assert len(seen) == 4  # today's key and tomorrow's, per install
    assert all(len(bytes(r.key)) == 16 for r in seen)
    period = int(clock()) // DAY
    assert sorted(r.period for r in rows(runtime_engine, schema.salts)) == [period, period + 1]
    # two days later: yesterday's salt is gone, so are the expired keys
    clock.advance(2 * DAY)
    store.record("198.51.100.78", [AKISMET])
    assert sorted(r.period for r in rows(runtime_engine, schema.salts)) == [
        period + 2,
        period + 3,
    ]
    assert len(rows(runtime_engine, schema.seen)) == 2  # only the new install's keys


def test_concurrent_writers_count_an_install_once(
    database_url: str, runtime_engine: Engine, clock: FakeClock
) -> None:
    """Eight threads over two stores with their own engines (two server instances sharing
    one database) report the same install at the same moment: counted once."""
    from server.runtime.engine import make_engine

    second_engine = make_engine(database_url)
    stores = [
        TelemetryStore(runtime_engine, clock=clock),
        TelemetryStore(second_engine, clock=clock),
    ]
    results: list[int] = []
    lock = threading.Lock()
    batch = [AKISMET, ("wp-plugin/b", "1.0.0.0"), ("wp-plugin/c", "2.0.0.0")]

    def work(i: int) -> None:
        # different orders, so rows would be locked in different orders if not sorted
        ordered = batch if i % 2 else batch[::-1]
        accepted = stores[i % 2].record("198.51.100.7", ordered).accepted
        with lock:
            results.append(accepted)

    try:
        in_threads(8, work)
    finally:
        second_engine.dispose()
    assert sum(results) == 3
    assert len(rows(runtime_engine, schema.events)) == 3
    with runtime_engine.connect() as conn:
        epoch = conn.execute(sa.select(schema.state.c.value)).scalar_one()
    assert epoch >= 1


def test_rollup_keeps_counts_and_moves_them(runtime_engine: Engine, clock: FakeClock) -> None:
    clock.now = dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC).timestamp()
    store = TelemetryStore(runtime_engine, clock=clock)
    counts = DbCounts(runtime_engine, clock=clock, refresh=3600, ranking_refresh=0)
    store.record("198.51.100.1", [AKISMET, ("wp-plugin/other", "1.0.0.0")])
    store.record("198.51.100.2", [AKISMET])
    clock.advance(DAY)  # 1 March
    store.record("198.51.100.3", [("wp-plugin/akismet", "5.3.0.0")])
    before = counts.epoch()
    assert counts.totals(["wp-plugin/akismet", "wp-plugin/other", "wp-plugin/none"]) == {
        "wp-plugin/akismet": 3,
        "wp-plugin/other": 1,
        "wp-plugin/none": 0,
    }
    result = rollup(runtime_engine, clock=clock, batch=2)  # several batches
    assert (result.events, result.packages) == (4, 2)
    assert rows(runtime_engine, schema.events) == []
    counts.invalidate()
    assert counts.epoch() != before
    assert counts.total("wp-plugin/akismet") == 3
    assert counts.monthly("wp-plugin/akismet", 3) == [
        MonthCount("2026-01", 0),
        MonthCount("2026-02", 2),
        MonthCount("2026-03", 1),
    ]
    assert counts.recent("wp-plugin/akismet", 1) == 1
    assert counts.recent("wp-plugin/akismet", 2) == 3
    daily = {(r.package, r.version, r.day): r.installs for r in rows(runtime_engine, schema.daily)}
    assert daily[("wp-plugin/akismet", "5.3.1.0", "2026-02-28")] == 2
    assert daily[("wp-plugin/akismet", "5.3.0.0", "2026-03-01")] == 1
    # more installs after the rollup add to the rolled-up counts, immediately
    store.record("198.51.100.4", [AKISMET])
    counts.invalidate()
    assert counts.total("wp-plugin/akismet") == 4
    assert counts.monthly("wp-plugin/akismet", 1) == [MonthCount("2026-03", 2)]
    assert counts.ranking().installs == {"wp-plugin/akismet": 4, "wp-plugin/other": 1}
    assert rollup(runtime_engine, clock=clock).events == 1
    counts.invalidate()
    assert counts.total("wp-plugin/akismet") == 4
    assert rollup(runtime_engine, clock=clock).events == 0


def test_concurrent_rollups_and_writes_lose_nothing(
    database_url: str, runtime_engine: Engine, clock: FakeClock
) -> None:
    from server.runtime.engine import make_engine

    second_engine = make_engine(database_url)
    store = TelemetryStore(runtime_engine, clock=clock)

    def work(i: int) -> None:
        if i < 2:
            for _ in range(5):
                rollup(runtime_engine if i == 0 else second_engine, clock=clock, batch=7)
        else:
            for n in range(20):
                store.record(f"198.51.{i}.{n}", [AKISMET])

    try:
        in_threads(5, work)
        rollup(second_engine, clock=clock)
    finally:
        second_engine.dispose()
    counts = DbCounts(runtime_engine, clock=clock)
    assert counts.total("wp-plugin/akismet") == 60
    assert [r.installs for r in rows(runtime_engine, schema.totals)] == [60]


def test_counts_cache_follows_the_epoch(runtime_engine: Engine, clock: FakeClock) -> None:
    ticks = [0.0]
    counts = DbCounts(runtime_engine, clock=clock, refresh=10, monotonic=lambda: ticks[0])
    store = TelemetryStore(runtime_engine, clock=clock)  # another "instance": no invalidate
    first = counts.epoch()
    assert counts.total("wp-plugin/akismet") == 0
    store.record("198.51.100.1", [AKISMET])
    assert counts.total("wp-plugin/akismet") == 0  # cached until the refresh interval
    ticks[0] = 11.0
    assert counts.epoch() != first
    assert counts.total("wp-plugin/akismet") == 1
    wired = TelemetryStore(runtime_engine, clock=clock, on_change=counts.invalidate)
    wired.record("198.51.100.2", [AKISMET])
    assert counts.total("wp-plugin/akismet") == 2  # this process's change shows at once


@pytest.mark.parametrize("refresh", [0.0])
def test_ranking_refresh(runtime_engine: Engine, clock: FakeClock, refresh: float) -> None:
    ticks = [0.0]
    counts = DbCounts(
        runtime_engine, clock=clock, refresh=refresh, ranking_refresh=5, monotonic=lambda: ticks[0]
    )
    store = TelemetryStore(runtime_engine, clock=clock, on_change=counts.invalidate)
    assert counts.ranking().installs == {}
    store.record("198.51.100.1", [AKISMET])
    assert counts.ranking().installs == {}  # re-read at most every 5 s
    ticks[0] = 6
    ranking = counts.ranking()
    assert ranking.installs == {"wp-plugin/akismet": 1} and ranking.epoch == counts.epoch()


def test_scheduler_runs_one_rollup_at_a_time(
    runtime_engine: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = TelemetryStore(runtime_engine, clock=clock)
    store.record("198.51.100.1", [AKISMET])
    scheduler = RollupScheduler(store, 60)
    started, release = threading.Event(), threading.Event()
    real_rollup = store.rollup

    def slow_rollup() -> RollupResult:
        started.set()
        release.wait(10)
        return real_rollup()

    store.rollup = slow_rollup  # type: ignore[method-assign]
    first: list[RollupResult | None] = []
    thread = threading.Thread(target=lambda: first.append(scheduler.run_once()))
    thread.start()
    assert started.wait(10)
    assert scheduler.run_once() is None  # busy: not a second one
    release.set()
    thread.join(10)
    assert first[0] is not None and first[0].events == 1
    assert scheduler.runs == 1
    # a failing rollup is logged, not raised; the next tick tries again
    with runtime_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE telemetry_events"))
    store.rollup = real_rollup  # type: ignore[method-assign]
    assert scheduler.run_once() is None
    assert "rollup failed" in caplog.text
    with pytest.raises(ValueError, match="positive"):
        RollupScheduler(store, 0)
