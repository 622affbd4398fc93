"""Periodic rollups inside the server process (``curator serve --with-scheduler``).

:class:`RollupScheduler` runs :meth:`TelemetryStore.rollup` every ``interval`` seconds in a
worker thread, from a task of the app's lifespan. One loop per app and a lock make sure two
rollups of this process never run at once; other processes are kept out by the database (see
:mod:`server.telemetry.rollup`, which logs each rollup's numbers: ``event: rollup.finished``).
A failing rollup is logged (``event: rollup.failed``, with ``error`` and ``retry_in``
seconds) and retried at the next tick.
"""

from __future__ import annotations

import logging
import threading

import anyio

from server.telemetry.rollup import RollupResult
from server.telemetry.store import TelemetryStore

log = logging.getLogger("server.telemetry")


class RollupScheduler:
    def __init__(self, store: TelemetryStore, interval: float) -> None:
        if interval <= 0:
            raise ValueError("the rollup interval must be positive")
        self.store = store
        self.interval = interval
        self.runs = 0
        self._lock = threading.Lock()

    def run_once(self) -> RollupResult | None:
        """One rollup, or None when one is already running (or this one failed)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            result = self.store.rollup()  # logs what it did
            self.runs += 1
            return result
        except Exception as exc:
            log.exception(
                "rollup failed; retrying in %.0f s",
                self.interval,
                extra={
                    "event": "rollup.failed",
                    "error": f"{type(exc).__name__}: {exc}",
                    "retry_in": self.interval,
                },
            )
            return None
        finally:
            self._lock.release()

    async def run(self) -> None:
        """Roll up now and then every ``interval`` seconds, until cancelled."""
        while True:
            await anyio.to_thread.run_sync(self.run_once)
            await anyio.sleep(self.interval)
