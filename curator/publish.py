"""Publishing sync runs: push the data branch to a remote, re-applying our runs if it moved.

Several curators (or a curator and a trustee merging a pull request) may advance the same
remote branch. :func:`push_runs` never forces; it loops, at most ``retries`` more times:

1. fetch the remote branch (only its new objects come over);
2. if the remote head is an ancestor of ours, push ours as it is (a fast-forward);
3. otherwise re-apply OUR runs -- the local commits since the merge base, oldest first --
   onto the remote head (:func:`reapply_run`); each keeps its message, trailers, author and
   time, and gets the previous one (first: the remote head) as parent. Runs whose
   ``Curator-Run-Id`` the remote already has, or that change nothing any more, are dropped;
4. push with a compare-and-swap on the remote head seen in step 1; if another pusher got
   there first, sleep a short jittered backoff and start again from step 1.

After a push that re-applied runs, the local branch moves to the pushed commit as well
(compare-and-swap); when the local branch is merely behind, it fast-forwards to the remote.

Re-applying one run (base = the run's parent, ours = the run, theirs = the current target)
looks only at the paths the run changed:

- theirs equals base (the remote did not touch the path): take ours;
- theirs equals ours (both wrote identical bytes): nothing to do;
- ``state/sync.json`` changed on both sides: merged by :func:`merge_state`;
- anything else (a package file both sides wrote differently): a real conflict.
  :class:`PushConflictError` names every conflicting path; nothing has moved, neither the
  local branch nor the remote (the re-applied commits are unreferenced objects).

:func:`merge_state` merges each package type's cursor: the newer SVN revision wins, since
each side's run covered the SVN log from the shared base up to its own revision and together
they cover up to the larger one; ``pending`` is the union of both sides' pending slugs minus
those either side *resolved* (pending at the base, no longer pending on that side: it was
fetched and written there). A slug that one side newly failed while the other fetched it
stays pending; that costs one extra fetch next run, never a lost package.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from curator import canonical
from curator.datarepo import DataRepo
from curator.gitstore import (
    CommitInfo,
    GitStore,
    PushStatus,
    RefLockedError,
    RefMovedError,
    blob_id,
)
from curator.layout import STATE_FILE, PackageType
from curator.models import SyncCursor, SyncState
from curator.runlog import TRAILER_PREFIX

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RETRIES",
    "NoRemoteError",
    "PublishError",
    "PushAttempt",
    "PushConflictError",
    "PushGaveUpError",
    "PushReport",
    "merge_cursor",
    "merge_state",
    "push_runs",
    "reapply_run",
    "resolve_remote",
]

DEFAULT_RETRIES = 5
MAX_RUNS = 1000  # local commits re-applied in one push; more means something is badly wrong
BACKOFF = 0.2  # seconds before the first retry; doubled each time, jittered x0.5..1.5
MAX_BACKOFF = 2.0
RUN_ID = f"{TRAILER_PREFIX}Run-Id"
REMOTE_CONFIG = ("curator", "remote")


class PublishError(Exception):
    """The branch cannot be published as it is (nothing was pushed)."""


class NoRemoteError(PublishError):
    def __init__(self) -> None:
        super().__init__(
            "no remote to push to: pass --remote, or set `git config curator.remote URL` "
            "(or add a remote named origin) in the data repository"
        )


class PushConflictError(PublishError):
    """Our run and the remote's new commits changed the same file differently."""

    def __init__(self, run: str, paths: list[str]) -> None:
        shown = ", ".join(paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
        super().__init__(
            f"conflict: run {run[:12]} and the remote both changed {shown}; nothing was pushed "
            "and the local branch is unchanged (sync again from the remote's head)"
        )
        self.run = run
        self.paths = paths


class PushGaveUpError(PublishError):
    """Every attempt lost the race (or was refused)."""

    def __init__(self, remote: str, attempts: int, reason: str) -> None:
        super().__init__(
            f"gave up pushing to {remote} after {attempts} attempt(s): {reason}; "
            "the local branch is unchanged"
        )
        self.remote = remote
        self.attempts = attempts
        self.reason = reason


# -- the state merge (pure) ------------------------------------------------------------------


def merge_cursor(base: SyncCursor, ours: SyncCursor, theirs: SyncCursor) -> SyncCursor:
    """One package type's cursor after both runs (see the module docstring)."""
    revisions = [r for r in (ours.revision, theirs.revision) if r is not None]
    before = set(base.pending)
    resolved = (before - set(ours.pending)) | (before - set(theirs.pending))
    pending = (set(ours.pending) | set(theirs.pending)) - resolved
    return SyncCursor(revision=max(revisions) if revisions else None, pending=sorted(pending))


def merge_state(base: SyncState, ours: SyncState, theirs: SyncState) -> SyncState:
    state = theirs
    for kind in PackageType:
        merged = merge_cursor(base.cursor(kind), ours.cursor(kind), theirs.cursor(kind))
        state = state.with_cursor(kind, merged)
    return state


def _merge_state_bytes(base: bytes | None, ours: bytes, theirs: bytes) -> bytes | None:
    """The merged ``state/sync.json``; ``None`` if a side does not parse (a conflict)."""
    try:
        states = [
            SyncState() if raw is None else SyncState.model_validate(canonical.loads(raw))
            for raw in (base, ours, theirs)
        ]
    except (ValidationError, ValueError):
        return None
    return canonical.dumps(merge_state(*states).model_dump(mode="json"))


# -- re-applying runs ------------------------------------------------------------------------


def reapply_run(store: GitStore, run: CommitInfo, onto: str, state_path: str) -> str | None:
    """``run`` re-applied on top of commit ``onto``: the new commit, or ``None`` if nothing of
    it is left to apply. Raises :class:`PushConflictError`; moves no ref."""
    parent = run.parents[0]
    base, ours, theirs = store.snapshot(parent), store.snapshot(run.sha), store.snapshot(onto)
    changes: dict[str, bytes | None] = {}
    conflicts: list[str] = []
    for path, _kind in store.changed_paths(parent, run.sha):
        b, o, t = base.blob_id(path), ours.blob_id(path), theirs.blob_id(path)
        if t == o:
            continue
        if t == b:
            changes[path] = ours.read(path)
            continue
        if path == state_path and o is not None and t is not None:
            merged = _merge_state_bytes(
                base.read(path), ours.read(path) or b"", theirs.read(path) or b""
            )
            if merged is not None:
                if blob_id(merged) != t:
                    changes[path] = merged
                continue
        conflicts.append(path)
    if conflicts:
        raise PushConflictError(run.sha, conflicts)
    return store.create_commit(
        parent=onto,
        changes=changes,
        message=run.message,
        author=run.author,
        timestamp=run.timestamp,
        tz_offset=run.tz_offset,
    )


@dataclass(frozen=True)
class _Plan:
    tip: str  # what the remote branch should become (== remote head: nothing to push)
    runs: int  # our commits in tip that the remote head lacks
    reapplied: bool
    skipped: tuple[str, ...] = ()  # local runs already on the remote, or empty when re-applied


def _chain(store: GitStore, tip: str, stop: str) -> list[CommitInfo]:
    """Single-parent commits from ``tip`` back to (not including) ``stop``, oldest first."""
    chain: list[CommitInfo] = []
    for info in store.log(tip):
        if info.sha == stop:
            chain.reverse()
            return chain
        if len(info.parents) != 1:
            kind = "a merge" if info.parents else "a root commit"
            raise PublishError(
                f"cannot re-apply {info.sha[:12]} onto the remote: it is {kind} "
                "(only linear sync runs are re-applied)"
            )
        chain.append(info)
        if len(chain) > MAX_RUNS:
            raise PublishError(f"more than {MAX_RUNS} local commits to re-apply; refusing")
    raise PublishError(f"{stop[:12]} is not on the first-parent history of {tip[:12]}")


def _count(store: GitStore, tip: str, stop: str | None) -> int:
    """First-parent commits from ``tip`` back to (not including) ``stop``."""
    count = 0
    for info in store.log(tip):
        if info.sha == stop:
            break
        count += 1
    return count


def _run_ids_since(store: GitStore, tip: str, stop: str) -> set[str]:
    ids: set[str] = set()
    for n, info in enumerate(store.log(tip)):
        if info.sha == stop or n > MAX_RUNS * 10:
            break
        run_id = info.trailers.get(RUN_ID)
        if run_id:
            ids.add(run_id)
    return ids


def _plan(repo: DataRepo, local: str, remote_head: str | None) -> _Plan:
    store = repo.store
    if remote_head is None:
        return _Plan(local, _count(store, local, None), reapplied=False)
    if remote_head == local:
        return _Plan(local, 0, reapplied=False)
    base = store.merge_base(local, remote_head)
    if base is None:
        raise PublishError(
            f"the local branch ({local[:12]}) and the remote ({remote_head[:12]}) share no "
            "history; refusing to push"
        )
    if base == local:  # we are behind: nothing of ours to push
        return _Plan(remote_head, 0, reapplied=False)
    if base == remote_head:  # a fast-forward
        return _Plan(local, _count(store, local, remote_head), reapplied=False)
    runs = _chain(store, local, base)
    on_remote = _run_ids_since(store, remote_head, base)
    state_path = f"{repo.prefix}{STATE_FILE}"
    tip, count, skipped = remote_head, 0, []
    for run in runs:
        run_id = run.trailers.get(RUN_ID)
        new = None if run_id and run_id in on_remote else reapply_run(store, run, tip, state_path)
        if new is None:
            skipped.append(run.sha)
        else:
            tip, count = new, count + 1
    return _Plan(tip, count, reapplied=True, skipped=tuple(skipped))


# -- the push loop ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PushAttempt:
    """Passed to ``on_attempt`` before each push is sent."""

    number: int
    remote_head: str | None
    tip: str
    runs: int
    reapplied: bool


@dataclass
class PushReport:
    remote: str
    branch: str
    local_before: str
    status: str = "up-to-date"  # "pushed", "up-to-date" or "fast-forwarded" (local was behind)
    remote_before: str | None = None  # the remote head at the first fetch
    remote_after: str | None = None
    local_after: str | None = None
    runs: int = 0  # commits of ours added to the remote
    reapplied: bool = False
    skipped: list[str] = field(default_factory=list)
    attempts: int = 0  # pushes sent
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "remote": self.remote,
            "branch": self.branch,
            "status": self.status,
            "local_before": self.local_before,
            "local_after": self.local_after,
            "remote_before": self.remote_before,
            "remote_after": self.remote_after,
            "runs": self.runs,
            "reapplied": self.reapplied,
            "skipped": self.skipped,
            "attempts": self.attempts,
            "warnings": self.warnings,
        }


def resolve_remote(store: GitStore, remote: str | None) -> str:
    """A remote name (``git config remote.<name>.url``) or location; default: the
    ``curator.remote`` config, else the remote named ``origin``."""
    if remote is None:
        remote = store.get_config(*REMOTE_CONFIG)
        if remote is None:
            if store.get_config("remote.origin", "url") is None:
                raise NoRemoteError()
            remote = "origin"
    remote = remote.strip()
    if not remote:
        raise NoRemoteError()
    return store.get_config(f"remote.{remote}", "url") or remote


def push_runs(
    repo: DataRepo,
    remote: str,
    branch: str | None = None,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff: float = BACKOFF,
    on_attempt: Callable[[PushAttempt], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Publish ``repo``'s branch to ``branch`` (default: the same name) of ``remote``.

    Raises :class:`PushConflictError` (a real conflict), :class:`PushGaveUpError` (every
    attempt lost the race), :class:`PublishError`, or :class:`curator.gitstore.RemoteError`
    (unreachable). In every failure case the local branch and the remote are unchanged.
    """
    if retries < 0:
        raise ValueError("retries must be >= 0")
    store = repo.store
    if branch is None:
        if not repo.ref.startswith("refs/heads/"):
            raise PublishError(f"{repo.ref} is not a branch: name the remote branch to push to")
        branch = repo.ref.removeprefix("refs/heads/")
    local = repo.head()
    if local is None:
        raise PublishError(f"nothing to push: {repo.ref} has no commits")
    report = PushReport(remote=remote, branch=branch, local_before=local)
    reason = "the remote kept moving"
    for attempt in range(1, retries + 2):
        remote_head = store.fetch(remote, branch)
        if attempt == 1:
            report.remote_before = remote_head
        plan = _plan(repo, local, remote_head)
        report.reapplied, report.skipped = plan.reapplied, list(plan.skipped)
        if plan.tip == remote_head:  # the remote has everything of ours
            report.remote_after = remote_head
            report.status = "up-to-date" if remote_head == local else "fast-forwarded"
            _move_local(repo, report, local, remote_head)
            return report
        if on_attempt is not None:
            on_attempt(PushAttempt(attempt, remote_head, plan.tip, plan.runs, plan.reapplied))
        result = store.push(remote, branch, plan.tip, remote_head)
        report.attempts = attempt
        if result.ok:
            report.status, report.runs, report.remote_after = "pushed", plan.runs, plan.tip
            _move_local(repo, report, local, plan.tip)
            return report
        if result.status is PushStatus.NON_FAST_FORWARD:  # cannot happen: tip descends
            raise PublishError(result.message)
        reason = f"{result.status.value}: {result.message or 'no reason given'}"
        log.info("push attempt %d to %s failed (%s)", attempt, remote, reason)
        if attempt <= retries:
            delay = min(MAX_BACKOFF, backoff * 2 ** (attempt - 1)) * (0.5 + random.random())
            sleep(delay)
    raise PushGaveUpError(remote, retries + 1, reason)


def _move_local(repo: DataRepo, report: PushReport, old: str, new: str) -> None:
    """Move the local branch to what the remote now has (compare-and-swap)."""
    report.local_after = old
    if new == old:
        return
    try:
        repo.store.update_ref(repo.ref, old, new)
    except (RefMovedError, RefLockedError) as exc:
        report.local_after = repo.head()
        report.warnings.append(
            f"the local branch could not follow the remote ({exc}); the next push re-applies "
            "only what the remote lacks"
        )
        return
    report.local_after = new
