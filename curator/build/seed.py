"""Data repositories straight from recorded API lines, for build tests and benchmarks.

A sync run needs an upstream (HTTP, even if local); a build only needs commits. This module
turns corpus lines (one ``plugin_information`` / ``theme_information`` body each, as in
``../shared/corpus`` and ``curator/replay/sample``) into package records exactly as a sync
would store them (:func:`curator.upstream.parse.parse_info_response`, then
:func:`curator.records.merge` and :func:`curator.records.encode`) and commits them with
:meth:`curator.datarepo.DataRepo.commit`. It can also scale a corpus up by replicating
records under new slugs (``<slug>-x2``, ...) and make a small, deterministic change to a
fraction of the packages (for incremental-build measurements).

Nothing here is used by the build itself.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from curator.datarepo import DataRepo
from curator.layout import PackageType, is_valid_slug, package_path
from curator.models import PackageRecord
from curator.records import decode, encode, merge
from curator.sync import to_answer
from curator.upstream.parse import parse_info_response

__all__ = ["AUTHOR", "commit_records", "mutate", "record_from_line", "records_from_lines"]

AUTHOR = "curator-seed <seed@localhost>"
_NOW = "2026-11-01T12:00:00Z"


def record_from_line(
    kind: PackageType,
    line: Mapping[str, Any] | bytes,
    *,
    now: str = _NOW,
    old: PackageRecord | None = None,
    revision: int | None = None,
) -> PackageRecord | None:
    """The record a sync would store for one API body; ``None`` if sync would skip it."""
    body = line if isinstance(line, bytes) else orjson.dumps(line)
    result = parse_info_response(kind, 200, body)
    slug = orjson.loads(body).get("slug")
    if not isinstance(slug, str) or not is_valid_slug(slug):
        return None
    answer = to_answer(result)
    if answer is None:
        return None
    return merge(kind, slug, answer, old, now=now, revision=revision)


def records_from_lines(
    kind: PackageType, lines: Iterable[Mapping[str, Any]], *, replicas: int = 1, limit: int = 0
) -> Iterator[PackageRecord]:
    """Records for ``lines``; with ``replicas`` > 1 each line is repeated under the slugs
    ``<slug>-x2`` ... ``<slug>-x<replicas>`` (rounds in order, so a ``limit`` keeps whole
    copies of the original corpus first)."""
    source = list(lines)
    count = 0
    for copy in range(1, replicas + 1):
        for line in source:
            if limit and count >= limit:
                return
            data = dict(line)
            if copy > 1:
                data["slug"] = f"{data['slug']}-x{copy}"
            record = record_from_line(kind, data)
            if record is not None:
                count += 1
                yield record


def commit_records(
    repo: DataRepo,
    records: Iterable[PackageRecord],
    *,
    extra: Mapping[str, bytes | None] | None = None,
    message: str = "seed: records\n",
    timestamp: int | None = None,
) -> str:
    """One commit on ``repo.ref`` writing ``records`` (and ``extra`` paths); returns its sha."""
    changes: dict[str, bytes | None] = {package_path(r.type, r.slug): encode(r) for r in records}
    changes.update(extra or {})
    parent = repo.head()
    if timestamp is None:
        last = next(repo.store.log(parent, max_count=1)).timestamp if parent else 0
        timestamp = last + 3600
    sha = repo.commit(
        parent=parent, changes=changes, message=message, author=AUTHOR, timestamp=timestamp
    )
    if sha is None:
        raise ValueError("nothing changed")
    return sha


def mutate(
    repo: DataRepo, fraction: float, *, seed: int = 0, kind: PackageType = PackageType.PLUGIN
) -> dict[str, bytes | None]:
    """Changed records for ``fraction`` of the ``kind`` packages at the head: each gets a new
    tag one patch level above its stable version (with a first-seen time), as a release would.

    Returns the changes (path -> bytes) to pass to :func:`commit_records` as ``extra``.
    """
    view = repo.view()
    slugs = [slug for slug, _blob in view.records(kind)]
    rng = random.Random(seed)
    chosen = sorted(rng.sample(slugs, max(1, round(len(slugs) * fraction))))
    stamp = (dt.datetime(2026, 11, 2, tzinfo=dt.UTC) + dt.timedelta(seconds=seed)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    changes: dict[str, bytes | None] = {}
    for slug in chosen:
        raw = view.read(package_path(kind, slug))
        assert raw is not None
        record = decode(raw)
        info = record.info
        if info is None:
            continue
        tags = dict(info.versions) if isinstance(info.versions, dict) else {}
        new_tag = f"{info.version}.{seed + 1}" if isinstance(info.version, str) else "1.0.1"
        tags[new_tag] = f"https://downloads.wordpress.org/{kind.value}/{slug}.{new_tag}.zip"
        new_info = info.model_copy(update={"versions": tags, "version": new_tag})
        first_seen = dict(record.first_seen)
        first_seen[new_tag] = stamp
        updated = record.model_copy(
            update={
                "info": new_info,
                "first_seen": first_seen,
                "revision": (record.revision or 0) + 1,
            }
        )
        changes[package_path(kind, slug)] = encode(updated)
    return changes
