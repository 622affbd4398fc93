"""Local build storage: immutable build directories and the atomically switched ``current``.

Layout of the storage directory (``--storage DIR``, default ``storage/``)::

    repository/
      builds/<id>/                  one complete build each (manifest.json written last)
      builds/.tmp-<id>-<random>/    a build being written; renamed to builds/<id> when complete
      current -> builds/<id>        relative symlink to the promoted build
      history.json                  promotions and rollbacks (written atomically)
      .validated.json               files the last validation read (identity -> sha256)
      .lock                         serialises promote / rollback / cleanup between processes

Guarantees:

- A build is written into a temporary directory and renamed into ``builds/<id>`` only when
  complete (:meth:`LocalStorage.commit_build`), so a crashed build never leaves a half-written
  ``builds/<id>``. Its leftovers (``.tmp-*``) are removed by :meth:`LocalStorage.cleanup`
  once they are a day old.
- ``current`` is switched by creating a temporary symlink and ``os.replace``-ing it over the
  old one: readers see the old build or the new one, never nothing.
- A build that fails :func:`~curator.build.manifest.validate_build` is never promoted
  (:class:`~curator.build.manifest.InvalidBuildError` names every problem).
- ``history.json`` keeps a promotion stack: ``rollback()`` without an id returns to the build
  promoted before the current one, and repeated rollbacks walk further back.
- ``cleanup(keep)`` never removes the current build nor the one a rollback would return to.

Build ids sort by time: ``<UTC yyyymmddThhmmssZ>-<commit[:12]>`` (:func:`make_build_id`).
This module owns that directory; it never talks to the network.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator import canonical
from curator.build.manifest import (
    MANIFEST_NAME,
    CheckedBuild,
    FileCache,
    InvalidBuildError,
    ManifestError,
    atomic_write,
    check_build,
    fsync_dir,
    read_manifest,
    validate_build,
)

REPOSITORY = "repository"
BUILDS = "builds"
CURRENT = "current"
HISTORY = "history.json"
VALIDATED = ".validated.json"  # FileCache of the last validation (see LocalStorage.validate)
TMP_PREFIX = ".tmp-"
HISTORY_LIMIT = 100
TEMP_MAX_AGE = dt.timedelta(hours=24)

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_COMMIT_RE = re.compile(r"[0-9a-f]{40}")

Clock = Callable[[], dt.datetime]

__all__ = [
    "BuildExistsError",
    "BuildInfo",
    "InvalidBuildError",
    "LocalStorage",
    "NoSuchBuildError",
    "StorageError",
    "make_build_id",
]


class StorageError(Exception):
    """The storage directory is missing something or is inconsistent."""


class NoSuchBuildError(StorageError):
    def __init__(self, build_id: str) -> None:
        super().__init__(f"no build {build_id!r} in the storage directory")
        self.build_id = build_id


class BuildExistsError(StorageError):
    def __init__(self, build_id: str) -> None:
        super().__init__(f"build {build_id!r} already exists")
        self.build_id = build_id


def make_build_id(commit: str, when: dt.datetime) -> str:
    """``<UTC yyyymmddThhmmssZ>-<commit[:12]>``: ids sort by build time."""
    if not _COMMIT_RE.fullmatch(commit):
        raise ValueError(f"expected a 40-hex commit SHA, got {commit!r}")
    if when.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous: give a timezone-aware time")
    return f"{when.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{commit[:12]}"


def check_build_id(build_id: str) -> str:
    if not _ID_RE.fullmatch(build_id):
        raise ValueError(f"invalid build id {build_id!r}: expected [A-Za-z0-9][A-Za-z0-9._-]*")
    return build_id


@dataclass(frozen=True)
class BuildInfo:
    """One build directory. ``valid`` is None unless validation was asked for."""

    id: str
    path: Path
    commit: str | None
    time: str | None
    valid: bool | None = None
    problems: list[str] = field(default_factory=list)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalStorage:
    """The storage directory; see the module docstring."""

    def __init__(self, root: Path, *, clock: Clock = _utcnow) -> None:
        self.root = root
        self.repository = root / REPOSITORY
        self.builds_dir = self.repository / BUILDS
        self.current_link = self.repository / CURRENT
        self.history_path = self.repository / HISTORY
        self.validated_path = self.repository / VALIDATED
        self._clock = clock

    # --- writing builds ------------------------------------------------------------------

    def build_path(self, build_id: str) -> Path:
        return self.builds_dir / check_build_id(build_id)

    def new_build_dir(self, build_id: str) -> Path:
        """A fresh temporary directory to write build ``build_id`` into."""
        if self.build_path(build_id).exists():
            raise BuildExistsError(build_id)
        self.builds_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{build_id}-", dir=self.builds_dir))

    def commit_build(self, tmp: Path, build_id: str) -> Path:
        """Rename a complete temporary build into ``builds/<id>``; returns the final path.

        The build must have its ``manifest.json`` (written last by a builder). Validation is
        left to :meth:`promote`; an invalid build may be kept for inspection.
        """
        final = self.build_path(build_id)
        if tmp.parent.resolve() != self.builds_dir.resolve() or not tmp.name.startswith(TMP_PREFIX):
            raise StorageError(f"{tmp} is not a temporary build directory of {self.builds_dir}")
        if not (tmp / MANIFEST_NAME).is_file():
            raise StorageError(f"{tmp}: {MANIFEST_NAME} missing: the build is incomplete")
        if final.exists() or final.is_symlink():
            raise BuildExistsError(build_id)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        os.rename(tmp, final)
        fsync_dir(self.builds_dir)
        return final

    @contextlib.contextmanager
    def building(self, build_id: str) -> Iterator[Path]:
        """``with storage.building(id) as tmp: write...`` commits on success, else discards."""
        tmp = self.new_build_dir(build_id)
        try:
            yield tmp
            self.commit_build(tmp, build_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    # --- reading -------------------------------------------------------------------------

    def build_ids(self) -> list[str]:
        """Ids of committed builds, oldest first (temporary directories excluded)."""
        try:
            entries = list(os.scandir(self.builds_dir))
        except FileNotFoundError:
            return []
        return sorted(
            e.name for e in entries if e.is_dir(follow_symlinks=False) and _ID_RE.fullmatch(e.name)
        )

    def info(self, build_id: str, *, validate: bool = False) -> BuildInfo:
        path = self.build_path(build_id)
        if not path.is_dir():
            raise NoSuchBuildError(build_id)
        commit: str | None = None
        when: str | None = None
        with contextlib.suppress(ManifestError):
            manifest = read_manifest(path)
            commit, when = manifest.commit, manifest.time
        if not validate:
            return BuildInfo(build_id, path, commit, when)
        problems = validate_build(path)
        return BuildInfo(build_id, path, commit, when, not problems, problems)

    def validate(self, build_id: str) -> list[str]:
        """:func:`validate_build` of a stored build, re-reading only files the previous
        validation has not seen (a build hard-links its unchanged files from the one before,
        so promoting an incremental build costs its changed files plus one ``lstat`` per
        file). The cache keeps the files of the build validated last."""
        return self._check(build_id).problems

    def _check(self, build_id: str) -> CheckedBuild:
        cache = self.file_cache()
        checked = check_build(self.build_path(build_id), cache=cache)
        self.keep_file_cache(cache)
        return checked

    def file_cache(self) -> FileCache:
        """The files the last validation read (for :func:`validate_build`'s ``cache``)."""
        return FileCache.load(self.validated_path)

    def keep_file_cache(self, cache: FileCache) -> None:
        """Save what a validation with ``cache`` saw (nothing if it saw nothing)."""
        if cache.seen and self.repository.is_dir():
            with contextlib.suppress(OSError):  # a read-only storage validates, just slower
                cache.save(self.validated_path)

    def builds(self, *, validate: bool = False) -> list[BuildInfo]:
        """Every committed build, oldest first; ``validate`` hashes every file (slow)."""
        return [self.info(b, validate=validate) for b in self.build_ids()]

    def current(self) -> str | None:
        """The id of the promoted build, or None if nothing was promoted yet."""
        try:
            target = os.readlink(self.current_link)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"{self.current_link}: not a symlink ({exc.strerror})") from exc
        parts = target.split("/")
        if len(parts) != 2 or parts[0] != BUILDS or not _ID_RE.fullmatch(parts[1]):
            raise StorageError(f"{self.current_link} points to {target!r}, not builds/<id>")
        return parts[1]

    def current_path(self) -> Path | None:
        build_id = self.current()
        return None if build_id is None else self.build_path(build_id)

    def newest_valid(self) -> str | None:
        """The newest build that passes validation (newer invalid ones are skipped)."""
        for build_id in reversed(self.build_ids()):
            if not self.validate(build_id):
                return build_id
        return None

    def last_built_commit(self) -> str | None:
        """The commit of the newest build with a readable manifest (for incremental builds)."""
        for build_id in reversed(self.build_ids()):
            try:
                return read_manifest(self.build_path(build_id)).commit
            except ManifestError:
                continue
        return None

    def find_commit(self, commit: str) -> list[str]:
        """Ids of the builds made from ``commit`` (full SHA or a prefix), oldest first."""
        found = []
        for build_id in self.build_ids():
            try:
                if read_manifest(self.build_path(build_id)).commit.startswith(commit):
                    found.append(build_id)
            except ManifestError:
                continue
        return found

    # --- promotion -----------------------------------------------------------------------

    def promote(self, build_id: str) -> BuildInfo:
        """Validate ``build_id`` and switch ``current`` to it atomically."""
        with self._locked():
            info = self._switch(build_id)
            history = self._read_history()
            stack: list[str] = history["stack"]
            if not stack or stack[-1] != build_id:
                stack.append(build_id)
            self._log(history, "promote", build_id)
            self._write_history(history)
            return info

    def previous(self) -> str | None:
        """The build :meth:`rollback` without an id would return to (None if there is none)."""
        return self._rollback_target(self._read_history()["stack"], self.current())

    def rollback(self, build_id: str | None = None) -> BuildInfo:
        """Switch ``current`` back: to ``build_id``, or to the build promoted before it."""
        with self._locked():
            history = self._read_history()
            stack: list[str] = history["stack"]
            current = self.current()
            if build_id is None:
                target = self._rollback_target(stack, current)
                if target is None:
                    raise StorageError("nothing to roll back to: no earlier promoted build")
            else:
                target = check_build_id(build_id)
            info = self._switch(target)
            if target in stack:
                del stack[len(stack) - stack[::-1].index(target) :]
            else:
                stack.append(target)
            self._log(history, "rollback", target, previous=current)
            self._write_history(history)
            return info

    def _rollback_target(self, stack: list[str], current: str | None) -> str | None:
        candidates = list(stack)
        while candidates and candidates[-1] == current:
            candidates.pop()
        for build_id in reversed(candidates):
            if build_id != current and self.build_path(build_id).is_dir():
                return build_id
        return None

    def _switch(self, build_id: str) -> BuildInfo:
        path = self.build_path(build_id)
        if not path.is_dir():
            raise NoSuchBuildError(build_id)
        checked = self._check(build_id)
        if checked.problems or checked.manifest is None:
            raise InvalidBuildError(f"build {build_id}", checked.problems)
        manifest = checked.manifest
        tmp = self.repository / f".{CURRENT}-{secrets.token_hex(6)}"
        os.symlink(f"{BUILDS}/{build_id}", tmp)
        try:
            os.replace(tmp, self.current_link)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(self.repository)
        return BuildInfo(build_id, path, manifest.commit, manifest.time, True, [])

    # --- cleanup -------------------------------------------------------------------------

    def cleanup(self, keep: int) -> list[str]:
        """Delete all but the ``keep`` newest builds; returns the removed ids, oldest first.

        The current build and the one a rollback would return to are always kept, and so
        are temporary directories younger than a day (a build may be writing into them).
        """
        if keep < 0:
            raise ValueError("keep must be >= 0")
        with self._locked():
            history = self._read_history()
            current = self.current()
            protected = {
                b for b in (current, self._rollback_target(history["stack"], current)) if b
            }
            ids = self.build_ids()
            newest = set(ids[len(ids) - keep :]) if keep else set()
            removed = [b for b in ids if b not in newest and b not in protected]
            for build_id in removed:
                self._remove_tree(self.build_path(build_id))
            self._remove_stale_temp()
            if removed:
                gone = set(removed)
                history["stack"] = [b for b in history["stack"] if b not in gone]
                for build_id in removed:
                    self._log(history, "cleanup", build_id)
                self._write_history(history)
            return removed

    def _remove_tree(self, path: Path) -> None:
        # Rename first so a half-deleted build is never visible under its id.
        doomed = path.with_name(f"{TMP_PREFIX}deleting-{path.name}-{secrets.token_hex(4)}")
        os.rename(path, doomed)
        shutil.rmtree(doomed)

    def _remove_stale_temp(self) -> None:
        try:
            entries = list(os.scandir(self.builds_dir))
        except FileNotFoundError:
            return
        limit = time.time() - TEMP_MAX_AGE.total_seconds()
        for entry in entries:
            if not entry.name.startswith(TMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(f"{TMP_PREFIX}deleting-") or entry.stat().st_mtime < limit:
                shutil.rmtree(entry.path, ignore_errors=True)

    # --- history and locking -------------------------------------------------------------

    def history(self) -> list[dict[str, Any]]:
        """Promotion events, oldest first: ``{"action", "build", "time", ["previous"]}``."""
        events: list[dict[str, Any]] = self._read_history()["events"]
        return events

    def _read_history(self) -> dict[str, Any]:
        try:
            data = canonical.loads(self.history_path.read_bytes())
        except FileNotFoundError:
            return {"format": 1, "stack": [], "events": []}
        except ValueError as exc:
            raise StorageError(f"{self.history_path}: not valid JSON ({exc})") from exc
        if not (
            isinstance(data, dict)
            and isinstance(data.get("stack"), list)
            and isinstance(data.get("events"), list)
        ):
            raise StorageError(f"{self.history_path}: expected {{'stack': [...], 'events': [...]}}")
        return data

    def _log(self, history: dict[str, Any], action: str, build_id: str, **extra: Any) -> None:
        event = {"action": action, "build": build_id, "time": _iso(self._clock())}
        event.update({k: v for k, v in extra.items() if v is not None})
        history["events"].append(event)

    def _write_history(self, history: dict[str, Any]) -> None:
        history["events"] = history["events"][-HISTORY_LIMIT:]
        history["stack"] = history["stack"][-HISTORY_LIMIT:]
        atomic_write(self.history_path, canonical.dumps(history))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.repository.mkdir(parents=True, exist_ok=True)
        with open(self.repository / ".lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
