"""The data repository: a git repository plus a path prefix holding the data tree.

This is the curator's view of git: typed reads of ``registry.json``, ``state/sync.json`` and
package records at a pinned commit, and one-commit writes of paths relative to the prefix.
Git itself is behind :mod:`curator.gitstore`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from curator import canonical
from curator.gitstore import GitStore, Snapshot
from curator.layout import (
    REGISTRY_FILE,
    STATE_FILE,
    PackageType,
    normalize_prefix,
    package_path,
    packages_root,
    parse_package_path,
)
from curator.models import PackageRecord, RegistryConfig, SyncState
from curator.records import decode

DEFAULT_PREFIX = "registry-data/"
# git's own `gc --auto` pack limit; past it each sync run consolidates packs (see GitStore.repack)
MAX_PACKS = 50
PREFIX_CONFIG = ("curator", "prefix")


class DataError(Exception):
    """A file in the data tree is missing or does not match its model."""


class NotInitializedError(DataError):
    pass


def resolve_prefix(store: GitStore, prefix: str | None) -> str:
    """``--prefix`` wins, then the repository's ``curator.prefix`` config, then the default."""
    if prefix is not None:
        return normalize_prefix(prefix)
    configured = store.get_config(*PREFIX_CONFIG)
    return normalize_prefix(configured if configured is not None else DEFAULT_PREFIX)


@dataclass(frozen=True)
class DataView:
    """The data tree at one commit."""

    snapshot: Snapshot
    prefix: str

    @property
    def commit(self) -> str:
        return self.snapshot.commit

    def path(self, rel: str) -> str:
        return f"{self.prefix}{rel}"

    def read(self, rel: str) -> bytes | None:
        return self.snapshot.read(self.path(rel))

    def blob_id(self, rel: str) -> str | None:
        return self.snapshot.blob_id(self.path(rel))

    def config(self) -> RegistryConfig:
        raw = self.read(REGISTRY_FILE)
        if raw is None:
            raise NotInitializedError(
                f"{self.path(REGISTRY_FILE)} is missing at {self.commit[:12]}: "
                "not a data repository (run `curator init`, or check --prefix)"
            )
        return _parse(RegistryConfig, raw, self.path(REGISTRY_FILE))

    def state(self) -> SyncState:
        raw = self.read(STATE_FILE)
        return SyncState() if raw is None else _parse(SyncState, raw, self.path(STATE_FILE))

    def record(self, kind: PackageType, slug: str) -> PackageRecord | None:
        rel = package_path(kind, slug)
        raw = self.read(rel)
        if raw is None:
            return None
        try:
            return decode(raw)
        except (ValidationError, ValueError) as exc:
            raise DataError(f"{self.path(rel)}: {exc}") from exc

    def records(self, kind: PackageType) -> Iterator[tuple[str, str]]:
        """Every stored package of a kind as (slug, blob id), sorted by path."""
        root = self.path(packages_root(kind))
        for path, blob in self.snapshot.walk(root):
            parsed = parse_package_path(path[len(self.prefix) :])
            if parsed is not None:
                yield parsed[1], blob


M = TypeVar("M", RegistryConfig, SyncState)


def _parse(model: type[M], raw: bytes, where: str) -> M:
    try:
        return model.model_validate(canonical.loads(raw))
    except (ValidationError, ValueError) as exc:
        raise DataError(f"{where}: {exc}") from exc


class DataRepo:
    """A data repository: git store, prefix inside it, and the ref sync runs commit to."""

    def __init__(self, store: GitStore, prefix: str, ref: str | None = None) -> None:
        self.store = store
        self.prefix = normalize_prefix(prefix)
        self.ref = ref or store.head_ref()

    @classmethod
    def open(
        cls, path: Path | None = None, prefix: str | None = None, ref: str | None = None
    ) -> DataRepo:
        store = GitStore.discover(path or Path.cwd())
        return cls(store, resolve_prefix(store, prefix), ref)

    def head(self) -> str | None:
        return self.store.resolve(self.ref)

    def view(self, commit: str | None = None) -> DataView:
        sha = self.store.resolve(commit) if commit is not None else self.head()
        if sha is None:
            raise NotInitializedError(
                f"{self.ref} has no commits in {self.store.path}: run `curator init`"
            )
        return DataView(self.store.snapshot(sha), self.prefix)

    def commit(
        self,
        *,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        message: str,
        author: str,
        timestamp: int,
    ) -> str | None:
        """One commit of ``changes`` (paths relative to the prefix) on ``self.ref``."""
        return self.store.commit(
            ref=self.ref,
            parent=parent,
            changes={f"{self.prefix}{rel}": data for rel, data in changes.items()},
            message=message,
            author=author,
            timestamp=timestamp,
        )


def maintain(repo: DataRepo, *, max_packs: int = MAX_PACKS) -> int | None:
    """Consolidate packs once there are more than ``max_packs``; the pack count after, or None.

    Every sync run adds one pack; without this, lookups hold ~4 file descriptors per pack and a
    long-running registry would exhaust the descriptor limit after a few hundred runs."""
    if repo.store.pack_count() <= max_packs:
        return None
    return repo.store.repack()


def initial_files(config: RegistryConfig) -> dict[str, bytes]:
    """The files ``curator init`` commits: configuration and an empty sync state."""
    return {
        REGISTRY_FILE: canonical.dumps(config.model_dump(mode="json")),
        STATE_FILE: canonical.dumps(SyncState().model_dump(mode="json")),
    }


def create(
    path: Path,
    config: RegistryConfig,
    *,
    prefix: str = DEFAULT_PREFIX,
    branch: str = "main",
    author: str,
    timestamp: int,
) -> DataRepo:
    """A new bare data repository whose first commit holds ``registry.json`` and the state.

    The prefix is remembered in the repository's git config (``curator.prefix``)."""
    store = GitStore.init(path, bare=True, branch=branch)
    repo = DataRepo(store, normalize_prefix(prefix))
    store.set_config(*PREFIX_CONFIG, repo.prefix)
    repo.commit(
        parent=None,
        changes=initial_files(config),
        message="init: new data repository\n",
        author=author,
        timestamp=timestamp,
    )
    return repo
