"""Deploy planning, as pure functions: what to upload, in which order, and what to delete.

Nothing here does I/O; :mod:`curator.deploy.s3` feeds it the bucket's state and carries out
the plan. Paths are build paths (relative, '/'-separated); a key is ``<prefix>/<path>``.

Upload rule: a file is uploaded when the previously deployed manifest does not name it or
names other content, when a previous deploy was interrupted while it may have been writing
it ("dirty"), or when the bucket listing shows it missing or with another size. Order (each
phase finishes before the next starts)::

    0  p2/**                 package metadata (clients only reach it through packages.json)
    1  everything else       list.json, report.json, search.sqlite, ...
    2  packages.json         the entry point
    3  manifest.json         the record of what is deployed
    4  manifest.json.sig     its signature (signed builds only), right after it

Deletion rule: a key under the prefix that the new build does not name (``.curator/``
excepted) is recorded as pending with the time it was first seen orphaned, and deleted by the
first deploy after ``grace`` has passed. A pending key that reappears in a build is dropped
from the list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from curator import canonical
from curator.build.manifest import (
    ENTRY_POINT,
    LIST_NAME,
    MANIFEST_NAME,
    RESERVED_DIR,
    SIGNATURE_NAME,
    FileEntry,
    format_time,
    parse_time,
)

STATE_DIR = RESERVED_DIR  # "<prefix>/.curator/": the deployer's own bookkeeping
PENDING_DELETES = f"{STATE_DIR}/pending-deletes.json"
IN_PROGRESS = f"{STATE_DIR}/deploy-in-progress.json"
DEPLOYED = f"{STATE_DIR}/deployed.json"  # what the last complete deploy left (see Deployed)
DEFAULT_GRACE = dt.timedelta(hours=24)
DEFAULT_RESCAN_AFTER = dt.timedelta(hours=24)


class FileKind(StrEnum):
    ENTRY = "entry"  # packages.json
    MANIFEST = "manifest"  # manifest.json
    SIGNATURE = "signature"  # manifest.json.sig
    P2 = "p2"  # p2/<vendor>/<slug>.json and ~dev.json
    LIST = "list"  # list.json
    REPORT = "report"  # report.json
    SEARCH = "search"  # search.sqlite
    OTHER = "other"
    STATE = "state"  # .curator/*: deployer bookkeeping, never served to clients


@dataclass(frozen=True)
class ObjectPolicy:
    content_type: str
    cache_control: str


JSON = "application/json"
SQLITE = "application/vnd.sqlite3"
BINARY = "application/octet-stream"

# Keep in sync with the table in curator.deploy.s3's docstring.
_SHORT = "public, max-age=60, must-revalidate"
_P2 = "public, max-age=300"
POLICIES: Mapping[FileKind, ObjectPolicy] = {
    FileKind.ENTRY: ObjectPolicy(JSON, _SHORT),
    FileKind.MANIFEST: ObjectPolicy(JSON, _SHORT),
    FileKind.SIGNATURE: ObjectPolicy(JSON, _SHORT),
    FileKind.P2: ObjectPolicy(JSON, _P2),
    FileKind.LIST: ObjectPolicy(JSON, "public, max-age=300"),
    FileKind.REPORT: ObjectPolicy(JSON, "public, max-age=300"),
    FileKind.SEARCH: ObjectPolicy(SQLITE, "public, max-age=3600"),
    FileKind.OTHER: ObjectPolicy(BINARY, "public, max-age=300"),
    FileKind.STATE: ObjectPolicy(JSON, "no-store"),
}


def file_kind(path: str) -> FileKind:
    if path == ENTRY_POINT:
        return FileKind.ENTRY
    if path == MANIFEST_NAME:
        return FileKind.MANIFEST
    if path == SIGNATURE_NAME:
        return FileKind.SIGNATURE
    if path.startswith(f"{STATE_DIR}/"):
        return FileKind.STATE
    if path.startswith("p2/"):
        return FileKind.P2
    if path == LIST_NAME:
        return FileKind.LIST
    if path == "report.json":
        return FileKind.REPORT
    if path.endswith((".sqlite", ".sqlite3", ".db")):
        return FileKind.SEARCH
    return FileKind.OTHER


def policy(path: str) -> ObjectPolicy:
    """Content-Type and Cache-Control of the object for ``path``.

    JSON files other than the known kinds keep the OTHER cache policy but are served as JSON.
    """
    kind = file_kind(path)
    found = POLICIES[kind]
    if kind is FileKind.OTHER and path.endswith(".json"):
        return ObjectPolicy(JSON, found.cache_control)
    return found


class Phase(IntEnum):
    P2 = 0
    OTHER = 1
    ENTRY = 2
    MANIFEST = 3
    SIGNATURE = 4


def phase(path: str) -> Phase:
    kind = file_kind(path)
    if kind is FileKind.P2:
        return Phase.P2
    if kind is FileKind.ENTRY:
        return Phase.ENTRY
    if kind is FileKind.MANIFEST:
        return Phase.MANIFEST
    if kind is FileKind.SIGNATURE:
        return Phase.SIGNATURE
    return Phase.OTHER


class Reason(StrEnum):
    NEW = "new"  # not in the deployed manifest
    CHANGED = "changed"  # other sha256 or size in the deployed manifest
    DIRTY = "interrupted"  # an interrupted deploy may have left other content
    MISSING = "missing"  # the manifest names it but the bucket does not have it
    SIZE = "size"  # the bucket has it with another size


@dataclass(frozen=True)
class UploadPlan:
    """Paths to upload, grouped by :class:`Phase` (each sorted), and why."""

    phases: tuple[tuple[str, ...], ...]
    reasons: Mapping[str, Reason]
    skipped: int
    sizes: Mapping[str, int] = field(repr=False)

    @property
    def uploads(self) -> list[str]:
        return [path for group in self.phases for path in group]

    @property
    def bytes(self) -> int:
        return sum(self.sizes[p] for p in self.uploads)

    def __len__(self) -> int:
        return sum(len(group) for group in self.phases)


def plan_uploads(
    new: Mapping[str, FileEntry],
    old: Mapping[str, FileEntry] | None,
    *,
    remote: Mapping[str, int] | None = None,
    dirty: Collection[str] = (),
) -> UploadPlan:
    """Which of ``new`` (path -> entry, manifest.json included) to upload, in order.

    ``old`` is the deployed manifest's files (manifest.json included), None if nothing is
    deployed; ``remote`` the listed sizes of the keys under the prefix (None: not listed);
    ``dirty`` the paths an interrupted deploy may have written.
    """
    dirty_set = frozenset(dirty)
    groups: list[list[str]] = [[] for _ in Phase]
    reasons: dict[str, Reason] = {}
    for path, entry in new.items():
        reason = _reason(path, entry, old, remote, dirty_set)
        if reason is not None:
            reasons[path] = reason
            groups[phase(path)].append(path)
    return UploadPlan(
        phases=tuple(tuple(sorted(g)) for g in groups),
        reasons=reasons,
        skipped=len(new) - len(reasons),
        sizes={p: new[p].size for p in reasons},
    )


def _reason(
    path: str,
    entry: FileEntry,
    old: Mapping[str, FileEntry] | None,
    remote: Mapping[str, int] | None,
    dirty: frozenset[str],
) -> Reason | None:
    previous = None if old is None else old.get(path)
    if previous is None:
        return Reason.NEW
    if previous != entry:
        return Reason.CHANGED
    if path in dirty:
        return Reason.DIRTY
    if remote is not None:
        size = remote.get(path)
        if size is None:
            return Reason.MISSING
        if size != entry.size:
            return Reason.SIZE
    return None


@dataclass(frozen=True)
class DeletePlan:
    """``delete``: keys to remove now; ``pending``: still waiting (path -> orphaned since)."""

    delete: tuple[str, ...]
    pending: Mapping[str, dt.datetime]
    scheduled: tuple[str, ...]  # newly orphaned by this deploy
    restored: tuple[str, ...]  # were pending, named again by the new build


def plan_deletions(
    new_paths: Collection[str],
    remote_paths: Collection[str],
    pending: Mapping[str, dt.datetime],
    *,
    now: dt.datetime,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> DeletePlan:
    """Orphans = listed paths the new build does not name (``.curator/`` excepted)."""
    wanted = frozenset(new_paths)
    orphans = sorted(
        p for p in remote_paths if p not in wanted and not p.startswith(f"{STATE_DIR}/")
    )
    still: dict[str, dt.datetime] = {}
    delete: list[str] = []
    scheduled: list[str] = []
    for path in orphans:
        since = pending.get(path)
        if since is None:
            since = now
            scheduled.append(path)
        if now - since >= grace:
            delete.append(path)
        else:
            still[path] = since
    restored = sorted(p for p in pending if p in wanted)
    return DeletePlan(tuple(delete), still, tuple(scheduled), tuple(restored))


# --- bookkeeping objects ---------------------------------------------------------------------


def encode_pending(pending: Mapping[str, dt.datetime]) -> bytes:
    return canonical.dumps(
        {"format": 1, "keys": {p: format_time(t) for p, t in sorted(pending.items())}}
    )


def decode_pending(raw: bytes) -> dict[str, dt.datetime]:
    """Parse pending-deletes.json; ``ValueError`` if it is not what :func:`encode_pending` wrote."""
    data = canonical.loads(raw)
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, dict):
        raise ValueError('expected {"format": 1, "keys": {path: time}}')
    return {str(p): parse_time(str(t)) for p, t in keys.items()}


@dataclass(frozen=True)
class Deployed:
    """Written by every complete deploy: the ``manifest.json`` it left (by sha256) and when
    the prefix was last listed in full. While the bucket's manifest is still that one and
    no deploy was interrupted, the deployed manifest plus the pending deletions describe
    every key under the prefix, so a deploy need not list it."""

    manifest_sha256: str
    scanned: dt.datetime


def encode_deployed(record: Deployed) -> bytes:
    return canonical.dumps(
        {
            "format": 1,
            "manifest_sha256": record.manifest_sha256,
            "scanned": format_time(record.scanned),
        }
    )


def decode_deployed(raw: bytes) -> Deployed:
    """Parse deployed.json; ``ValueError`` if it is not what :func:`encode_deployed` wrote."""
    data = canonical.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("manifest_sha256"), str):
        raise ValueError('expected {"format": 1, "manifest_sha256": ..., "scanned": ...}')
    return Deployed(data["manifest_sha256"], parse_time(str(data.get("scanned"))))


@dataclass(frozen=True)
class InProgress:
    """What a started deploy may be writing: ``paths``, towards ``manifest_sha256``."""

    commit: str
    manifest_sha256: str
    started: dt.datetime
    paths: frozenset[str]


def encode_in_progress(record: InProgress) -> bytes:
    return canonical.dumps(
        {
            "commit": record.commit,
            "format": 1,
            "manifest_sha256": record.manifest_sha256,
            "paths": sorted(record.paths),
            "started": format_time(record.started),
        }
    )


def decode_in_progress(raw: bytes) -> InProgress:
    data = canonical.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("paths"), list):
        raise ValueError('expected {"paths": [...], ...}')
    return InProgress(
        commit=str(data.get("commit", "")),
        manifest_sha256=str(data.get("manifest_sha256", "")),
        started=parse_time(str(data.get("started"))),
        paths=frozenset(str(p) for p in data["paths"]),
    )


def dirty_paths(record: InProgress | None, deployed_manifest_sha256: str | None) -> frozenset[str]:
    """Paths an interrupted deploy may have written: none if that deploy finished (its
    manifest is the deployed one)."""
    if record is None or record.manifest_sha256 == deployed_manifest_sha256:
        return frozenset()
    return record.paths


# --- addresses -----------------------------------------------------------------------------

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``; ValueError if malformed."""
    if not url.startswith("s3://"):
        raise ValueError(f"expected s3://bucket[/prefix], got {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise ValueError(f"invalid bucket name {bucket!r} in {url!r}")
    return bucket, normalize_prefix(prefix)


def normalize_prefix(prefix: str) -> str:
    parts = [p for p in prefix.split("/") if p]
    if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise ValueError(f"invalid prefix {prefix!r}")
    return "/".join(parts)


def key_for(prefix: str, path: str) -> str:
    return f"{prefix}/{path}" if prefix else path


def path_for(prefix: str, key: str) -> str | None:
    """The build path of ``key``, or None if the key is not under ``prefix``."""
    if not prefix:
        return key
    head = f"{prefix}/"
    return key[len(head) :] if key.startswith(head) and len(key) > len(head) else None
