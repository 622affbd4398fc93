"""Group commit for ``POST /downloads``: one writer thread records whatever reports have
queued up in one transaction.

Under load, requests arrive faster than transactions commit; each request hands its report
to :class:`BatchWriter` and awaits the result, and the writer thread takes every queued
report (up to a bound) into one :meth:`TelemetryStore.record_many` call. A busy server thus
pays one ``BEGIN``/``COMMIT`` and a handful of statements per batch rather than per request,
and no request thread waits on SQLite's write lock. Deduplication is unchanged: it is done
by the database (see :mod:`server.telemetry.store`), so other processes and instances may
write at the same time. A request whose client went away before its batch ran is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Final

from server.telemetry.store import RecordResult, Report, TelemetryStore

MAX_REPORTS: Final = 64  # per transaction
MAX_INSTALLS: Final = 2_000

log = logging.getLogger("server.telemetry")

_Item = tuple[Report, "Future[RecordResult]"] | None


class BatchWriter:
    def __init__(self, store: TelemetryStore, *, max_reports: int = MAX_REPORTS) -> None:
        self.store = store
        self._max_reports = max_reports
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # transactions run (for tests and probes)

    def submit(self, ip: str, installs: Sequence[tuple[str, str]]) -> Future[RecordResult]:
        """Queue a report; the future gets its :class:`RecordResult` (or the error)."""
        future: Future[RecordResult] = Future()
        self._ensure_thread()
        self._queue.put(((ip, installs), future))
        return future

    async def record(self, ip: str, installs: Sequence[tuple[str, str]]) -> RecordResult:
        if not installs:
            return RecordResult(0, 0)
        return await asyncio.wrap_future(self.submit(ip, installs))

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="telemetry-writer", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Record what is queued, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            installs = len(item[0][1])
            stopping = False
            while len(batch) < self._max_reports and installs < MAX_INSTALLS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
                installs += len(more[0][1])
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[tuple[Report, Future[RecordResult]]]) -> None:
        live = [(report, f) for report, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            results = self.store.record_many([report for report, _f in live])
        except Exception as exc:
            log.exception("recording %d telemetry reports failed", len(live))
            for _report, future in live:
                future.set_exception(exc)
            return
        self.batches += 1
        for (_report, future), result in zip(live, results, strict=True):
            future.set_result(result)
