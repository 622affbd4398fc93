"""``GET /health``: is fresh data being served? JSON for monitors and load balancers.

Answers 200 with ``"status": "ok"``, or 503 with ``"no_build"`` (nothing promoted or the
promoted build is unreadable) or ``"stale"`` (the build's data commit is older than
``ServerSettings.stale_after``). With a data repository configured it also reports the
newest sync run (read from the commit trailers, cached for a short while).

``/health`` is public, so its ``detail`` and ``sync.error`` are fixed phrases
(:data:`UNREADABLE_BUILD`, :data:`UNREADABLE_SEARCH`, :data:`UNREADABLE_DATA_REPO`): the
underlying error (a file path, an exception's text) goes to the ``server.health`` logger at
WARNING. Monitors poll every few seconds, so a :class:`~server.logthrottle.ProblemThrottle`
(one per app, made by the app factory) keeps that log readable: each problem kind (data
repository, promoted build, search index) is logged when it appears or its text changes, then
at most once per quiet interval with the number of polls not logged, and once at INFO when it
clears. The admin overview, behind a sign-in, still shows the data repository's error itself.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType

from curator.build.manifest import parse_time
from curator.datarepo import DataRepo
from curator.runlog import read_failures, read_run
from server.build_reader import NOTHING_PROMOTED, NoBuildError
from server.logthrottle import ProblemThrottle
from server.site import Site

SYNC_CACHE_SECONDS: Final = 30.0
SYNC_SEARCH_LIMIT: Final = 200
NO_SYNC_RUN: Final = "no sync run found"
UNREADABLE_BUILD: Final = "the promoted build cannot be read"
UNREADABLE_SEARCH: Final = "the promoted build's search index cannot be read"
UNREADABLE_DATA_REPO: Final = "the data repository cannot be read"

# Problem kinds of the log throttle.
DATA_REPO_PROBLEM: Final = "data_repo"
BUILD_PROBLEM: Final = "build"
SEARCH_PROBLEM: Final = "search_index"

log = logging.getLogger("server.health")


@dataclass(frozen=True)
class SyncRun:
    commit: str | None
    time: str | None
    run_id: str | None
    counts: dict[str, int]
    error: str | None = None


@dataclass(frozen=True)
class SyncRunDetail:
    """One sync run for the admin area: the commit's trailers and the failures it lists."""

    commit: str
    time: str
    run_id: str
    version: str | None
    subject: str
    counts: dict[str, int]
    failures: list[tuple[str, str]]
    failures_not_listed: int


@dataclass(frozen=True)
class BuildHealth:
    id: str
    commit: str
    time: str
    promoted_at: str


@dataclass(frozen=True)
class Health:
    status: str
    detail: str
    stale_after_seconds: float
    build: BuildHealth | None = None
    data_age_seconds: int | None = None
    packages: dict[str, int] = field(default_factory=dict)
    sync: SyncRun | None = None


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class SyncRunReader:
    """The newest sync run in a data repository, re-read at most every 30 seconds."""

    def __init__(self, path: Path, prefix: str | None, ref: str | None) -> None:
        self._args = (path, prefix, ref)
        self._cached: tuple[float, SyncRun] | None = None
        self._lock = threading.Lock()

    def newest(self) -> SyncRun:
        now = time.monotonic()
        with self._lock:
            if self._cached is not None and now - self._cached[0] < SYNC_CACHE_SECONDS:
                return self._cached[1]
            run = self._read()
            self._cached = (now, run)
            return run

    def history(self, limit: int) -> list[SyncRunDetail]:
        """The newest ``limit`` sync runs, newest first, among the last
        ``SYNC_SEARCH_LIMIT`` + ``limit`` commits (not cached; errors are raised)."""
        repo = DataRepo.open(*self._args)
        runs: list[SyncRunDetail] = []
        for info in repo.store.log(repo.ref, max_count=SYNC_SEARCH_LIMIT + limit):
            run = read_run(info.sha, info.timestamp, info.subject, info.trailers)
            if run.run_id is None:
                continue
            failures, more = read_failures(info.message)
            runs.append(
                SyncRunDetail(
                    commit=run.sha,
                    time=_iso(run.timestamp),
                    run_id=run.run_id,
                    version=run.version,
                    subject=run.subject,
                    counts={c.value: n for c, n in run.counts.items()},
                    failures=failures,
                    failures_not_listed=more,
                )
            )
            if len(runs) >= limit:
                break
        return runs

    def _read(self) -> SyncRun:
        try:
            repo = DataRepo.open(*self._args)
            for info in repo.store.log(repo.ref, max_count=SYNC_SEARCH_LIMIT):
                run = read_run(info.sha, info.timestamp, info.subject, info.trailers)
                if run.is_sync:
                    return SyncRun(
                        commit=run.sha,
                        time=_iso(run.timestamp),
                        run_id=run.run_id,
                        counts={c.value: n for c, n in run.counts.items()},
                    )
        except Exception as exc:  # reported, never fatal: the data served is what matters
            return SyncRun(None, None, None, {}, error=f"{type(exc).__name__}: {exc}")
        return SyncRun(None, None, None, {}, error=NO_SYNC_RUN)


def _failing(throttle: ProblemThrottle, kind: str, text: str) -> None:
    """Log ``text`` at WARNING unless ``throttle`` holds it back (the same problem again)."""
    report = throttle.failing(kind, text)
    if report is not None:
        log.warning("/health: %s", report.message())


def _ok(throttle: ProblemThrottle, kind: str, text: str) -> None:
    """Log ``text`` at INFO if ``kind`` was failing until now."""
    if throttle.ok(kind):
        log.info("/health: %s", text)


def _public_sync(sync: SyncRun | None, throttle: ProblemThrottle) -> SyncRun | None:
    """``sync`` as /health shows it: a read error is logged and replaced by a fixed phrase."""
    if sync is None:
        return None
    if sync.error is None or sync.error == NO_SYNC_RUN:
        _ok(throttle, DATA_REPO_PROBLEM, "the data repository is readable again")
        return sync
    _failing(throttle, DATA_REPO_PROBLEM, f"the data repository cannot be read: {sync.error}")
    return dataclasses.replace(sync, error=UNREADABLE_DATA_REPO)


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get("/", sync_to_thread=True, summary="Service health")
    def health(
        self,
        site: NamedDependency[Site],
        sync_runs: NamedDependency[SyncRunReader | None],
        health_log: NamedDependency[ProblemThrottle],
    ) -> Response[Health]:
        limit = site.settings.stale_after
        sync = _public_sync(sync_runs.newest() if sync_runs is not None else None, health_log)
        try:
            build = site.reader.current()
        except NoBuildError as exc:
            detail = str(exc)
            if detail != NOTHING_PROMOTED:
                _failing(health_log, BUILD_PROBLEM, f"the promoted build cannot be read: {detail}")
                detail = UNREADABLE_BUILD
            body = Health("no_build", detail, limit, sync=sync)
            return Response(body, status_code=503, media_type=MediaType.JSON)
        _ok(health_log, BUILD_PROBLEM, "the promoted build is readable again")
        manifest = build.manifest
        age = int(time.time() - parse_time(manifest.time).timestamp())
        packages = build.search.totals() if build.search is not None else {}
        if packages:
            packages["total"] = sum(packages.values())
        stale = age > limit
        if build.search_error is not None:
            _failing(
                health_log,
                SEARCH_PROBLEM,
                f"the search index of build {build.id} cannot be read: {build.search_error}",
            )
        else:
            _ok(
                health_log, SEARCH_PROBLEM, f"the search index is readable again (build {build.id})"
            )
        if stale:
            detail = f"the data commit is {age}s old (limit {int(limit)}s)"
        elif build.search_error is not None:
            detail = UNREADABLE_SEARCH
        else:
            detail = "serving"
        body = Health(
            status="stale" if stale else "ok",
            detail=detail,
            stale_after_seconds=limit,
            build=BuildHealth(build.id, manifest.commit, manifest.time, _iso(build.promoted_at)),
            data_age_seconds=age,
            packages=packages,
            sync=sync,
        )
        return Response(body, status_code=503 if stale else 200, media_type=MediaType.JSON)
