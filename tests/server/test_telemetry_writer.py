"""Group commit: reports queued while a transaction runs are recorded together, each with its
own answer; errors reach the requests; stopping flushes the queue. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import pytest
import sqlalchemy as sa
from server_helpers import FakeClock
from sqlalchemy.engine import Engine

from server.runtime import schema
from server.telemetry.store import RecordResult, Report, TelemetryStore
from server.telemetry.writer import BatchWriter

AKISMET = ("wp-plugin/akismet", "5.3.1.0")


class GatedStore(TelemetryStore):
    """A real store whose first transaction waits for ``gate`` (so reports queue up)."""

    def __init__(self, engine: Engine, clock: FakeClock) -> None:
        super().__init__(engine, clock=clock)
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.batch_sizes: list[int] = []
        self.fail_next = False

    def record_many(self, reports: Sequence[Report]) -> list[RecordResult]:
        self.entered.set()
        self.gate.wait(10)
        self.batch_sizes.append(len(reports))
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database gone")
        return super().record_many(reports)


def events(engine: Engine) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(
            sa.select(sa.func.count()).select_from(schema.events)
        ).scalar_one()
        return count


def test_queued_reports_share_a_transaction(runtime_engine: Engine, clock: FakeClock) -> None:
    store = GatedStore(runtime_engine, clock)
    writer = BatchWriter(store)
    first = writer.submit("198.51.100.1", [AKISMET])
    assert store.entered.wait(10)
    queued = [writer.submit(f"198.51.100.{n % 3}", [AKISMET]) for n in range(9)]
    store.gate.set()
    assert first.result(10) == (1, 0)
    results = [f.result(10) for f in queued]
    # 198.51.100.1 was counted by the first report; .0 and .2 once each, in queue order
    assert results[:3] == [(1, 0), (0, 1), (1, 0)]
    assert results[3:] == [(0, 1)] * 6
    assert store.batch_sizes == [1, 9] and writer.batches == 2
    assert events(runtime_engine) == 3
    writer.stop()


def test_concurrent_requests_count_once(runtime_engine: Engine, clock: FakeClock) -> None:
    writer = BatchWriter(TelemetryStore(runtime_engine, clock=clock))

    async def many() -> list[RecordResult]:
        batch = [AKISMET, ("wp-plugin/b", "1.0.0.0")]
        return await asyncio.gather(*(writer.record("198.51.100.7", batch) for _ in range(50)))

    results = asyncio.run(many())
    assert sum(r.accepted for r in results) == 2
    assert sum(r.duplicate for r in results) == 98
    assert asyncio.run(writer.record("198.51.100.7", [])) == (0, 0)
    writer.stop()
    assert events(runtime_engine) == 2


def test_errors_reach_the_requests_and_the_writer_goes_on(
    runtime_engine: Engine, clock: FakeClock
) -> None:
    store = GatedStore(runtime_engine, clock)
    store.fail_next = True
    store.gate.set()
    writer = BatchWriter(store)
    with pytest.raises(RuntimeError, match="database gone"):
        writer.submit("198.51.100.1", [AKISMET]).result(10)
    assert writer.submit("198.51.100.1", [AKISMET]).result(10) == (1, 0)
    writer.stop()


def test_stop_flushes_and_cancelled_reports_are_dropped(
    runtime_engine: Engine, clock: FakeClock
) -> None:
    store = GatedStore(runtime_engine, clock)
    writer = BatchWriter(store)
    first = writer.submit("198.51.100.1", [AKISMET])
    assert store.entered.wait(10)
    gone: Future[RecordResult] = writer.submit("198.51.100.2", [AKISMET])
    kept = writer.submit("198.51.100.3", [AKISMET])
    assert gone.cancel()  # the client went away
    stopper = threading.Thread(target=writer.stop)
    stopper.start()
    store.gate.set()
    stopper.join(10)
    assert first.result(0) == (1, 0) and kept.result(0) == (1, 0)
    assert events(runtime_engine) == 2
    # a stopped writer starts again when needed
    assert writer.submit("198.51.100.4", [AKISMET]).result(10) == (1, 0)
    writer.stop()
