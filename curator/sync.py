"""One sync run: discover what changed upstream, fetch it, and record it as one commit.

The run reads everything at one pinned head commit, fetches with bounded concurrency, merges
each answer into the stored record (:mod:`curator.records`), and writes data and the new
cursors (``state/sync.json``) in a single compare-and-swap commit. Nothing is written before
that commit, so a killed run leaves the ref where it was and a rerun starts from the same
cursor. Failed packages keep their stored record and are queued in ``pending`` for the next run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from curator import __version__, canonical
from curator.datarepo import DataError, DataRepo, DataView
from curator.gitstore import blob_id
from curator.layout import STATE_FILE, PackageType, check_slug, is_valid_slug, package_path
from curator.models import RegistryConfig, SyncCursor, SyncState
from curator.records import Change, Found, Gone, classify, encode, merge
from curator.runlog import format_message
from curator.upstream import Closed, Failed, NotFound, WporgClient
from curator.upstream import Found as UpstreamFound

log = logging.getLogger(__name__)

DEFAULT_AUTHOR = "curator-bot <curator-bot@users.noreply.localhost>"
ALL_TYPES = (PackageType.PLUGIN, PackageType.THEME)


class Progress(Protocol):
    """Where a run reports progress (the CLI draws a bar; tests may count)."""

    def stage(self, text: str) -> None: ...
    def start(self, total: int) -> None: ...
    def advance(self, kind: PackageType, slug: str, change: Change) -> None: ...


class _NoProgress:
    def stage(self, text: str) -> None:
        log.info("%s", text)

    def start(self, total: int) -> None:
        pass

    def advance(self, kind: PackageType, slug: str, change: Change) -> None:
        pass


@dataclass(frozen=True)
class SyncOptions:
    types: tuple[PackageType, ...] = ALL_TYPES
    slugs: tuple[str, ...] = ()
    limit: int | None = None
    full: bool = False
    dry_run: bool = False
    author: str = DEFAULT_AUTHOR

    def __post_init__(self) -> None:
        for slug in self.slugs:
            check_slug(slug)
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must be >= 0")


@dataclass
class TypePlan:
    """What one package type will sync this run."""

    kind: PackageType
    source: str
    work: dict[str, int | None]  # slug -> newest SVN revision known to touch it
    cursor: SyncCursor  # before the run
    new_revision: int | None
    rejected: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    run_id: str
    parent: str | None
    commit: str | None = None
    dry_run: bool = False
    counts: Counter[Change] = field(default_factory=Counter)
    per_type: dict[PackageType, Counter[Change]] = field(default_factory=dict)
    failures: list[tuple[PackageType, str, str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    rejected: list[tuple[PackageType, str]] = field(default_factory=list)
    deferred: int = 0
    changed_paths: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # discover, fetch, commit

    @property
    def ok(self) -> bool:
        return not self.failures


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_answer(result: object) -> Found | Gone | None:
    """What an upstream info result means for the stored record; None for a failure."""
    if isinstance(result, UpstreamFound):
        return Found(result.info)
    if isinstance(result, Closed):
        return Gone(result.closure)
    if isinstance(result, NotFound):
        return Gone(None)
    return None


class SyncRunner:
    """Runs sync runs against one data repository with one upstream client."""

    def __init__(
        self,
        repo: DataRepo,
        client: WporgClient,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
        progress: Progress | None = None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.clock = clock
        self.progress: Progress = progress or _NoProgress()

    async def run(self, options: SyncOptions, *, run_id: str | None = None) -> SyncReport:
        started = time.perf_counter()
        now = self.clock().astimezone(dt.UTC).replace(microsecond=0)
        head = self.repo.head()
        view = self.repo.view(head)
        config = view.config()
        state = view.state()
        report = SyncReport(run_id=run_id or uuid.uuid4().hex, parent=head)
        report.dry_run = options.dry_run

        plans = [await self._plan(kind, config, state, options) for kind in options.types]
        report.timings["discover"] = time.perf_counter() - started
        self._apply_limit(plans, options.limit)
        for plan in plans:
            report.sources.append(plan.source)
            report.rejected += [(plan.kind, s) for s in plan.rejected]
            report.deferred += len(plan.deferred)
            report.per_type[plan.kind] = Counter()

        changes: dict[str, bytes | None] = {}
        failed: dict[PackageType, set[str]] = {p.kind: set() for p in plans}
        stamp = now.isoformat().replace("+00:00", "Z")

        async def one(kind: PackageType, slug: str, revision: int | None) -> None:
            result = await self.client.fetch_info(kind, slug)
            change = self._absorb(view, kind, slug, revision, result, stamp, changes)
            if change is Change.FAILED:
                reason = result.reason if isinstance(result, Failed) else "stored record invalid"
                failed[kind].add(slug)
                report.failures.append((kind, slug, reason))
            report.counts[change] += 1
            report.per_type[kind][change] += 1
            self.progress.advance(kind, slug, change)

        fetch_started = time.perf_counter()
        total = sum(len(p.work) for p in plans)
        self.progress.stage(f"fetching {total} packages")
        self.progress.start(total)
        await asyncio.gather(
            *(one(p.kind, slug, rev) for p in plans for slug, rev in p.work.items())
        )
        report.failures.sort(key=lambda f: (f[0].value, f[1]))
        report.timings["fetch"] = time.perf_counter() - fetch_started
        commit_started = time.perf_counter()

        new_state = state
        for plan in plans:
            cursor = plan.cursor
            attempted = set(plan.work)
            pending = (set(cursor.pending) - attempted) | failed[plan.kind] | set(plan.deferred)
            new_state = new_state.with_cursor(
                plan.kind,
                SyncCursor(
                    revision=plan.new_revision
                    if plan.new_revision is not None
                    else cursor.revision,
                    pending=sorted(pending),
                ),
            )
        state_bytes = canonical.dumps(new_state.model_dump(mode="json"))
        if view.blob_id(STATE_FILE) != blob_id(state_bytes):
            changes[STATE_FILE] = state_bytes

        report.changed_paths = sorted(changes)
        if changes and not options.dry_run:
            self.progress.stage(f"committing {len(changes)} files")
            message = format_message(
                counts=report.counts,
                sources=report.sources,
                failures=[(f"{k.value}/{s}", why) for k, s, why in report.failures],
                run_id=report.run_id,
                version=__version__,
                types=[p.kind.value for p in plans],
            )
            report.commit = self.repo.commit(
                parent=head,
                changes=changes,
                message=message,
                author=options.author,
                timestamp=int(now.timestamp()),
            )
        report.timings["commit"] = time.perf_counter() - commit_started
        report.seconds = time.perf_counter() - started
        return report

    def _absorb(
        self,
        view: DataView,
        kind: PackageType,
        slug: str,
        revision: int | None,
        result: object,
        stamp: str,
        changes: dict[str, bytes | None],
    ) -> Change:
        """Merge one upstream answer; record the file in ``changes`` when its bytes change."""
        answer = to_answer(result)
        if answer is None:
            return Change.FAILED
        rel = package_path(kind, slug)
        try:
            old = view.record(kind, slug)
        except DataError:
            log.exception("stored record %s is invalid; left untouched", rel)
            return Change.FAILED
        new = merge(kind, slug, answer, old, now=stamp, revision=revision)
        data = encode(new)
        changed = view.blob_id(rel) != blob_id(data)
        if changed:
            changes[rel] = data
        return classify(old, new, changed)

    async def _plan(
        self, kind: PackageType, config: RegistryConfig, state: SyncState, options: SyncOptions
    ) -> TypePlan:
        cursor = state.cursor(kind)
        if options.slugs:
            work: dict[str, int | None] = dict.fromkeys(options.slugs)
            return TypePlan(kind, f"{kind.plural}: {len(work)} named", work, cursor, None)
        work = dict.fromkeys(cursor.pending)
        rejected: list[str] = []
        new_revision: int | None = None
        source = f"{kind.plural}: "
        if config.discovery.svn:
            if options.full or cursor.revision is None:
                self.progress.stage(f"listing {kind.plural} from SVN")
                listing = await self.client.svn_listing(kind)
                work.update(dict.fromkeys(listing.slugs))
                rejected += listing.rejected
                new_revision = listing.revision
                source += f"SVN listing r{listing.revision}, {len(listing.slugs)} slugs"
            else:
                self.progress.stage(f"reading the {kind.value} SVN log since r{cursor.revision}")
                found = await self.client.changed_since(kind, cursor.revision)
                work.update(found.slugs)
                new_revision = found.head
                source += (
                    f"SVN log r{cursor.revision + 1}..r{found.head}, {len(found.slugs)} changed"
                    if found.head > cursor.revision
                    else f"SVN log: no revisions after r{cursor.revision}"
                )
        fixed = [s for s in config.discovery.fixed(kind) if is_valid_slug(s)]
        for slug in fixed:
            work.setdefault(slug, None)
        if fixed:
            source += f"; {len(fixed)} fixed"
        if cursor.pending:
            source += f"; {len(cursor.pending)} pending"
        plan_work = {s: work[s] for s in sorted(work)}
        return TypePlan(kind, source, plan_work, cursor, new_revision, rejected)

    @staticmethod
    def _apply_limit(plans: Iterable[TypePlan], limit: int | None) -> None:
        """Keep at most ``limit`` packages in all; the rest waits in ``pending``."""
        if limit is None:
            return
        left = limit
        for plan in plans:
            slugs = list(plan.work)
            keep, plan.deferred = slugs[:left], slugs[left:]
            plan.work = {s: plan.work[s] for s in keep}
            left -= len(keep)
