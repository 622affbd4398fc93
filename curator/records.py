"""Turning one upstream answer into the next stored record: a pure function.

``merge`` takes what WordPress.org said about a package and the record stored before, and
returns the record to store and what kind of change it is. Rules (DESIGN.md, "The data
repository"):

- a failure (timeout, 5xx, malformed body) never changes stored data;
- a closed package keeps its last good upstream info and its versions, and records the closure;
- "not found" is recorded as its own status, also keeping what was known;
- ``first_seen`` records when the sync first saw a version key, for keys that appear after the
  package's first sync; older keys have no time (unknown, never invented); ``trunk`` has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from curator import canonical
from curator.layout import PackageType
from curator.models import Closure, PackageRecord, PackageStatus, UpstreamInfo

TRUNK = "trunk"


class Change(StrEnum):
    """What a sync did to one package; the commit message counts these."""

    ADDED = "added"
    UPDATED = "updated"
    CLOSED = "closed"
    REOPENED = "reopened"
    NOT_FOUND = "not_found"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Found:
    info: UpstreamInfo


@dataclass(frozen=True, slots=True)
class Gone:
    """Closed (``closure`` set) or not found (``closure`` None)."""

    closure: Closure | None


def _first_seen(old: PackageRecord | None, info: UpstreamInfo, now: str) -> dict[str, str]:
    keys = [k for k in info.version_keys() if k != TRUNK]
    if old is None or old.info is None:
        return {}
    known = old.info.version_keys()
    seen = dict(old.first_seen)
    result = {k: seen[k] for k in keys if k in seen}
    for key in keys:
        if key not in known and key not in result:
            result[key] = now
    return result


def _revision(old: PackageRecord | None, revision: int | None) -> int | None:
    previous = old.revision if old is not None else None
    if revision is None:
        return previous
    return revision if previous is None else max(previous, revision)


def merge(
    kind: PackageType,
    slug: str,
    answer: Found | Gone,
    old: PackageRecord | None,
    *,
    now: str,
    revision: int | None = None,
) -> PackageRecord:
    """The record to store after ``answer``; ``now`` is the run's UTC time (ISO 8601)."""
    rev = _revision(old, revision)
    if isinstance(answer, Found):
        return PackageRecord(
            type=kind,
            slug=slug,
            status=PackageStatus.OPEN,
            info=answer.info,
            closure=None,
            first_seen=_first_seen(old, answer.info, now),
            revision=rev,
        )
    status = PackageStatus.CLOSED if answer.closure is not None else PackageStatus.NOT_FOUND
    return PackageRecord(
        type=kind,
        slug=slug,
        status=status,
        info=old.info if old is not None else None,
        closure=answer.closure or (old.closure if old is not None else None),
        first_seen=dict(old.first_seen) if old is not None else {},
        revision=rev,
    )


def classify(old: PackageRecord | None, new: PackageRecord, changed: bool) -> Change:
    """Name the change from ``old`` to ``new`` (``changed``: their bytes differ)."""
    if old is None:
        if new.status is PackageStatus.CLOSED:
            return Change.CLOSED
        if new.status is PackageStatus.NOT_FOUND:
            return Change.NOT_FOUND
        return Change.ADDED
    if not changed:
        return Change.UNCHANGED
    if new.status is not old.status:
        if new.status is PackageStatus.CLOSED:
            return Change.CLOSED
        if new.status is PackageStatus.NOT_FOUND:
            return Change.NOT_FOUND
        if old.status is PackageStatus.CLOSED:
            return Change.REOPENED
    return Change.UPDATED


def encode(record: PackageRecord) -> bytes:
    """Canonical bytes of a record (what is written to the data tree)."""
    return canonical.dumps(record.to_json_data())


def decode(raw: bytes) -> PackageRecord:
    return PackageRecord.model_validate(canonical.loads(raw))
