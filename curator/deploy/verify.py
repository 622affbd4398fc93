"""Compare a deployed repository (a directory or an S3 prefix) with a build manifest.

Every file the manifest names is read and hashed (for S3 the content is downloaded: object
metadata is not trusted); missing files, other sizes or hashes, and unexpected extra files
are reported, each as a :class:`Mismatch` naming the file. On S3, keys under ``.curator/``
(the deployer's bookkeeping) and keys pending deletion are not "extra"; neither is
``manifest.json`` (it is compared by its commit only, so a manifest from a rebuild by another
builder version still verifies the files) nor its signature ``manifest.json.sig`` (checked by
``curator verify --against``, :mod:`curator.mirror.check`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from curator.build.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    FileEntry,
    Manifest,
    ManifestError,
)
from curator.deploy import plan as planning
from curator.deploy.plan import PENDING_DELETES, STATE_DIR
from curator.deploy.s3 import S3Bucket

_WORKERS = 16


class Problem(StrEnum):
    MISSING = "missing"
    SIZE = "size"
    SHA256 = "sha256"
    EXTRA = "extra"
    UNREADABLE = "unreadable"
    MANIFEST = "manifest"


@dataclass(frozen=True)
class Mismatch:
    """One difference: ``path`` and what differs (expected vs actual where it applies)."""

    path: str
    problem: Problem
    expected: str | None = None
    actual: str | None = None

    def __str__(self) -> str:
        if self.problem is Problem.MISSING:
            return f"{self.path}: missing"
        if self.problem is Problem.EXTRA:
            return f"{self.path}: not in the manifest"
        if self.problem in (Problem.UNREADABLE, Problem.MANIFEST):
            return f"{self.path}: {self.actual}"
        return f"{self.path}: {self.problem.value} is {self.actual}, expected {self.expected}"


def _compare(path: str, expected: FileEntry, data: bytes) -> Mismatch | None:
    if len(data) != expected.size:
        return Mismatch(path, Problem.SIZE, str(expected.size), str(len(data)))
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected.sha256:
        return Mismatch(path, Problem.SHA256, expected.sha256, digest)
    return None


def _check_deployed_manifest(raw: bytes | None, manifest: Manifest) -> Mismatch | None:
    if raw is None:
        return Mismatch(MANIFEST_NAME, Problem.MISSING)
    try:
        deployed = Manifest.from_bytes(raw)
    except ManifestError as exc:
        return Mismatch(MANIFEST_NAME, Problem.MANIFEST, actual=str(exc))
    if deployed.commit != manifest.commit:
        return Mismatch(
            MANIFEST_NAME,
            Problem.MANIFEST,
            manifest.commit,
            f"names commit {deployed.commit}, expected {manifest.commit}",
        )
    if deployed.files != manifest.files:
        return Mismatch(
            MANIFEST_NAME,
            Problem.MANIFEST,
            actual="lists other files than the expected manifest",
        )
    return None


def _sorted(mismatches: Iterable[Mismatch | None]) -> list[Mismatch]:
    return sorted((m for m in mismatches if m is not None), key=lambda m: (m.path, m.problem.value))


def verify_directory(directory: Path, manifest: Manifest) -> list[Mismatch]:
    """Every difference between ``directory`` and ``manifest``; empty means identical."""
    if not directory.is_dir():
        return [Mismatch(str(directory), Problem.MISSING)]

    def check(item: tuple[str, FileEntry]) -> Mismatch | None:
        path, expected = item
        try:
            data = (directory / path).read_bytes()
        except FileNotFoundError:
            return Mismatch(path, Problem.MISSING)
        except OSError as exc:
            return Mismatch(path, Problem.UNREADABLE, actual=exc.strerror or str(exc))
        return _compare(path, expected, data)

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(check, sorted(manifest.files.items()), chunksize=256))
    extra: list[Mismatch | None] = []
    for file in directory.rglob("*"):
        if file.is_dir():
            continue
        path = file.relative_to(directory).as_posix()
        if path not in (MANIFEST_NAME, SIGNATURE_NAME) and path not in manifest.files:
            extra.append(Mismatch(path, Problem.EXTRA))
    raw = None
    manifest_file = directory / MANIFEST_NAME
    if manifest_file.is_file():
        raw = manifest_file.read_bytes()
    return _sorted([*found, *extra, _check_deployed_manifest(raw, manifest)])


def verify_bucket(
    target: S3Bucket, manifest: Manifest, *, workers: int = _WORKERS
) -> list[Mismatch]:
    """Every difference between the objects under ``target`` and ``manifest``.

    Downloads and hashes every object the manifest names. Raises
    :class:`~curator.deploy.s3.S3Error` if the bucket cannot be listed.
    """
    listed = target.listing()
    pending: set[str] = set()
    if PENDING_DELETES in listed:
        raw_pending = target.get(PENDING_DELETES)
        if raw_pending is not None:
            try:
                pending = set(planning.decode_pending(raw_pending))
            except ValueError as exc:
                return [Mismatch(PENDING_DELETES, Problem.MANIFEST, actual=f"unreadable: {exc}")]

    def check(item: tuple[str, FileEntry]) -> Mismatch | None:
        path, expected = item
        if path not in listed:
            return Mismatch(path, Problem.MISSING)
        try:
            data = target.get(path)
        except Exception as exc:  # S3Error: report it per file, keep checking the rest
            return Mismatch(path, Problem.UNREADABLE, actual=str(exc))
        if data is None:
            return Mismatch(path, Problem.MISSING)
        return _compare(path, expected, data)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = list(pool.map(check, sorted(manifest.files.items())))
    extra = [
        Mismatch(path, Problem.EXTRA)
        for path in listed
        if path not in (MANIFEST_NAME, SIGNATURE_NAME)
        and path not in manifest.files
        and not path.startswith(f"{STATE_DIR}/")
        and path not in pending
    ]
    raw = target.get(MANIFEST_NAME) if MANIFEST_NAME in listed else None
    return _sorted([*found, *extra, _check_deployed_manifest(raw, manifest)])


def read_bucket_manifest(target: S3Bucket) -> Manifest:
    """The ``manifest.json`` deployed under ``target``; ManifestError if absent or invalid."""
    raw = target.get(MANIFEST_NAME)
    if raw is None:
        raise ManifestError(f"{target.url}/{MANIFEST_NAME}: missing")
    try:
        return Manifest.from_bytes(raw)
    except ManifestError as exc:
        raise ManifestError(f"{target.url}/{MANIFEST_NAME}: {exc}") from exc
