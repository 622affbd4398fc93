"""``GET /health``: is fresh data being served? JSON for monitors and load balancers.

Answers 200 with ``"status": "ok"``, or 503 with ``"no_build"`` (nothing promoted or the
promoted build is unreadable) or ``"stale"`` (the build's data commit is older than
``ServerSettings.stale_after``). With a data repository configured it also reports the
newest sync run (read from the commit trailers, cached for a short while).

``/health`` is public, so its ``detail`` and ``sync.error`` are fixed phrases
(:data:`UNREADABLE_BUILD`, :data:`UNREADABLE_SEARCH`, :data:`UNREADABLE_DATA_REPO`): the
underlying error (a file path, an exception's text) goes to the ``server.health`` logger at
WARNING, on each request that meets it. The admin overview, behind a sign-in, still shows the
data repository's error itself.
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
from server.site import Site

SYNC_CACHE_SECONDS: Final = 30.0
SYNC_SEARCH_LIMIT: Final = 200
NO_SYNC_RUN: Final = "no sync run found"
UNREADABLE_BUILD: Final = "the promoted build cannot be read"
UNREADABLE_SEARCH: Final = "the promoted build's search index cannot be read"
UNREADABLE_DATA_REPO: Final = "the data repository cannot be read"

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


def _public_sync(sync: SyncRun | None) -> SyncRun | None:
    """``sync`` as /health shows it: a read error is logged and replaced by a fixed phrase."""
    if sync is None or sync.error is None or sync.error == NO_SYNC_RUN:
        return sync
    log.warning("/health: the data repository cannot be read: %s", sync.error)
    return dataclasses.replace(sync, error=UNREADABLE_DATA_REPO)


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get("/", sync_to_thread=True, summary="Service health")
    def health(
        self, site: NamedDependency[Site], sync_runs: NamedDependency[SyncRunReader | None]
    ) -> Response[Health]:
        limit = site.settings.stale_after
        sync = _public_sync(sync_runs.newest() if sync_runs is not None else None)
        try:
            build = site.reader.current()
        except NoBuildError as exc:
            detail = str(exc)
            if detail != NOTHING_PROMOTED:
                log.warning("/health: the promoted build cannot be read: %s", detail)
                detail = UNREADABLE_BUILD
            body = Health("no_build", detail, limit, sync=sync)
            return Response(body, status_code=503, media_type=MediaType.JSON)
        manifest = build.manifest
        age = int(time.time() - parse_time(manifest.time).timestamp())
        packages = build.search.totals() if build.search is not None else {}
        if packages:
            packages["total"] = sum(packages.values())
        stale = age > limit
        if build.search_error is not None:
            log.warning(
                "/health: the search index of build %s cannot be read: %s",
                build.id,
                build.search_error,
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
