"""The promoted build as the server sees it, re-resolved on every request.

:class:`BuildReader` reads the ``repository/current`` symlink on each call (``readlink`` +
``lstat``: a few microseconds) and keeps one :class:`Build` per resolved target, so a deploy
or rollback is served from the next request on, without a restart. A :class:`Build` holds
the parsed manifest, the read-only search index and a cache of rendered pages: a build is
immutable, so its pages change only when another build is promoted.

``Last-Modified`` of repository files is the time ``current`` was last switched (the
symlink's mtime), not the commit time: it only moves forward, so a client holding a newer
file never gets a wrong ``304`` after a rollback. Precise revalidation uses the ``ETag``,
the file's sha256 from the manifest.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from curator.build.manifest import Manifest, ManifestError, read_manifest
from curator.build.search_index import SEARCH_INDEX_NAME
from curator.storage.local import BUILDS, LocalStorage, check_build_id
from server.search import SearchIndex, SearchIndexError


class PageCache:
    """A bounded LRU of rendered responses (key -> body bytes), safe across threads;
    ``hits`` and ``misses`` count the answers of :meth:`get`."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, ...]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, ...], body: bytes) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Build:
    """One promoted build: immutable once loaded."""

    id: str
    path: Path
    manifest: Manifest
    promoted_at: float  # mtime of the ``current`` symlink, Unix seconds
    search: SearchIndex | None
    search_error: str | None
    pages: PageCache = field(repr=False)

    def etag(self, rel: str) -> str | None:
        entry = self.manifest.files.get(rel)
        return None if entry is None else f'"{entry.sha256}"'


NOTHING_PROMOTED: Final = "no build has been promoted yet"


class NoBuildError(Exception):
    """Nothing is promoted (the message is :data:`NOTHING_PROMOTED`), or the promoted build
    cannot be read (the message names the file and the error)."""


class BuildReader:
    """Resolves ``repository/current`` per request; see the module docstring."""

    def __init__(self, storage: Path, *, page_cache_size: int = 2048) -> None:
        self.storage = LocalStorage(storage)
        self._page_cache_size = page_cache_size
        self._cached: tuple[tuple[str, int], Build] | None = None
        self._lock = threading.Lock()

    def _resolve(self) -> tuple[str, int] | None:
        link = self.storage.current_link
        try:
            target = os.readlink(link)
            mtime_ns = os.lstat(link).st_mtime_ns
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise NoBuildError(f"{link}: {exc.strerror}") from exc
        return target, mtime_ns

    def current(self) -> Build:
        """The promoted build; raises :class:`NoBuildError` if there is none."""
        key = self._resolve()
        if key is None:
            raise NoBuildError(NOTHING_PROMOTED)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] == key:
                return cached[1]
            build = self._load(*key)
            old, self._cached = self._cached, (key, build)
        # The previous build's connection closes when the last request using it is done.
        del old
        return build

    def _load(self, target: str, mtime_ns: int) -> Build:
        parts = target.split("/")
        if len(parts) != 2 or parts[0] != BUILDS:
            raise NoBuildError(f"current points to {target!r}, not builds/<id>")
        try:
            build_id = check_build_id(parts[1])
        except ValueError as exc:
            raise NoBuildError(str(exc)) from exc
        path = self.storage.build_path(build_id)
        try:
            manifest = read_manifest(path)
        except ManifestError as exc:
            raise NoBuildError(str(exc)) from exc
        search: SearchIndex | None = None
        error: str | None = None
        index_path = path / SEARCH_INDEX_NAME
        if index_path.is_file():
            try:
                search = SearchIndex(index_path)
            except SearchIndexError as exc:
                error = str(exc)
        else:
            error = f"the build has no {SEARCH_INDEX_NAME}"
        return Build(
            id=build_id,
            path=path,
            manifest=manifest,
            promoted_at=mtime_ns / 1e9,
            search=search,
            search_error=error,
            pages=PageCache(self._page_cache_size),
        )
