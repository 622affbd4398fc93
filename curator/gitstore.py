"""The git store: the curator's only door to git (with its private helper ``_gitpack``).

It owns opening and creating repositories, resolving revisions, read-only snapshots of the
tree at a commit, first-parent history with trailers, tree diffs, repository config, and
writing one commit per sync run straight into the object store: no working tree, no index,
all new objects in ONE pack, then a compare-and-swap update of the ref. With its private
helper ``_gitremote`` it also fetches one branch from another repository and pushes a commit
to one, never rewriting the remote's history (see :meth:`GitStore.push`).

Costs follow the size of a change, not of the repository: a commit reads and rewrites only
the trees on the changed paths, and :meth:`GitStore.changed_paths` skips equal subtrees by
id. Every commit adds a pack; lookups do not slow down with their number (see
``_gitpack.PackLookup``), but a maintenance job should still call :meth:`GitStore.repack`
now and then to bound open files, memory and disk use.

Paths are repository-relative, ``/``-separated strings; object ids are SHA-1 hex strings.
Nothing outside this module (and ``_gitpack``, ``_gitremote``) imports dulwich.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Self

from dulwich.errors import NotGitRepository
from dulwich.file import FileLocked
from dulwich.graph import find_merge_base
from dulwich.objects import ObjectID, RawObjectID, parse_tree
from dulwich.refs import Ref, check_ref_format
from dulwich.repo import Repo

from curator import _gitpack as gp
from curator import _gitremote as gr

__all__ = [
    "CommitInfo",
    "GitStore",
    "GitStoreError",
    "InvalidPathError",
    "NotARepositoryError",
    "PushResult",
    "PushStatus",
    "RefLockedError",
    "RefMovedError",
    "RemoteError",
    "Snapshot",
    "UnknownRevisionError",
    "blob_id",
    "parse_trailers",
    "split_path",
]

_HEX = re.compile(r"[0-9a-f]{4,40}")
_SHA = re.compile(r"[0-9a-f]{40}")
_IDENT = re.compile(r"[^<>\n]*[^<>\s] <[^<>\n]*>")
_IDENT_TIME = re.compile(r"(.*>) (-?\d+) ([+-])(\d\d)(\d\d)")
_TRAILER = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)")
_TREE_CACHE_LIMIT = 50_000  # trees; cleared when full
_RESERVED_NAMES = {"", ".", ".."}


class GitStoreError(Exception):
    """Base class of every error raised by the git store."""


class NotARepositoryError(GitStoreError):
    def __init__(self, path: Path, *, searched_parents: bool = False) -> None:
        where = " (nor are any of its parents)" if searched_parents else ""
        super().__init__(f"{path} is not a git repository{where}")
        self.path = path


class UnknownRevisionError(GitStoreError):
    def __init__(self, rev: str, why: str = "no such ref or commit") -> None:
        super().__init__(f"unknown revision {rev!r}: {why}")
        self.rev = rev


class RefMovedError(GitStoreError):
    def __init__(self, ref: str, expected: str | None, actual: str | None) -> None:
        super().__init__(
            f"ref {ref} moved from {expected or '(none)'} to {actual or '(none)'} while this "
            "run was in progress; nothing was committed"
        )
        self.ref = ref
        self.expected = expected
        self.actual = actual


class RefLockedError(GitStoreError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"ref {ref} is locked by another writer ({ref}.lock exists); nothing was committed. "
            "If no other git process is running, remove the stale lock file."
        )
        self.ref = ref


class RemoteError(GitStoreError):
    """A remote repository could not be reached, is not a repository, or broke the protocol."""

    def __init__(self, remote: str, why: str) -> None:
        super().__init__(f"remote {remote}: {why}")
        self.remote = remote
        self.why = why


class InvalidPathError(GitStoreError, ValueError):
    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"invalid path {path!r}: {why}")
        self.path = path


def blob_id(data: bytes) -> str:
    """The git blob id (SHA-1 hex) of ``data``, as ``git hash-object`` computes it."""
    return gp.hash_object(gp.BLOB, data)


def split_path(path: str) -> list[str]:
    """``"a/b/c.json"`` -> ``["a", "b", "c.json"]``; raise :class:`InvalidPathError`."""
    if "\0" in path:
        raise InvalidPathError(path, "contains NUL")
    if path.startswith("/"):
        raise InvalidPathError(path, "must be relative (no leading '/')")
    parts = path.split("/")
    for part in parts:
        if part in _RESERVED_NAMES:
            raise InvalidPathError(path, "empty, '.' or '..' component")
        if part.lower() == ".git":
            raise InvalidPathError(path, "'.git' component")
    return parts


def _dir_parts(path: str) -> list[str]:
    """Like :func:`split_path` for a directory; ``""`` (or ``"/"``-trimmed) is the root."""
    path = path.strip("/")
    return split_path(path) if path else []


@dataclass(frozen=True)
class CommitInfo:
    """One commit as read back by :meth:`GitStore.log`. ``tz_offset`` is seconds east of UTC."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: str
    timestamp: int
    tz_offset: int
    message: str
    subject: str
    trailers: dict[str, str]


def parse_trailers(message: str) -> dict[str, str]:
    """``Key: value`` lines of the last paragraph, if it is not the subject and all trailers.

    Continuation lines (starting with whitespace) extend the previous value; a repeated key
    keeps its last value.
    """
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", message.strip("\n")) if p.strip()]
    if len(paragraphs) < 2:
        return {}
    trailers: dict[str, str] = {}
    last: str | None = None
    for line in paragraphs[-1].splitlines():
        if line[:1].isspace() and last is not None:
            trailers[last] = f"{trailers[last]} {line.strip()}".strip()
            continue
        match = _TRAILER.fullmatch(line.rstrip())
        if match is None:
            return {}
        last = match.group(1)
        trailers[last] = match.group(2)
    return trailers


class PushStatus(StrEnum):
    """How a :meth:`GitStore.push` ended."""

    PUSHED = "pushed"  # the remote branch moved from the expected value to the new commit
    UP_TO_DATE = "up-to-date"  # the remote branch already was the new commit
    STALE = "stale"  # the remote branch is not at the expected value; nothing was sent
    NON_FAST_FORWARD = "non-fast-forward"  # the new commit does not descend from the expected
    REJECTED = "rejected"  # the remote refused the update (it moved meanwhile, a lock, a hook)


@dataclass(frozen=True)
class PushResult:
    """One push attempt. ``remote_old`` is the remote branch's value when it started."""

    status: PushStatus
    new: str
    remote_old: str | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (PushStatus.PUSHED, PushStatus.UP_TO_DATE)


Entries = dict[str, tuple[int, str]]
_Changes = dict[str, "bytes | _Changes | None"]


class Snapshot:
    """A read-only view of the tree at one commit. Trees read are cached (per store)."""

    __slots__ = ("_commit", "_store", "_tree")

    def __init__(self, store: GitStore, commit: str, tree: str) -> None:
        self._store = store
        self._commit = commit
        self._tree = tree

    @property
    def commit(self) -> str:
        return self._commit

    @property
    def tree(self) -> str:
        """The root tree id."""
        return self._tree

    def __repr__(self) -> str:
        return f"Snapshot(commit={self.commit!r})"

    def _entry(self, path: str) -> tuple[int, str] | None:
        parts = _dir_parts(path)
        if not parts:
            return (gp.MODE_TREE, self.tree)
        tree = self.tree
        for part in parts[:-1]:
            entry = self._store._tree(tree).get(part)
            if entry is None or not gp.is_tree_mode(entry[0]):
                return None
            tree = entry[1]
        return self._store._tree(tree).get(parts[-1])

    def blob_id(self, path: str) -> str | None:
        entry = self._entry(path)
        return entry[1] if entry is not None and gp.is_blob_mode(entry[0]) else None

    def read(self, path: str) -> bytes | None:
        """Content of the blob at ``path``; ``None`` if missing or not a blob."""
        sha = self.blob_id(path)
        return None if sha is None else self._store._read_object(sha, gp.BLOB)

    def list_dir(self, path: str = "") -> Entries:
        """``name -> (mode, sha)`` of the directory at ``path`` (``""`` = root); ``{}`` if none."""
        entry = self._entry(path)
        if entry is None or not gp.is_tree_mode(entry[0]):
            return {}
        return dict(self._store._tree(entry[1]))

    def walk(self, prefix: str = "") -> Iterator[tuple[str, str]]:
        """Every blob under the directory ``prefix`` as ``(path, blob id)``, sorted by path."""
        entry = self._entry(prefix)
        if entry is None:
            return
        base = "/".join(_dir_parts(prefix))
        if gp.is_blob_mode(entry[0]):
            yield base, entry[1]
        elif gp.is_tree_mode(entry[0]):
            yield from self._store._walk_tree(entry[1], base)


class GitStore:
    """A git repository (bare or not) seen as a store of files committed in one go."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        if repo.object_store.object_format.name != "sha1":
            repo.close()
            raise GitStoreError(f"{repo.path}: only SHA-1 repositories are supported")
        self.path = Path(os.fsdecode(repo.path))
        self.git_dir = Path(repo.controldir())
        self.bare: bool = repo.bare
        self._objects_dir = Path(os.fsdecode(repo.object_store.path))
        self._trees: dict[str, Entries] = {}
        self._lookup = gp.PackLookup(repo.object_store)
        self._finalizer = weakref.finalize(self, repo.close)

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, *, bare: bool = True, branch: str = "main") -> GitStore:
        """Create a repository at ``path`` with HEAD on the unborn ``refs/heads/<branch>``."""
        path = Path(path)
        if (path / ".git").exists() or ((path / "objects").is_dir() and (path / "HEAD").exists()):
            raise GitStoreError(f"{path} already holds a git repository")
        if not check_ref_format(Ref(f"refs/heads/{branch}".encode())):
            raise GitStoreError(f"invalid branch name {branch!r}")
        path.mkdir(parents=True, exist_ok=True)
        init = Repo.init_bare if bare else Repo.init
        return cls(init(str(path), default_branch=branch.encode()))

    @classmethod
    def open(cls, path: Path) -> GitStore:
        """Open the repository at ``path`` (a bare repository, or a working tree's root)."""
        try:
            return cls(Repo(str(path)))
        except NotGitRepository as exc:
            raise NotARepositoryError(Path(path)) from exc

    @classmethod
    def discover(cls, start: Path) -> GitStore:
        """The repository containing ``start`` (walking up its parents)."""
        try:
            return cls(Repo.discover(str(start)))
        except NotGitRepository as exc:
            raise NotARepositoryError(Path(start), searched_parents=True) from exc

    def close(self) -> None:
        """Release open pack files. The store must not be used afterwards."""
        self._finalizer()
        self._trees.clear()
        self._lookup.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitStore({str(self.path)!r})"

    # -- refs and revisions --------------------------------------------------------------

    def head_ref(self) -> str:
        """What HEAD points to, e.g. ``"refs/heads/main"``; ``"HEAD"`` when detached."""
        names, _sha = self._repo.refs.follow(Ref(b"HEAD"))
        return names[-1].decode() if names else "HEAD"

    def _read_ref(self, name: str) -> str | None:
        _names, sha = self._repo.refs.follow(Ref(name.encode()))
        return sha.decode() if sha is not None else None

    def resolve(self, rev: str | None = None) -> str | None:
        """The commit sha named by ``rev`` (default ``HEAD``); ``None`` for an unborn branch.

        ``rev`` is ``HEAD``, a full ref name, a short one (``main``, ``v1``: git's lookup
        order), or a full or abbreviated (>= 4 hex digits) commit id. Annotated tags are
        peeled. ``HEAD``'s unborn branch and any missing ``refs/heads/*`` resolve to ``None``;
        anything else that does not exist raises :class:`UnknownRevisionError`.
        """
        rev = "HEAD" if rev is None else rev.strip()
        if not rev:
            raise UnknownRevisionError(rev, "empty revision")
        for name in self._ref_candidates(rev):
            sha = self._read_ref(name)
            if sha is not None:
                return self._peel_to_commit(sha, rev)
        head = self.head_ref()
        if rev in ("HEAD", head, head.removeprefix("refs/heads/")):
            return None
        if rev.startswith("refs/heads/") and check_ref_format(Ref(rev.encode())):
            return None
        if _HEX.fullmatch(rev.lower()):
            return self._peel_to_commit(self._expand_hex(rev.lower()), rev)
        raise UnknownRevisionError(rev)

    def _ref_candidates(self, rev: str) -> list[str]:
        if rev == "HEAD" or rev.startswith("refs/"):
            names = [rev]
        else:
            names = [
                f"refs/{rev}",
                f"refs/tags/{rev}",
                f"refs/heads/{rev}",
                f"refs/remotes/{rev}",
                f"refs/remotes/{rev}/HEAD",
            ]
        return [n for n in names if n == "HEAD" or check_ref_format(Ref(n.encode()))]

    def _expand_hex(self, prefix: str) -> str:
        if len(prefix) == 40:
            return prefix
        found = {sha.decode() for sha in self._repo.object_store.iter_prefix(prefix.encode())}
        commits = [sha for sha in found if self._object_type(sha) in (gp.COMMIT, gp.TAG)]
        if len(commits) > 1:
            raise UnknownRevisionError(prefix, f"ambiguous ({len(commits)} commits match)")
        if not commits:
            raise UnknownRevisionError(prefix)
        return commits[0]

    def _peel_to_commit(self, sha: str, rev: str) -> str:
        for _ in range(10):
            try:
                type_num, raw = self._get_raw(sha)
            except KeyError:
                raise UnknownRevisionError(rev, f"object {sha} is missing") from None
            if type_num == gp.COMMIT:
                return sha
            if type_num != gp.TAG:
                kind = gp.TYPE_NAMES.get(type_num, b"object").decode()
                raise UnknownRevisionError(rev, f"{sha} is a {kind}, not a commit")
            sha = _header(raw, b"object") or ""
        raise UnknownRevisionError(rev, "too many nested tags")

    # -- objects -------------------------------------------------------------------------

    def _get_raw(self, sha: str) -> tuple[int, bytes]:
        """Type and content of an object; ``KeyError`` if missing."""
        return self._lookup.get_raw(RawObjectID(bytes.fromhex(sha)))

    def _object_type(self, sha: str) -> int:
        return self._get_raw(sha)[0]

    def _read_object(self, sha: str, expected: int) -> bytes:
        try:
            type_num, raw = self._get_raw(sha)
        except KeyError:
            raise GitStoreError(f"{self.path}: object {sha} is missing") from None
        if type_num != expected:
            raise GitStoreError(f"{self.path}: object {sha} has type {type_num}, not {expected}")
        return raw

    def _tree(self, sha: str) -> Entries:
        """Entries of a tree object, cached (trees are immutable). Callers must not mutate."""
        entries = self._trees.get(sha)
        if entries is None:
            raw = self._read_object(sha, gp.TREE)
            entries = {
                gp.decode_name(name): (mode, hexsha.decode())
                for name, mode, hexsha in parse_tree(raw, 20)
            }
            if len(self._trees) >= _TREE_CACHE_LIMIT:
                self._trees.clear()
            self._trees[sha] = entries
        return entries

    def _walk_tree(self, sha: str, base: str) -> Iterator[tuple[str, str]]:
        entries = self._tree(sha)
        for name, (mode, child) in sorted(entries.items(), key=_path_order):
            path = f"{base}/{name}" if base else name
            if gp.is_tree_mode(mode):
                yield from self._walk_tree(child, path)
            elif gp.is_blob_mode(mode):
                yield path, child

    def _commit_object(self, sha: str) -> _CommitFields:
        return _parse_commit(self._read_object(sha, gp.COMMIT))

    def _commit_tree(self, sha: str) -> str:
        if not _SHA.fullmatch(sha):
            raise UnknownRevisionError(sha, "expected a full commit sha (see resolve())")
        try:
            return self._commit_object(sha).tree
        except GitStoreError:
            raise UnknownRevisionError(sha, "not a commit in this repository") from None

    def snapshot(self, commit: str) -> Snapshot:
        """The tree at ``commit`` (a full commit sha; use :meth:`resolve` for other names)."""
        return Snapshot(self, commit, self._commit_tree(commit))

    # -- history and diffs ---------------------------------------------------------------

    def log(self, rev: str | None = None, *, max_count: int | None = None) -> Iterator[CommitInfo]:
        """First-parent history from ``rev`` (default HEAD), newest first.

        ``rev`` is resolved at once (so a bad one raises here); commits are read lazily.
        """
        return self._first_parents(self.resolve(rev), max_count)

    def _first_parents(self, sha: str | None, max_count: int | None) -> Iterator[CommitInfo]:
        count = 0
        while sha is not None and (max_count is None or count < max_count):
            commit = self._commit_object(sha)
            yield CommitInfo(
                sha=sha,
                tree=commit.tree,
                parents=commit.parents,
                author=commit.author,
                timestamp=commit.timestamp,
                tz_offset=commit.tz_offset,
                message=commit.message,
                subject=commit.message.split("\n", 1)[0].strip(),
                trailers=parse_trailers(commit.message),
            )
            count += 1
            sha = commit.parents[0] if commit.parents else None

    def changed_paths(self, old: str | None, new: str, prefix: str = "") -> list[tuple[str, str]]:
        """Blobs that differ between commits ``old`` and ``new`` under directory ``prefix``.

        Returns sorted ``(path, "A" | "M" | "D")``; ``old=None`` means every blob is added.
        Equal subtrees are skipped by id, so the cost follows the size of the change.
        """
        parts = _dir_parts(prefix)
        a = self._subtree(self._commit_tree(old), parts) if old is not None else None
        b = self._subtree(self._commit_tree(new), parts)
        out: list[tuple[str, str]] = []
        self._diff(a, b, "/".join(parts), out)
        out.sort()
        return out

    def _subtree(self, tree: str, parts: list[str]) -> str | None:
        for part in parts:
            entry = self._tree(tree).get(part)
            if entry is None or not gp.is_tree_mode(entry[0]):
                return None
            tree = entry[1]
        return tree

    def _diff(self, a: str | None, b: str | None, base: str, out: list[tuple[str, str]]) -> None:
        if a == b:
            return
        old = self._tree(a) if a is not None else {}
        new = self._tree(b) if b is not None else {}
        for name in old.keys() | new.keys():
            path = f"{base}/{name}" if base else name
            x, y = old.get(name), new.get(name)
            if x == y:
                continue
            x_tree = x[1] if x is not None and gp.is_tree_mode(x[0]) else None
            y_tree = y[1] if y is not None and gp.is_tree_mode(y[0]) else None
            x_blob = x is not None and gp.is_blob_mode(x[0])
            y_blob = y is not None and gp.is_blob_mode(y[0])
            if x_tree is not None or y_tree is not None:
                self._diff(x_tree, y_tree, path, out)
            if x_blob and y_blob:
                out.append((path, "M"))
            elif x_blob:
                out.append((path, "D"))
            elif y_blob:
                out.append((path, "A"))

    # -- writing -------------------------------------------------------------------------

    def commit(
        self,
        *,
        ref: str,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        message: str,
        author: str,
        timestamp: int,
        tz_offset: int = 0,
    ) -> str | None:
        """Commit ``changes`` (path -> content, or ``None`` to delete) on top of ``parent``.

        Only the trees on changed paths are read and rewritten; empty directories vanish.
        Returns ``None`` and writes nothing if the tree would not change. Otherwise all new
        objects go into one pack and ``ref`` moves from ``parent`` (``None``: the ref must not
        exist) to the new commit, or :class:`RefMovedError` is raised. Author and committer
        are both ``author`` (``"Name <email>"``) at ``timestamp`` (seconds since the epoch)
        and ``tz_offset`` (seconds east of UTC), so equal inputs give an equal commit id.
        """
        _check_ref(ref)
        _check_commit_args(author, timestamp, tz_offset, message)
        actual = self._read_ref(ref)
        if actual != parent:
            raise RefMovedError(ref, parent, actual)
        sha = self._write_commit(parent, changes, message, author, timestamp, tz_offset)
        if sha is not None:
            self._update_ref(ref, parent, sha)
        return sha

    def create_commit(
        self,
        *,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        message: str,
        author: str,
        timestamp: int,
        tz_offset: int = 0,
    ) -> str | None:
        """Like :meth:`commit`, but write the commit (one pack) WITHOUT moving any ref.

        Returns the new commit's id, or ``None`` if the tree would not change. The commit is
        unreferenced until :meth:`update_ref` or a push names it (``git gc`` keeps it for two
        weeks either way).
        """
        _check_commit_args(author, timestamp, tz_offset, message)
        if parent is not None:
            self._commit_tree(parent)  # must be a commit of this repository
        return self._write_commit(parent, changes, message, author, timestamp, tz_offset)

    def _write_commit(
        self,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        message: str,
        author: str,
        timestamp: int,
        tz_offset: int,
    ) -> str | None:
        grouped = _group_changes(changes)
        pending: dict[str, gp.RawObject] = {}
        old_tree = self._commit_tree(parent) if parent is not None else None
        new_tree = self._build_tree(old_tree, grouped, "", pending)
        if new_tree == old_tree or (old_tree is None and new_tree is None):
            return None
        if new_tree is None:
            new_tree = gp.EMPTY_TREE
            pending[gp.EMPTY_TREE] = (gp.TREE, b"")
        raw_commit = _encode_commit(new_tree, parent, author, timestamp, tz_offset, message)
        sha = gp.hash_object(gp.COMMIT, raw_commit)
        pending[sha] = (gp.COMMIT, raw_commit)
        gp.write_pack(self._objects_dir, pending)
        return sha

    def _build_tree(
        self, tree: str | None, changes: _Changes, base: str, pending: dict[str, gp.RawObject]
    ) -> str | None:
        """New id of ``tree`` with ``changes`` applied (``None`` if it ends up empty)."""
        if tree is not None and all(c is not None for c in changes.values()):
            patched = self._patch_tree(tree, changes, base, pending)
            if patched is not None:
                return patched
        old = self._tree(tree) if tree is not None else {}
        new = dict(old)
        for name, change in changes.items():
            path = f"{base}{name}"
            entry = old.get(name)
            is_dir = entry is not None and gp.is_tree_mode(entry[0])
            if isinstance(change, dict):
                if entry is not None and not is_dir:
                    raise InvalidPathError(path, "is a file, cannot hold other paths")
                sub = self._build_tree(entry[1] if entry else None, change, f"{path}/", pending)
                if sub is None:
                    new.pop(name, None)
                else:
                    new[name] = (gp.MODE_TREE, sub)
            elif is_dir:
                raise InvalidPathError(path, "is a directory, not a file")
            elif change is None:
                new.pop(name, None)
            else:
                sha = blob_id(change)
                new[name] = (gp.MODE_FILE, sha)
                if entry != new[name]:
                    pending[sha] = (gp.BLOB, change)
        if new == old and tree is not None:
            return tree
        if not new:
            return None
        # entries parsed from a tree are in tree order; replacing values keeps that order
        raw = gp.encode_tree(new, ordered=tree is not None and new.keys() <= old.keys())
        sha = gp.hash_object(gp.TREE, raw)
        pending[sha] = (gp.TREE, raw)
        return sha

    def _patch_tree(
        self, tree: str, changes: _Changes, base: str, pending: dict[str, gp.RawObject]
    ) -> str | None:
        """Replace the ids of existing entries in the raw bytes of ``tree``.

        The common incremental case (new content for files that exist, inside directories
        that exist) then costs a few byte searches per tree instead of parsing and
        re-encoding every entry, so a commit costs the same however many files share its
        shard or shards share its directory. Returns None (the caller takes the general path)
        when a name is not an existing entry of the right kind (a new file, a deletion, a file
        that became a directory, or a subtree that would end up empty)."""
        raw = self._read_object(tree, gp.TREE)
        found: list[tuple[int, str, bytes | _Changes]] = []
        for name, change in changes.items():
            if change is None:
                return None
            mode = b"100644 " if isinstance(change, bytes) else b"40000 "
            needle = mode + name.encode() + b"\0"
            at = raw.find(needle)
            # an entry starts the tree or follows the 20-byte id ending the previous entry
            while at > 0 and (at < 21 or raw[at - 21] != 0):
                at = raw.find(needle, at + 1)
            if at < 0:
                return None
            found.append((at + len(needle), name, change))
        buf = bytearray(raw)
        blobs: dict[str, bytes] = {}
        for start, name, change in found:
            if isinstance(change, bytes):
                new_id = blob_id(change)
                if raw[start : start + 20] != bytes.fromhex(new_id):
                    blobs[new_id] = change
            else:
                sub = self._build_tree(
                    raw[start : start + 20].hex(), change, f"{base}{name}/", pending
                )
                if sub is None:
                    return None  # an emptied directory leaves this tree: the general path
                new_id = sub
            buf[start : start + 20] = bytes.fromhex(new_id)
        if buf == raw:
            return tree
        for sha, data in blobs.items():
            pending[sha] = (gp.BLOB, data)
        raw_new = bytes(buf)
        sha = gp.hash_object(gp.TREE, raw_new)
        pending[sha] = (gp.TREE, raw_new)
        return sha

    def update_ref(self, ref: str, old: str | None, new: str) -> None:
        """Move ``ref`` from ``old`` (``None``: it must not exist) to the commit ``new``.

        A compare-and-swap: :class:`RefMovedError` if ``ref`` is not at ``old``,
        :class:`RefLockedError` if another writer holds its lock."""
        _check_ref(ref)
        self._commit_tree(new)  # must be a commit of this repository
        self._update_ref(ref, old, new)

    def _update_ref(self, ref: str, parent: str | None, new: str) -> None:
        refs = self._repo.refs
        name = Ref(ref.encode())
        target = ObjectID(new.encode())
        try:
            if parent is None:
                ok = refs.add_if_new(name, target)
            else:
                ok = refs.set_if_equals(name, ObjectID(parent.encode()), target)
        except FileLocked:
            raise RefLockedError(ref) from None
        if not ok:
            raise RefMovedError(ref, parent, self._read_ref(ref))

    # -- ancestry ------------------------------------------------------------------------

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of commits ``a`` and ``b`` (``None``: unrelated histories).

        Walks back from both by commit time, as ``git merge-base`` does, so the cost follows
        the commits since they diverged. With several best candidates (criss-cross merges)
        one of them is returned."""
        for sha in (a, b):
            self._commit_tree(sha)  # both must be commits of this repository
        bases = find_merge_base(self._repo, [ObjectID(a.encode()), ObjectID(b.encode())])
        return min(sha.decode() for sha in bases) if bases else None

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """Whether ``ancestor`` is ``commit`` or one of its ancestors (False if either is not a
        commit of this repository)."""
        try:
            return ancestor == commit or self.merge_base(ancestor, commit) == ancestor
        except UnknownRevisionError:
            return False

    # -- remotes ---------------------------------------------------------------------------

    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch ``branch`` of ``remote`` (a path, ``file://``, ``git://``, ``ssh://`` or
        ``http(s)://`` URL) into this repository's object store; return its commit id, or
        ``None`` if the remote has no such branch. No local ref changes."""
        ref = _branch_ref(branch)
        try:
            sha = gr.fetch(self._repo, remote, ref)
        except gr.TransportError as exc:
            raise RemoteError(exc.remote, exc.why) from None
        if sha is not None:
            self._commit_tree(sha)  # the fetch must have brought the commit
        return sha

    def push(self, remote: str, branch: str, new: str, expected_old: str | None) -> PushResult:
        """Move ``branch`` on ``remote`` from ``expected_old`` (``None``: absent) to ``new``.

        Never forced: a ``new`` that does not descend from ``expected_old`` is refused here
        (:attr:`PushStatus.NON_FAST_FORWARD`, the remote is not contacted); a remote whose
        branch is not at ``expected_old`` gets no update (:attr:`PushStatus.STALE`); and the
        update itself is a compare-and-swap on the remote (a concurrent pusher makes it
        :attr:`PushStatus.REJECTED`). Fetch, rebuild on the new remote head and try again.
        """
        ref = _branch_ref(branch)
        self._commit_tree(new)  # must be a commit of this repository
        if expected_old is not None and not self.is_ancestor(expected_old, new):
            return PushResult(
                PushStatus.NON_FAST_FORWARD,
                new,
                expected_old,
                f"{new[:12]} does not descend from {expected_old[:12]}; refusing to "
                "rewrite the remote's history (fetch and re-apply instead)",
            )
        chain = self._linear_chain(expected_old, new) if expected_old is not None else None
        objects = None if chain is None else (lambda: self._objects_added(chain))
        try:
            outcome = gr.send(self._repo, remote, ref, new, expected_old, objects)
        except gr.TransportError as exc:
            raise RemoteError(exc.remote, exc.why) from None
        if outcome.remote_old == new and (not outcome.sent or outcome.error is None):
            return PushResult(PushStatus.UP_TO_DATE, new, outcome.remote_old)
        if not outcome.sent:
            return PushResult(
                PushStatus.STALE,
                new,
                outcome.remote_old,
                f"{ref} is at {(outcome.remote_old or '(none)')[:12]}, expected "
                f"{(expected_old or '(none)')[:12]}",
            )
        if outcome.error is not None:
            return PushResult(PushStatus.REJECTED, new, outcome.remote_old, outcome.error)
        return PushResult(PushStatus.PUSHED, new, outcome.remote_old)

    def _linear_chain(self, old: str, new: str) -> list[tuple[str, str]] | None:
        """``(commit, parent)`` pairs from ``new`` back to ``old`` if they form a single-parent
        chain of at most ``_MAX_CHAIN`` commits; otherwise ``None``."""
        chain: list[tuple[str, str]] = []
        sha = new
        while sha != old:
            parents = self._commit_object(sha).parents
            if len(parents) != 1 or len(chain) >= _MAX_CHAIN:
                return None
            chain.append((sha, parents[0]))
            sha = parents[0]
        return chain

    def _objects_added(self, chain: list[tuple[str, str]]) -> list[tuple[str, int, bytes]]:
        """Every object the commits of ``chain`` add to their parents' trees, as
        ``(id, type, raw)``: what a remote that has the oldest parent lacks. The cost follows
        the size of the changes, not of the trees."""
        out: dict[str, tuple[str, int, bytes]] = {}
        for commit, parent in chain:
            out[commit] = (commit, gp.COMMIT, self._read_object(commit, gp.COMMIT))
            self._tree_added(self._commit_tree(parent), self._commit_tree(commit), out)
        return list(out.values())

    def _tree_added(
        self, old: str | None, new: str, out: dict[str, tuple[str, int, bytes]]
    ) -> None:
        if old == new or new in out:
            return
        out[new] = (new, gp.TREE, self._read_object(new, gp.TREE))
        before = self._tree(old) if old is not None else {}
        for name, (mode, sha) in self._tree(new).items():
            was = before.get(name)
            if was == (mode, sha):
                continue
            if gp.is_tree_mode(mode):
                sub = was[1] if was is not None and gp.is_tree_mode(was[0]) else None
                self._tree_added(sub, sha, out)
            elif gp.is_blob_mode(mode) and sha not in out:
                out[sha] = (sha, gp.BLOB, self._read_object(sha, gp.BLOB))

    # -- config and maintenance ----------------------------------------------------------

    def get_config(self, section: str, name: str) -> str | None:
        """``git config <section>.<name>`` of this repository (``"a.b"`` = subsection b)."""
        try:
            value = self._repo.get_config().get(_section(section), name.encode())
        except KeyError:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def set_config(self, section: str, name: str, value: str) -> None:
        config = self._repo.get_config()
        config.set(_section(section), name.encode(), value.encode())
        config.write_to_path()

    def pack_count(self) -> int:
        """Number of indexed packs (one per commit until :meth:`repack`)."""
        return len(list((self._objects_dir / "pack").glob("*.idx")))

    def repack(self, *, full: bool = False, use_git: bool | None = None) -> int:
        """Consolidate packs so lookups stay fast; return the number of packs left.

        Every sync run adds one pack. Lookups stay fast regardless, but once read each pack
        holds about three file descriptors (its ``.idx`` mapped by dulwich, its ``.pack``
        mapped by :class:`_gitpack.PackLookup`), which exhausts a default ``ulimit -n`` of
        1024 at ~300 packs, and packs without deltas
        take ~2x the disk. So a maintenance job (or the sync command after its commit) should
        call this when :meth:`pack_count` exceeds ~50 (git's own ``gc --auto`` limit); never
        per commit. With the git CLI (``use_git`` None or True):

        - default: ``git repack -d --geometric=2`` rolls recent small packs into one and
          leaves big old ones alone; cost follows the packs it rolls up (~1 s for 50 runs of
          120 files next to a 60,000-file pack), and the pack count stays logarithmic;
        - ``full=True``: ``git gc``, one delta-compressed pack; cost follows the whole
          repository (~5 s for 60,000 files from scratch, ~1 s when deltas already exist).

        Both keep every object a concurrent writer may still reference (git's grace period).
        Without git, dulwich's repack writes one pack holding every object, all in memory.
        Temporaries of killed writers older than an hour are removed too.
        """
        git = shutil.which("git") if use_git is not False else None
        if use_git and git is None:
            raise GitStoreError("git is not installed")
        self._lookup.clear()
        self._repo.object_store.close()
        if git is not None:
            args = ["gc", "--quiet"] if full else ["repack", "-d", "-q", "--geometric=2"]
            result = subprocess.run(
                [git, f"--git-dir={self.git_dir}", *args],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise GitStoreError(f"git {args[0]} failed: {result.stderr.strip()}")
        else:
            self._repo.object_store.repack()
        gp.remove_stale_temporaries(self._objects_dir)
        self._repo.object_store.close()
        return self.pack_count()


def _section(section: str) -> tuple[bytes, ...]:
    return tuple(s.encode() for s in section.split(".", 1))


# Longest single-parent chain a push lists objects for itself (beyond: dulwich's own walk).
_MAX_CHAIN = 10_000


def _path_order(item: tuple[str, tuple[int, str]]) -> str:
    name, (mode, _sha) = item
    return f"{name}/" if gp.is_tree_mode(mode) else name


def _check_ref(ref: str) -> None:
    if not ref.startswith("refs/") or not check_ref_format(Ref(ref.encode())):
        raise GitStoreError(f"invalid ref {ref!r}: expected a full name like refs/heads/main")


def _branch_ref(branch: str) -> str:
    """``"main"`` (or ``"refs/heads/main"``) -> ``"refs/heads/main"``, checked."""
    ref = branch if branch.startswith("refs/heads/") else f"refs/heads/{branch}"
    if not check_ref_format(Ref(ref.encode())):
        raise GitStoreError(f"invalid branch name {branch!r}")
    return ref


def _check_commit_args(author: str, timestamp: int, tz_offset: int, message: str) -> None:
    if not _IDENT.fullmatch(author):
        raise GitStoreError(f"invalid author {author!r}: expected 'Name <email>'")
    if timestamp < 0:
        raise GitStoreError(f"invalid timestamp {timestamp}")
    if tz_offset % 60 or abs(tz_offset) >= 24 * 3600:
        raise GitStoreError(f"invalid tz_offset {tz_offset}: whole minutes, under a day")
    if "\0" in message:
        raise GitStoreError("commit message contains NUL")


def _group_changes(changes: Mapping[str, bytes | None]) -> _Changes:
    """Nest ``{"a/b": x, "a/c": y}`` as ``{"a": {"b": x, "c": y}}``, checking every path."""
    root: _Changes = {}
    for path, data in changes.items():
        if data is not None and not isinstance(data, bytes):
            raise TypeError(f"{path}: content must be bytes or None, not {type(data).__name__}")
        *dirs, leaf = split_path(path)
        node = root
        for part in dirs:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise InvalidPathError(path, "also given as a file in this change set")
            node = child
        if isinstance(node.get(leaf), dict):
            raise InvalidPathError(path, "also given as a directory in this change set")
        node[leaf] = data
    return root


@dataclass(frozen=True)
class _CommitFields:
    tree: str
    parents: tuple[str, ...]
    author: str
    timestamp: int
    tz_offset: int
    message: str


def _header(raw: bytes, key: bytes) -> str | None:
    """First value of header ``key`` in a commit or tag object."""
    for line in raw.split(b"\n\n", 1)[0].split(b"\n"):
        if line.startswith(key + b" "):
            return line[len(key) + 1 :].decode("utf-8", "replace")
    return None


def _parse_commit(raw: bytes) -> _CommitFields:
    head, _, body = raw.partition(b"\n\n")
    tree, parents, author = "", [], ""
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = value.decode("ascii")
        elif key == b"parent":
            parents.append(value.decode("ascii"))
        elif key == b"author":
            author = value.decode("utf-8", "replace")
    match = _IDENT_TIME.fullmatch(author)
    if match is None:
        return _CommitFields(tree, tuple(parents), author, 0, 0, body.decode("utf-8", "replace"))
    ident, seconds, sign, hours, minutes = match.groups()
    offset = (int(hours) * 3600 + int(minutes) * 60) * (-1 if sign == "-" else 1)
    return _CommitFields(
        tree=tree,
        parents=tuple(parents),
        author=ident,
        timestamp=int(seconds),
        tz_offset=offset,
        message=body.decode("utf-8", "replace"),
    )


def _encode_commit(
    tree: str, parent: str | None, author: str, timestamp: int, tz_offset: int, message: str
) -> bytes:
    sign = "-" if tz_offset < 0 else "+"
    minutes = abs(tz_offset) // 60
    ident = f"{author} {timestamp} {sign}{minutes // 60:02d}{minutes % 60:02d}"
    lines = [f"tree {tree}"]
    if parent is not None:
        lines.append(f"parent {parent}")
    lines += [f"author {ident}", f"committer {ident}", ""]
    body = message if message.endswith("\n") else message + "\n"
    return ("\n".join(lines) + "\n" + body).encode()
