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
4. **reference**: the manifest the commit builds to. When the local storage holds a build
   of the commit (``builds/<id>``, the id :func:`~curator.build.builder.build` gives it) that
   validates (:func:`~curator.build.manifest.check_build` with the storage's
   :class:`~curator.build.manifest.FileCache`, as a promotion does), whose manifest names
   this commit, tree, commit time and builder version and is canonically encoded, its
   manifest is used: builds are reproducible, so it is byte for byte what a rebuild gives,
   and validation ties every entry to the files. Otherwise (or without a storage) the commit
   is rebuilt in full into a temporary directory, and the outcome says why a stored build
   was not trusted;
5. **compare**: the published manifest must be byte-identical to the reference, and every
   published file must have the size and sha256 the reference lists (all files, or with
   ``sample`` every root file plus that many p2 files chosen at random by the OS's random
   source, so a mirror cannot predict them). A directory is also listed, so files the build
   does not have show up; over HTTP that is impossible.

Only the reference *manifest* is compared with, so a stored build is trusted as far as the
storage is: whoever can write it could also have changed the build and its manifest to
agree. Without a storage (``curator verify --rebuild``) nothing but the data repository
and this code is trusted.

Every difference is a :class:`~curator.deploy.verify.Mismatch` naming the file and the
expected and actual values. Files are read with ``workers`` threads (one HTTP connection
each at most); each read is bounded by the size the reference manifest expects. Only a
fully clean verification advances the rollback state.
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
    BUILDER,
    MANIFEST_NAME,
    RESERVED_DIR,
    SIGNATURE_NAME,
    FileEntry,
    Manifest,
    ManifestError,
    check_build,
    format_time,
)
from curator.datarepo import DataError, DataRepo
from curator.deploy.verify import Mismatch, Problem
from curator.gitstore import GitStoreError
from curator.mirror.published import FetchError, PublishedSource
from curator.mirror.rollback import Accepted, RollbackError, VerifyState
from curator.signing import MAX_SIGNATURE_BYTES, SignatureError, SigningError, verify_manifest
from curator.storage.local import LocalStorage, make_build_id

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
    total: int = 0  # files in the reference manifest
    reference_build: str | None = None  # the stored build used as reference (None: rebuilt)
    untrusted_build: str | None = None  # a stored build of the commit that was not used...
    untrusted_reason: str | None = None  # ... and why (the commit was rebuilt instead)
    reference_seconds: float = 0.0  # validating the stored build, or rebuilding
    state_updated: bool = False

    @property
    def rebuilt(self) -> bool:
        return self.reference_build is None

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


@dataclass(frozen=True)
class StoredReference:
    """A stored build of the commit: its manifest (and its bytes) when it can stand in for a
    rebuild, else both are None and ``reason`` says why not."""

    build_id: str
    manifest: Manifest | None
    raw: bytes | None
    reason: str | None = None


def _header_problem(manifest: Manifest, commit: str, tree: str, when: str) -> str | None:
    """Why ``manifest`` is not what a rebuild of ``commit`` by this builder names, if so."""
    for name, expected in (
        ("commit", commit),
        ("tree", tree),
        ("time", when),
        ("builder", BUILDER),
    ):
        actual = getattr(manifest, name)
        if actual != expected:
            return f"its manifest names {name} {actual!r}, a rebuild gives {expected!r}"
    return None


def stored_reference(storage: LocalStorage, repo: DataRepo, commit: str) -> StoredReference | None:
    """The build of ``commit`` in ``storage`` (None if there is none) and whether its
    manifest is exactly what a rebuild gives: the build validates (with the storage's
    validation cache, as a promotion does), and its manifest names this commit, tree,
    commit time and builder version in the canonical encoding."""
    view = repo.view(commit)
    commit_time = next(repo.store.log(view.commit, max_count=1)).timestamp
    build_id = make_build_id(view.commit, dt.datetime.fromtimestamp(commit_time, dt.UTC))
    path = storage.build_path(build_id)
    if not path.is_dir():
        return None
    try:
        cache = storage.file_cache()
        checked = check_build(path, cache=cache)
        storage.keep_file_cache(cache)
    except OSError as exc:
        return StoredReference(build_id, None, None, f"unreadable ({exc})")
    if checked.problems or checked.manifest is None or checked.manifest_raw is None:
        problems = checked.problems or ["manifest unreadable"]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return StoredReference(build_id, None, None, f"it fails validation: {problems[0]}{more}")
    wrong = _header_problem(
        checked.manifest, view.commit, view.snapshot.tree, format_time(commit_time)
    )
    if wrong is not None:
        return StoredReference(build_id, None, None, wrong)
    if checked.manifest.to_bytes() != checked.manifest_raw:
        return StoredReference(
            build_id, None, None, f"its {MANIFEST_NAME} is not canonically encoded"
        )
    return StoredReference(build_id, checked.manifest, checked.manifest_raw)


def _rebuild(repo: DataRepo, commit: str, work_dir: Path | None) -> bytes:
    """The manifest of a full build of ``commit`` into a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="curator-verify-", dir=work_dir) as tmp:
        result = build(repo, commit, None, Path(tmp) / "build", full=True)
        return (result.path / MANIFEST_NAME).read_bytes()


def verify_against(
    repo: DataRepo,
    source: PublishedSource,
    state: VerifyState,
    *,
    commit: str | None = None,
    sample: int | None = None,
    workers: int = 16,
    allow_rollback: bool = False,
    storage: LocalStorage | None = None,
    work_dir: Path | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Outcome:
    """Verify the build published at ``source`` against ``commit`` (default: the commit its
    manifest names): against its build in ``storage`` when one validates, else a rebuild
    (always without ``storage``); see the module docstring.

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
    started = time.monotonic()
    stored = stored_reference(storage, repo, sha) if storage is not None else None
    if stored is not None and stored.manifest is not None and stored.raw is not None:
        reference, reference_raw = stored.manifest, stored.raw
        outcome.reference_build = stored.build_id
    else:
        if stored is not None:
            outcome.untrusted_build, outcome.untrusted_reason = stored.build_id, stored.reason
        reference_raw = _rebuild(repo, sha, work_dir)
        reference = Manifest.from_bytes(reference_raw)
    outcome.reference_seconds = time.monotonic() - started
    if reference_raw != raw:
        outcome.mismatches.append(
            Mismatch(
                MANIFEST_NAME, Problem.MANIFEST, actual=_manifest_difference(published, reference)
            )
        )
    paths = _choose(reference.files, sample)
    outcome.total = len(reference.files)
    outcome.checked = len(paths)
    outcome.mismatches.extend(compare_files(source, reference.files, paths, workers))
    outcome.mismatches.extend(_extra(source, reference.files))
    outcome.mismatches.sort(key=lambda m: (m.path, m.problem.value))
    if outcome.ok and not rolled_back:
        outcome.state_updated = state.accept(source.location, offered, clock())
        if outcome.state_updated:
            state.save()
    return outcome
