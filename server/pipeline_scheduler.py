"""Periodic pipeline runs inside the server process (``curator serve --with-scheduler``).

:class:`PipelineScheduler` runs :func:`curator.pipeline.run_pipeline` (sync, build, promote:
what ``curator pipeline`` does) every ``interval`` seconds in a worker thread, from a task of
the app's lifespan; the server picks the promoted build up by itself.

- Never two at once: a run holds the storage's pipeline lock (:func:`pipeline_lock`). When
  another process holds it (``curator pipeline`` from a systemd timer or by hand), the round
  is skipped and logged (``event: pipeline.skipped``); a thread lock keeps two runs of this
  process apart too.
- A failing run is logged (``event: pipeline.failed``, with the traceback) and the loop goes
  on at the next tick; the server never stops because of it.
- At shutdown the loop asks a running pipeline to stop: the sync run stops before its commit
  (nothing is lost: the next run fetches again), a build finishes and is not promoted. The
  lifespan waits up to ``stop_timeout`` seconds for that, then leaves the thread behind (a
  killed run commits nothing; the kernel drops the lock).

Runs start at once and then every ``interval`` seconds (start to start; a run longer than
the interval is followed by the next one directly). :attr:`last` is the newest outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import anyio

from curator.datarepo import DataRepo
from curator.pipeline import (
    PipelineLockedError,
    PipelineOptions,
    PipelineStopped,
    pipeline_lock,
    run_pipeline,
)

if TYPE_CHECKING:
    from curator.signing import SigningKey

log = logging.getLogger("server.scheduler")

STOP_TIMEOUT: Final = 60.0


@dataclass(frozen=True)
class PipelineJob:
    """What a scheduled run works on: the data repository, the storage, the options."""

    repo: Path
    prefix: str | None
    ref: str | None
    storage: Path
    options: PipelineOptions = field(default_factory=PipelineOptions)
    signer: SigningKey | None = None


@dataclass(frozen=True)
class PipelineRun:
    """The outcome of one round: ``status`` is ``ok``, ``partial`` (some packages failed to
    sync), ``skipped`` (another pipeline held the lock), ``busy``, ``stopped`` or ``failed``."""

    status: str
    started: float  # Unix time
    seconds: float
    build_id: str | None = None
    commit: str | None = None
    detail: str | None = None


class PipelineScheduler:
    def __init__(
        self, job: PipelineJob, interval: float, *, stop_timeout: float = STOP_TIMEOUT
    ) -> None:
        if interval <= 0:
            raise ValueError("the pipeline interval must be positive")
        self.job = job
        self.interval = interval
        self.stop_timeout = stop_timeout
        self.runs = 0
        self.last: PipelineRun | None = None
        self._running = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()

    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_once(self) -> PipelineRun:
        """One round (see the module docstring); never raises."""
        started, clock = time.time(), time.perf_counter()
        if not self._running.acquire(blocking=False):
            return PipelineRun("busy", started, 0.0, detail="a pipeline of this server is running")
        self._idle.clear()
        try:
            outcome = self._attempt(started, clock)
            self.runs += 1
            self.last = outcome
            return outcome
        finally:
            self._running.release()
            self._idle.set()

    def _attempt(self, started: float, clock: float) -> PipelineRun:
        job = self.job

        def took() -> float:
            return round(time.perf_counter() - clock, 3)

        try:
            with pipeline_lock(job.storage):
                repo = DataRepo.open(job.repo, job.prefix, job.ref)
                try:
                    result = run_pipeline(
                        repo,
                        job.storage,
                        job.options,
                        signer=job.signer,
                        should_stop=self._stop.is_set,
                    )
                finally:
                    repo.store.close()
        except PipelineLockedError as exc:
            log.info(
                "scheduled pipeline skipped: another pipeline holds the lock (%s)",
                exc.holder or "holder unknown",
                extra={"event": "pipeline.skipped", "holder": exc.holder, "lock": str(exc.path)},
            )
            return PipelineRun("skipped", started, took(), detail=str(exc))
        except PipelineStopped as exc:
            log.warning("scheduled pipeline stopped: %s", exc, extra={"event": "pipeline.stopped"})
            return PipelineRun("stopped", started, took(), detail=str(exc))
        except Exception as exc:
            log.exception(
                "scheduled pipeline failed; next attempt in %.0f s",
                self.interval,
                extra={"event": "pipeline.failed", "error": f"{type(exc).__name__}: {exc}"},
            )
            return PipelineRun("failed", started, took(), detail=f"{type(exc).__name__}: {exc}")
        status = "partial" if result.sync.failures else "ok"
        return PipelineRun(
            status, started, took(), build_id=result.promoted, commit=result.build.commit
        )

    async def run(self) -> None:
        """Run now and then every ``interval`` seconds, until cancelled (see the docstring)."""
        self._stop.clear()
        log.info(
            "pipeline scheduler: every %g s",
            self.interval,
            extra={"event": "scheduler.started", "interval": self.interval},
        )
        try:
            while True:
                began = time.monotonic()
                await anyio.to_thread.run_sync(self.run_once, abandon_on_cancel=True)
                await anyio.sleep(max(self.interval - (time.monotonic() - began), 0.0))
        except anyio.get_cancelled_exc_class():
            await self._wind_down()
            raise

    async def _wind_down(self) -> None:
        """Ask the running pipeline to stop and wait (bounded) for it, shielded from the
        cancellation that brought us here."""
        self._stop.set()
        with anyio.CancelScope(shield=True):
            idle = await anyio.to_thread.run_sync(self._idle.wait, self.stop_timeout)
        if idle:
            log.info("pipeline scheduler stopped", extra={"event": "scheduler.stopped"})
        else:
            log.warning(
                "pipeline still running %.0f s after shutdown began; leaving it behind "
                "(a killed run commits nothing)",
                self.stop_timeout,
                extra={"event": "scheduler.abandoned"},
            )
