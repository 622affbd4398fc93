"""The pipeline: sync, build, deploy, under one lock so two never run at once.

:func:`run_pipeline` is one run (sync, build, promote), shared by ``curator pipeline`` and
the server's scheduler (``curator serve --with-scheduler``); :func:`run_sync` is the sync
step (also ``curator sync``'s). Both log their outcome with structured fields.

``pipeline_lock`` takes an exclusive, non-blocking ``flock`` on ``<storage>/pipeline.lock``;
a second pipeline fails at once with :class:`PipelineLockedError` naming the holder (pid and
start time, written into the lock file). The kernel drops the lock when the process dies, so
a killed pipeline never leaves a stale lock behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.datarepo import DataRepo, maintain
from curator.layout import PackageType
from curator.models import UpstreamConfig
from curator.records import Change
from curator.sync import Progress, SyncOptions, SyncReport, SyncRunner
from curator.upstream import WporgClient

if TYPE_CHECKING:
    from curator.build.builder import BuildResult
    from curator.signing import SigningKey

LOCK_NAME = "pipeline.lock"

log = logging.getLogger(__name__)


class PipelineLockedError(Exception):
    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(
            f"another pipeline is running ({holder or 'holder unknown'}; lock {path}); "
            "exiting without doing anything"
        )
        self.path = path
        self.holder = holder


@contextlib.contextmanager
def pipeline_lock(storage: Path) -> Iterator[Path]:
    """Hold the pipeline lock of ``storage`` for the duration of the block."""
    storage.mkdir(parents=True, exist_ok=True)
    path = storage / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise PipelineLockedError(path, holder) from None
        os.ftruncate(fd, 0)
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.pwrite(fd, f"pid {os.getpid()} since {started}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


# --- one pipeline run ----------------------------------------------------------------------


class PipelineStopped(Exception):
    """The run was asked to stop (server shutdown); nothing after the stop was committed."""


@dataclass(frozen=True)
class PipelineOptions:
    """What a pipeline run syncs and how it talks to the upstream.

    ``upstream`` points every endpoint at a base URL (a replay) instead of registry.json's;
    ``client_options`` are :class:`~curator.upstream.WporgClient` keywords (concurrency,
    timeout, retries).
    """

    sync: SyncOptions = field(default_factory=SyncOptions)
    upstream: str | None = None
    client_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineResult:
    sync: SyncReport
    build: BuildResult
    promoted: str  # the build id current after the run
    switched: bool  # False when that build was current already
    seconds: float


class _Watched:
    """Passes progress on to ``inner``, logs stages, and stops the run when asked to."""

    def __init__(
        self, inner: Progress | None, should_stop: Callable[[], bool], run_id: str
    ) -> None:
        self.inner = inner
        self.should_stop = should_stop
        self.run_id = run_id

    def check(self) -> None:
        if self.should_stop():
            raise PipelineStopped(f"sync run {self.run_id} stopped before its commit")

    def stage(self, text: str) -> None:
        self.check()
        log.info("sync: %s", text, extra={"event": "sync.stage", "run_id": self.run_id})
        if self.inner is not None:
            self.inner.stage(text)

    def start(self, total: int) -> None:
        if self.inner is not None:
            self.inner.start(total)

    def advance(self, kind: PackageType, slug: str, change: Change) -> None:
        if self.inner is not None:
            self.inner.advance(kind, slug, change)
        self.check()


def _never() -> bool:
    return False


def run_sync(
    repo: DataRepo,
    options: SyncOptions,
    *,
    upstream: str | None = None,
    client_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = _never,
) -> SyncReport:
    """One sync run, then pack maintenance; logs the outcome (``event: sync.finished``).

    ``should_stop`` is polled after every package: when it answers True the run raises
    :class:`PipelineStopped` before committing anything (a stopped run loses only its fetches).
    """
    config = repo.view().config()
    endpoints = UpstreamConfig.from_base(upstream) if upstream else config.upstream
    run_id = uuid.uuid4().hex
    watched = _Watched(progress, should_stop, run_id)

    async def go() -> SyncReport:
        async with WporgClient(endpoints, **dict(client_options or {})) as client:
            return await SyncRunner(repo, client, progress=watched).run(options, run_id=run_id)

    report = asyncio.run(go())
    packs = maintain(repo) if report.commit is not None else None
    log.log(
        logging.WARNING if report.failures else logging.INFO,
        "sync run %s: %s%s",
        run_id,
        f"commit {report.commit[:12]}" if report.commit else "nothing to commit",
        f", {len(report.failures)} packages failed" if report.failures else "",
        extra={
            "event": "sync.finished",
            "run_id": run_id,
            "commit": report.commit,
            "parent": report.parent,
            "dry_run": report.dry_run,
            "counts": {change.value: n for change, n in sorted(report.counts.items())},
            "failed": len(report.failures),
            "failed_slugs": [f"{kind.value}/{slug}" for kind, slug, _ in report.failures[:20]],
            "changed_paths": len(report.changed_paths),
            "seconds": round(report.seconds, 3),
            "timings": {k: round(v, 3) for k, v in report.timings.items()},
            "packs_after_repack": packs,
        },
    )
    return report


def run_pipeline(
    repo: DataRepo,
    storage_root: Path,
    options: PipelineOptions,
    *,
    signer: SigningKey | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = _never,
) -> PipelineResult:
    """Sync, build (incrementally) and promote; the caller holds :func:`pipeline_lock`.

    The steps of ``curator pipeline`` and of the server's scheduler. Each logs its outcome
    with structured fields (``event``: ``pipeline.started``, ``sync.finished``,
    ``build.finished``, ``build.promoted``, ``pipeline.finished``). A build that fails
    validation is not promoted (:class:`~curator.build.manifest.InvalidBuildError`).
    """
    from curator.build.builder import build
    from curator.storage.local import LocalStorage

    started = time.perf_counter()
    log.info("pipeline started", extra={"event": "pipeline.started", "storage": str(storage_root)})
    report = run_sync(
        repo,
        options.sync,
        upstream=options.upstream,
        client_options=options.client_options,
        progress=progress,
        should_stop=should_stop,
    )
    if should_stop():
        raise PipelineStopped("stopped after the sync run, before the build")
    storage = LocalStorage(storage_root)
    built = build(repo, None, storage, None, signer=signer)
    assert built.build_id is not None
    log.info(
        "build %s: %s in %.1f s",
        built.build_id,
        "existing" if built.existing else ("incremental" if built.incremental else "full"),
        built.seconds,
        extra={
            "event": "build.finished",
            "build_id": built.build_id,
            "commit": built.commit,
            "existing": built.existing,
            "incremental": built.incremental,
            "rendered": built.rendered,
            "reused": built.reused,
            "packages": built.counts.get("packages"),
            "files": built.counts.get("files"),
            "seconds": round(built.seconds, 3),
        },
    )
    if should_stop():
        raise PipelineStopped(f"stopped before promoting build {built.build_id}")
    switched = storage.current() != built.build_id
    if switched:
        storage.promote(built.build_id)
        log.info(
            "promoted build %s",
            built.build_id,
            extra={"event": "build.promoted", "build_id": built.build_id, "commit": built.commit},
        )
    seconds = time.perf_counter() - started
    log.info(
        "pipeline finished in %.1f s: build %s current",
        seconds,
        built.build_id,
        extra={
            "event": "pipeline.finished",
            "run_id": report.run_id,
            "commit": report.commit,
            "build_id": built.build_id,
            "switched": switched,
            "failed": len(report.failures),
            "seconds": round(seconds, 3),
        },
    )
    return PipelineResult(report, built, built.build_id, switched, seconds)
