"""``curator verify --against``: is a published registry exactly what its commit builds to?

Steps, each of which can refuse (nothing later runs then):

1. read the published ``manifest.json`` (and ``manifest.json.sig``) from the directory or
   URL; the commit to verify is ``--commit`` or, without it, the one that manifest names
   (which must then be in the local data repository: ``curator mirror fetch`` first);
2. **signature**: when ``registry.json`` *at that commit* pins ``signing_keys``, the
   signature must exist and verify over the exact manifest bytes with a pinned key
   (:func:`curator.signing.verify_manifest`); with no keys pinned it is not checked (and
   the outcome says so);
3. **rollback**: the manifest must not be older than the newest one accepted for this
   location before (:mod:`curator.mirror.rollback`), unless ``allow_rollback``;
4. **rebuild** the commit (a full build into a temporary directory) and compare: the
   published manifest must be byte-identical to the rebuilt one, and every published file
   must have the rebuilt file's size and sha256 (all files, or with ``sample`` every root
   file plus that many p2 files chosen at random by the OS's random source, so a mirror
   cannot predict them). A directory is also listed, so files the build does not have show
   up; over HTTP that is impossible.

Every difference is a :class:`~curator.deploy.verify.Mismatch` naming the file and the
expected and actual values. Files are read with ``workers`` threads (one HTTP connection
each at most); each read is bounded by the size the rebuilt manifest expects. Only a fully
clean verification advances the rollback state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from curator.build.builder import build
from curator.build.manifest import (
    MANIFEST_NAME,
    RESERVED_DIR,
    SIGNATURE_NAME,
    FileEntry,
    Manifest,
    ManifestError,
)
from curator.datarepo import DataError, DataRepo
from curator.deploy.verify import Mismatch, Problem
from curator.gitstore import GitStoreError
from curator.mirror.published import FetchError, PublishedSource
from curator.mirror.rollback import Accepted, RollbackError, VerifyState
from curator.signing import MAX_SIGNATURE_BYTES, SignatureError, SigningError, verify_manifest

__all__ = ["MAX_MANIFEST_BYTES", "Outcome", "Refused", "verify_against"]

MAX_MANIFEST_BYTES: Final = 512 * 1024 * 1024


class Refused(Exception):
    """Verification stopped before comparing files; the message says why."""


@dataclass
class Outcome:
    """What :func:`verify_against` found."""

    location: str
    commit: str
    time: str
    signed_by: str | None  # key id of the pinned key that verified the signature
    pinned: int  # signing keys pinned at the commit (0: signature not checked)
    previous: Accepted | None  # the last accepted manifest before this one
    rollback_allowed: bool = False  # an older manifest was checked under --allow-rollback
    mismatches: list[Mismatch] = field(default_factory=list)
    checked: int = 0  # files compared
    total: int = 0  # files in the rebuilt manifest
    rebuild_seconds: float = 0.0
    state_updated: bool = False

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _read(source: PublishedSource, path: str, limit: int) -> bytes | None:
    try:
        return source.get(path, limit)
    except FetchError as exc:
        raise Refused(f"{source.location}: {exc}") from None


def _published_manifest(source: PublishedSource) -> tuple[bytes, Manifest]:
    raw = _read(source, MANIFEST_NAME, MAX_MANIFEST_BYTES)
    if raw is None:
        raise Refused(f"{source.location}: {MANIFEST_NAME} is missing")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise Refused(f"{source.location}: {MANIFEST_NAME} is larger than {MAX_MANIFEST_BYTES}")
    try:
        return raw, Manifest.from_bytes(raw)
    except ManifestError as exc:
        raise Refused(f"{source.location}: {exc}") from None


def _check_signature(
    source: PublishedSource, raw: bytes, keys: list[str], commit: str
) -> str | None:
    if not keys:
        return None
    signature = _read(source, SIGNATURE_NAME, MAX_SIGNATURE_BYTES)
    try:
        return verify_manifest(raw, signature, keys).key_id
    except (SignatureError, SigningError) as exc:
        raise Refused(
            f"{source.location}: {exc} (keys pinned in registry.json at {commit[:12]})"
        ) from None


def _manifest_difference(published: Manifest, rebuilt: Manifest) -> str:
    """What differs between two manifests, in a few words."""
    parts = [
        f"{name} is {getattr(published, name)!r}, the rebuild's {getattr(rebuilt, name)!r}"
        for name in ("commit", "tree", "builder", "time")
        if getattr(published, name) != getattr(rebuilt, name)
    ]
    if published.counts != rebuilt.counts:
        keys = sorted(
            k
            for k in set(published.counts) | set(rebuilt.counts)
            if published.counts.get(k) != rebuilt.counts.get(k)
        )
        parts.append(f"counts differ ({', '.join(keys)})")
    differing = sorted(
        p
        for p in set(published.files) | set(rebuilt.files)
        if published.files.get(p) != rebuilt.files.get(p)
    )
    if differing:
        shown = ", ".join(differing[:5]) + (" ..." if len(differing) > 5 else "")
        parts.append(f"{len(differing)} file entr(y/ies) differ: {shown}")
    if not parts:
        parts.append("same content, other encoding")
    return "differs from the rebuilt manifest: " + "; ".join(parts)


def _choose(files: dict[str, FileEntry], sample: int | None) -> list[str]:
    paths = sorted(files)
    if sample is None:
        return paths
    root = [p for p in paths if "/" not in p]
    rest = [p for p in paths if "/" in p]
    picked = random.SystemRandom().sample(rest, min(sample, len(rest)))
    return sorted([*root, *picked])


def _compare_file(source: PublishedSource, path: str, expected: FileEntry) -> Mismatch | None:
    try:
        data = source.get(path, expected.size)
    except FetchError as exc:
        return Mismatch(path, Problem.UNREADABLE, actual=exc.why)
    if data is None:
        return Mismatch(path, Problem.MISSING)
    if len(data) != expected.size:
        actual = f"more than {expected.size}" if len(data) > expected.size else str(len(data))
        return Mismatch(path, Problem.SIZE, str(expected.size), actual)
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected.sha256:
        return Mismatch(path, Problem.SHA256, expected.sha256, digest)
    return None


def _extra(source: PublishedSource, files: dict[str, FileEntry]) -> list[Mismatch]:
    listed = source.listing()
    if listed is None:
        return []
    skip = {MANIFEST_NAME, SIGNATURE_NAME}
    return [
        Mismatch(p, Problem.EXTRA)
        for p in listed
        if p not in files and p not in skip and not p.startswith(f"{RESERVED_DIR}/")
    ]


def compare_files(
    source: PublishedSource, files: dict[str, FileEntry], paths: Iterable[str], workers: int
) -> list[Mismatch]:
    """Every difference between the published ``paths`` and their entries in ``files``."""

    def one(path: str) -> Mismatch | None:
        return _compare_file(source, path, files[path])

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="verify") as pool:
        found = list(pool.map(one, paths))
    return [m for m in found if m is not None]


def verify_against(
    repo: DataRepo,
    source: PublishedSource,
    state: VerifyState,
    *,
    commit: str | None = None,
    sample: int | None = None,
    workers: int = 16,
    allow_rollback: bool = False,
    work_dir: Path | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Outcome:
    """Verify the build published at ``source`` against a rebuild of ``commit`` (default: the
    commit its manifest names); see the module docstring.

    Raises :class:`Refused` (missing/invalid manifest, another commit, bad signature),
    :class:`~curator.mirror.rollback.RollbackError`, and the builder's errors for a commit
    that does not build; returns an :class:`Outcome` listing every mismatch otherwise. The
    rollback state is saved when everything matched."""
    raw, published = _published_manifest(source)
    wanted = commit or published.commit
    try:
        sha = repo.store.resolve(wanted)
    except GitStoreError as exc:
        raise Refused(
            f"{exc}: the commit is not in the local data repository (run `curator mirror fetch`)"
        ) from None
    if sha is None:
        raise Refused(f"{wanted}: no such commit in the local data repository")
    if published.commit != sha:
        raise Refused(
            f"{source.location} publishes the manifest of commit {published.commit} "
            f"({published.time}), not of {sha}"
        )
    view = repo.view(sha)
    try:
        keys = list(view.config().signing_keys)
    except DataError as exc:
        raise Refused(str(exc)) from None
    signed_by = _check_signature(source, raw, keys, sha)

    offered = Accepted(sha, published.time, hashlib.sha256(raw).hexdigest())
    rolled_back = False
    try:
        previous = state.check(source.location, offered, is_ancestor=repo.store.is_ancestor)
    except RollbackError as exc:
        if not allow_rollback:
            raise
        previous, rolled_back = exc.last, True

    outcome = Outcome(
        location=source.location,
        commit=sha,
        time=published.time,
        signed_by=signed_by,
        pinned=len(keys),
        previous=previous,
        rollback_allowed=rolled_back,
    )
    with tempfile.TemporaryDirectory(prefix="curator-verify-", dir=work_dir) as tmp:
        started = time.monotonic()
        result = build(repo, sha, None, Path(tmp) / "build", full=True)
        outcome.rebuild_seconds = time.monotonic() - started
        rebuilt_raw = (result.path / MANIFEST_NAME).read_bytes()
    rebuilt = Manifest.from_bytes(rebuilt_raw)
    if rebuilt_raw != raw:
        outcome.mismatches.append(
            Mismatch(
                MANIFEST_NAME, Problem.MANIFEST, actual=_manifest_difference(published, rebuilt)
            )
        )
    paths = _choose(rebuilt.files, sample)
    outcome.total = len(rebuilt.files)
    outcome.checked = len(paths)
    outcome.mismatches.extend(compare_files(source, rebuilt.files, paths, workers))
    outcome.mismatches.extend(_extra(source, rebuilt.files))
    outcome.mismatches.sort(key=lambda m: (m.path, m.problem.value))
    if outcome.ok and not rolled_back:
        outcome.state_updated = state.accept(source.location, offered, clock())
        if outcome.state_updated:
            state.save()
    return outcome
