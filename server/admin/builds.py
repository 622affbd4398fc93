"""The builds page's data: every build in local storage with its manifest facts and its
validation status, and the promote / roll back actions.

Builds are immutable, so what is read from a build directory (manifest facts, the result of
:func:`~curator.build.manifest.validate_build`, which hashes every file) is cached per
build, keyed by the manifest's inode and mtime (a build removed and remade under the same
id is read again). A page view validates builds not seen before within a time budget; the
rest show as "not checked yet" until a later view. Promote and roll back go through
:class:`~curator.storage.local.LocalStorage`, which validates again and never switches to
an invalid build.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from curator.build.manifest import MANIFEST_NAME, ManifestError, read_manifest, validate_build
from curator.storage.local import BuildInfo, LocalStorage, StorageError

VALIDATION_BUDGET: Final = 2.0  # seconds of validation per page view
MAX_PROBLEMS: Final = 20


@dataclass(frozen=True)
class BuildFacts:
    commit: str | None
    time: str | None
    counts: dict[str, int]
    error: str | None  # the manifest could not be read


@dataclass(frozen=True)
class BuildRow:
    id: str
    commit: str | None
    time: str | None
    counts: dict[str, int]
    status: str  # "valid", "invalid", "unchecked"
    problems: list[str] = field(default_factory=list)
    current: bool = False
    previous: bool = False  # the build a rollback without an id returns to


class BuildsView:
    def __init__(
        self,
        storage: LocalStorage,
        *,
        budget: float = VALIDATION_BUDGET,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self._budget = budget
        self._monotonic = monotonic
        self._facts: dict[tuple[str, int, int], BuildFacts] = {}
        self._problems: dict[tuple[str, int, int], list[str]] = {}
        self._lock = threading.Lock()

    def _key(self, build_id: str) -> tuple[str, int, int]:
        try:
            st = os.stat(self.storage.build_path(build_id) / MANIFEST_NAME)
        except OSError:
            return (build_id, 0, 0)
        return (build_id, st.st_ino, st.st_mtime_ns)

    def _read_facts(self, build_id: str) -> BuildFacts:
        try:
            manifest = read_manifest(self.storage.build_path(build_id))
        except (ManifestError, OSError) as exc:
            return BuildFacts(None, None, {}, str(exc))
        return BuildFacts(manifest.commit, manifest.time, dict(manifest.counts), None)

    def problems(self, build_id: str) -> list[str]:
        """Validation problems of a build (cached; [] means valid)."""
        key = self._key(build_id)
        with self._lock:
            found = self._problems.get(key)
        if found is None:
            found = validate_build(self.storage.build_path(build_id))
            with self._lock:
                self._problems[key] = found
        return found

    def rows(self) -> list[BuildRow]:
        """Every build, newest first."""
        try:
            current = self.storage.current()
        except StorageError:
            current = None
        try:
            previous = self.storage.previous()
        except StorageError:
            previous = None
        deadline = self._monotonic() + self._budget
        rows: list[BuildRow] = []
        for build_id in reversed(self.storage.build_ids()):
            key = self._key(build_id)
            with self._lock:
                facts = self._facts.get(key)
                problems = self._problems.get(key)
            if facts is None:
                facts = self._read_facts(build_id)
                with self._lock:
                    self._facts[key] = facts
            if problems is None and (build_id == current or self._monotonic() < deadline):
                problems = self.problems(build_id)
            status = "unchecked" if problems is None else "invalid" if problems else "valid"
            rows.append(
                BuildRow(
                    id=build_id,
                    commit=facts.commit,
                    time=facts.time,
                    counts=facts.counts,
                    status=status,
                    problems=(problems or [])[:MAX_PROBLEMS],
                    current=build_id == current,
                    previous=build_id == previous,
                )
            )
        return rows

    def promote(self, build_id: str) -> BuildInfo:
        """Switch ``current`` to ``build_id`` (validated first; see LocalStorage.promote)."""
        return self.storage.promote(build_id)

    def rollback(self, build_id: str | None = None) -> BuildInfo:
        """Switch back to ``build_id`` or to the build promoted before the current one."""
        return self.storage.rollback(build_id)
