"""``curator mirror clone`` and ``curator mirror fetch``: a bare copy of a data repository.

A mirror is a bare git repository holding one branch of the upstream data repository, with
three settings in its git config:

- ``curator.remote``: where it was cloned from (any location :meth:`GitStore.fetch` takes:
  a path, ``file://``, ``git://``, ``ssh://``, ``http(s)://``);
- ``curator.branch``: the branch it follows;
- ``curator.prefix``: where the data tree lives inside it (the same setting
  :func:`curator.datarepo.resolve_prefix` reads), given with ``--prefix`` or found at clone
  time (``registry-data/registry.json``, else ``registry.json`` at the root).

So every other command works on a mirror as on the original (``curator --repo MIRROR build``).
``fetch`` only ever fast-forwards: an upstream that rewrote its history (or moved its branch
back) is refused and described, and the mirror keeps what it had, so a mirror is evidence of
what was published.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from curator.datarepo import DEFAULT_PREFIX, PREFIX_CONFIG, DataError, DataRepo
from curator.gitstore import GitStore, GitStoreError
from curator.layout import REGISTRY_FILE, normalize_prefix

__all__ = [
    "BRANCH_CONFIG",
    "REMOTE_CONFIG",
    "CloneResult",
    "FetchResult",
    "HistoryRewrittenError",
    "MirrorError",
    "clone_mirror",
    "fetch_mirror",
]

REMOTE_CONFIG: Final = ("curator", "remote")
BRANCH_CONFIG: Final = ("curator", "branch")
_MAX_COUNT: Final = 100_000  # commits counted in a fast-forward before giving up counting


class MirrorError(DataError):
    """The mirror cannot be made or updated (the message says why)."""


class HistoryRewrittenError(MirrorError):
    """The upstream branch does not descend from the mirror's: refused, nothing changed."""

    def __init__(self, remote: str, branch: str, local: str, upstream: str, base: str | None):
        self.local, self.upstream, self.base = local, upstream, base
        if base == upstream:
            what = (
                f"the upstream {branch} went back to {upstream[:12]}, an ancestor of the "
                f"mirror's {local[:12]}: refusing a rollback"
            )
        elif base is None:
            what = (
                f"the upstream {branch} ({upstream[:12]}) shares no history with the "
                f"mirror's {local[:12]}: refusing to replace it"
            )
        else:
            what = (
                f"the upstream {branch} ({upstream[:12]}) does not descend from the mirror's "
                f"{local[:12]} (they share history up to {base[:12]}): the upstream rewrote "
                "its history; refusing to follow"
            )
        super().__init__(
            f"{remote}: {what}. The mirror stays at {local[:12]}; inspect the upstream, and "
            "clone it again to accept the new history"
        )


@dataclass(frozen=True)
class CloneResult:
    path: Path
    remote: str
    branch: str
    commit: str
    prefix: str


@dataclass(frozen=True)
class FetchResult:
    remote: str
    branch: str
    old: str | None
    new: str
    commits: int  # commits the branch moved forward by (first-parent); 0: up to date

    @property
    def updated(self) -> bool:
        return self.old != self.new


def _branch_ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def _find_prefix(store: GitStore, commit: str, prefix: str | None) -> str:
    snapshot = store.snapshot(commit)
    if prefix is not None:
        chosen = normalize_prefix(prefix)
        if snapshot.read(f"{chosen}{REGISTRY_FILE}") is None:
            raise MirrorError(
                f"{chosen}{REGISTRY_FILE} is missing at {commit[:12]}: not a data repository "
                "under that prefix (check --prefix)"
            )
        return chosen
    for candidate in (DEFAULT_PREFIX, ""):
        if snapshot.read(f"{candidate}{REGISTRY_FILE}") is not None:
            return candidate
    raise MirrorError(
        f"neither {DEFAULT_PREFIX}{REGISTRY_FILE} nor {REGISTRY_FILE} exists at "
        f"{commit[:12]}: not a data repository (give --prefix)"
    )


def _check_target(directory: Path) -> bool:
    """Whether ``directory`` must be created (False: it exists and is empty)."""
    if not directory.exists() and not directory.is_symlink():
        return True
    if not directory.is_dir() or any(directory.iterdir()):
        raise MirrorError(f"{directory}: exists and is not an empty directory")
    return False


def clone_mirror(
    remote: str, directory: Path, *, branch: str = "main", prefix: str | None = None
) -> CloneResult:
    """Clone ``branch`` of ``remote`` into a new bare repository at ``directory``.

    The data tree must be there (its ``registry.json`` parses). On any failure nothing is
    left behind. Raises :class:`MirrorError` or :class:`~curator.gitstore.GitStoreError`
    (:class:`~curator.gitstore.RemoteError` when the remote cannot be read)."""
    created = _check_target(directory)
    try:
        with GitStore.init(directory, bare=True, branch=branch) as store:
            sha = store.fetch(remote, branch)
            if sha is None:
                raise MirrorError(f"{remote}: has no branch {branch!r}")
            chosen = _find_prefix(store, sha, prefix)
            DataRepo(store, chosen).view(sha).config()  # a parsable registry.json
            store.update_ref(_branch_ref(branch), None, sha)
            store.set_config(*PREFIX_CONFIG, chosen)
            store.set_config(*REMOTE_CONFIG, remote)
            store.set_config(*BRANCH_CONFIG, branch)
    except BaseException:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            for child in list(directory.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    return CloneResult(directory, remote, branch, sha, chosen)


def _count(store: GitStore, old: str, new: str) -> int:
    count = 0
    for info in store.log(new):
        if info.sha == old or count >= _MAX_COUNT:
            break
        count += 1
    return count


def fetch_mirror(
    store: GitStore, *, remote: str | None = None, branch: str | None = None
) -> FetchResult:
    """Fetch the mirror's branch from its remote (``curator.remote`` unless ``remote`` is
    given) and fast-forward it. :class:`HistoryRewrittenError` when the upstream branch does
    not descend from the mirror's (nothing changes then), :class:`MirrorError` when the
    repository is not a mirror or the remote lacks the branch."""
    remote = remote or store.get_config(*REMOTE_CONFIG)
    if not remote:
        raise MirrorError(
            f"{store.path}: not a mirror (no curator.remote in its git config): give --remote, "
            "or make one with `curator mirror clone`"
        )
    branch = branch or store.get_config(*BRANCH_CONFIG)
    if not branch:
        head = store.head_ref()
        if not head.startswith("refs/heads/"):
            raise MirrorError(f"{store.path}: HEAD is detached; give --branch")
        branch = head.removeprefix("refs/heads/")
    ref = _branch_ref(branch)
    old = store.resolve(ref)
    new = store.fetch(remote, branch)
    if new is None:
        raise MirrorError(f"{remote}: has no branch {branch!r}")
    if old == new:
        return FetchResult(remote, branch, old, new, 0)
    if old is None:
        store.update_ref(ref, None, new)
        return FetchResult(remote, branch, None, new, _count(store, "", new))
    if not store.is_ancestor(old, new):
        try:
            base = store.merge_base(old, new)
        except GitStoreError:
            base = None
        raise HistoryRewrittenError(remote, branch, old, new, base)
    store.update_ref(ref, old, new)
    return FetchResult(remote, branch, old, new, _count(store, old, new))
