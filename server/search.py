"""Queries over a build's ``search.sqlite``: parsing user parameters and every SQL statement.

User input never reaches SQL text: values are bound parameters, sort orders come from a
fixed table, and the full-text expression is rebuilt from the words of the query, each
quoted as an FTS5 string with a prefix star (``"contact"* "form"*``), so ``"``, ``*``,
``NEAR(`` or ``OR`` typed by a user are plain text. Separators are dropped too, so
``contactform7`` matches the index's ``joined`` column of ``contact-form-7``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from curator.build.minify import expand
from curator.build.search_index import FORMAT
from curator.composer.versions import normalize
from server.counts import Ranking

SORTS: Final = ("relevance", "installs", "updated", "name", "downloads")
TYPES: Final = ("plugin", "theme")
MAX_QUERY: Final = 200
VERSION_CACHE: Final = 8192
_WORD_RE: Final = re.compile(r"\w+", re.UNICODE)
_MAX_WORDS: Final = 8
RESULT_CACHE: Final = 4096  # query results kept per build

_ORDER: Final = {
    "installs": "coalesce(p.active_installs, -1) DESC, p.name",
    "updated": "coalesce(p.last_updated, '') DESC, p.name",
    "name": "p.title COLLATE NOCASE, p.name",
    # Composer installs (telemetry): the connection's temp table ``downloads`` holds the
    # totals of packages with installs (see SearchIndex._use_ranking); ties by name.
    "downloads": "coalesce(d.installs, 0) DESC, p.name",
}
_RELEVANCE: Final = (
    "(p.slug = :exact) DESC, bm25(packages_fts, 10.0, 4.0, 1.0, 8.0), "
    "coalesce(p.active_installs, -1) DESC, p.name"
)

SUMMARY_COLUMNS: Final = (
    "name",
    "type",
    "slug",
    "title",
    "description",
    "status",
    "abandoned",
    "version",
    "active_installs",
    "last_updated",
)


class QueryError(ValueError):
    """A search parameter that is not acceptable (answered with 400)."""


class SearchIndexError(Exception):
    """The build's search index is missing or unreadable."""


@dataclass(frozen=True)
class SearchQuery:
    q: str
    type: str | None
    sort: str
    page: int

    def params(self, page: int | None = None) -> dict[str, str]:
        """Query-string parameters of this search (defaults omitted) for stable URLs."""
        out: dict[str, str] = {}
        if self.q:
            out["q"] = self.q
        if self.type:
            out["type"] = self.type
        if self.sort != default_sort(self.q):
            out["sort"] = self.sort
        number = self.page if page is None else page
        if number != 1:
            out["page"] = str(number)
        return out


def default_sort(q: str) -> str:
    return "relevance" if q else "installs"


def parse_query(params: Mapping[str, str | None], *, max_page: int) -> SearchQuery:
    """Validate ``q``, ``type``, ``sort`` and ``page``; raises :class:`QueryError`."""
    q = " ".join((params.get("q") or "").split())
    if len(q) > MAX_QUERY:
        raise QueryError(f"the search text is longer than {MAX_QUERY} characters")
    if "\x00" in q:
        raise QueryError("the search text contains a NUL character")
    kind = params.get("type") or None
    if kind is not None and kind not in TYPES:
        raise QueryError(f"type must be one of: {', '.join(TYPES)}")
    sort = params.get("sort") or default_sort(q)
    if sort not in SORTS:
        raise QueryError(f"sort must be one of: {', '.join(SORTS)}")
    if sort == "relevance" and not q:
        sort = "installs"
    raw_page = params.get("page") or "1"
    if not raw_page.isascii() or not raw_page.isdigit() or len(raw_page) > 6:
        raise QueryError("page must be a positive whole number")
    page = int(raw_page)
    if not 1 <= page <= max_page:
        raise QueryError(f"page must be between 1 and {max_page}")
    return SearchQuery(q=q, type=kind, sort=sort, page=page)


def fts_expression(q: str) -> str | None:
    """The FTS5 MATCH expression of free text: each word quoted, prefix-matched, ANDed."""
    words = _WORD_RE.findall(q.lower().replace("_", " "))[:_MAX_WORDS]
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


@dataclass(frozen=True)
class ResultPage:
    query: SearchQuery
    total: int
    per_page: int
    rows: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_VERSION_KEYS: Final = ("version", "version_normalized", "time", "require")


def composer_versions(build: Path, name: str) -> list[dict[str, Any]]:
    """The versions of ``name`` exactly as Composer reads them from the build's p2 files
    (tagged ones newest first, then the ``~dev`` ones); ``name`` must be a package the
    index knows (it becomes a path). A missing or unreadable file counts as no versions."""
    out: list[dict[str, Any]] = []
    for suffix in ("", "~dev"):
        try:
            doc = json.loads((build / "p2" / f"{name}{suffix}.json").read_bytes())
            entries = doc["packages"][name]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(entries, list):
            expanded = expand(entries) if doc.get("minified") == "composer/2.0" else entries
            out.extend({k: v[k] for k in _VERSION_KEYS if k in v} for v in expanded)
    return out


class SearchIndex:
    """A read-only connection to one build's ``search.sqlite`` (shared by threads)."""

    def __init__(self, path: Path) -> None:
        self._build = path.parent  # the build directory: the p2 files sit beside the index
        try:
            self._conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro&immutable=1",
                uri=True,
                check_same_thread=False,
            )
            self._conn.row_factory = sqlite3.Row
            found = self._conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.Error as exc:
            raise SearchIndexError(f"{path}: {exc}") from exc
        if found is None or found[0] != str(FORMAT):
            raise SearchIndexError(f"{path}: unsupported search index format")
        self._lock = threading.Lock()
        # results per query: the index is immutable, so they never go stale (sort=downloads
        # depends on live counts and is not kept)
        self._results: OrderedDict[tuple[Any, ...], ResultPage] = OrderedDict()
        self._ranking_epoch: int | None = None
        self.versions = lru_cache(maxsize=VERSION_CACHE)(self._versions)

    def close(self) -> None:
        self._conn.close()

    def _all(self, sql: str, params: Mapping[str, Any]) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _use_ranking(self, ranking: Ranking) -> None:
        """Load ``ranking`` into the temp table ``downloads`` unless it is loaded (lock held)."""
        if self._ranking_epoch is None:
            self._conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS downloads "
                "(name TEXT PRIMARY KEY, installs INTEGER NOT NULL) WITHOUT ROWID"
            )
        elif self._ranking_epoch == ranking.epoch:
            return
        with self._conn:
            self._conn.execute("DELETE FROM temp.downloads")
            self._conn.executemany(
                "INSERT INTO temp.downloads VALUES (?, ?)",
                ((name, n) for name, n in ranking.installs.items() if n > 0),
            )
        self._ranking_epoch = ranking.epoch

    def search(
        self, query: SearchQuery, per_page: int, ranking: Ranking | None = None
    ) -> ResultPage:
        """One page of results; ``ranking`` orders ``sort=downloads`` (none: all zero).

        Other sorts are answered from a per-index cache of the last :data:`RESULT_CACHE`
        queries (a broad prefix query ranks thousands of rows; its answer never changes)."""
        if query.sort == "downloads":
            return self._search(query, per_page, ranking)
        key = (query.q, query.type, query.sort, query.page, per_page)
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        result = self._search(query, per_page, ranking)
        with self._lock:
            self._results[key] = result
            while len(self._results) > RESULT_CACHE:
                self._results.popitem(last=False)
        return result

    def _search(
        self, query: SearchQuery, per_page: int, ranking: Ranking | None = None
    ) -> ResultPage:
        columns = ", ".join(f"p.{c}" for c in SUMMARY_COLUMNS)
        params: dict[str, Any] = {
            "type": query.type,
            "limit": per_page,
            "offset": (query.page - 1) * per_page,
            "exact": query.q.lower(),
        }
        where = ["(:type IS NULL OR p.type = :type)"]
        expression = fts_expression(query.q) if query.q else None
        if query.q and expression is None:
            return ResultPage(query, 0, per_page, [])  # only punctuation: nothing to find
        if expression is not None:
            params["match"] = expression
            source = "packages_fts JOIN packages p ON p.id = packages_fts.rowid"
            where.append("packages_fts MATCH :match")
            order = _RELEVANCE if query.sort == "relevance" else _ORDER[query.sort]
        else:
            source = "packages p"
            order = _ORDER[query.sort]
        condition = " AND ".join(where)
        total = self._all(f"SELECT count(*) FROM {source} WHERE {condition}", params)[0][0]
        if query.sort == "downloads":
            source += " LEFT JOIN temp.downloads d ON d.name = p.name"
        with self._lock:
            if query.sort == "downloads":
                self._use_ranking(ranking or Ranking(-1))
            rows = self._conn.execute(
                f"SELECT {columns} FROM {source} WHERE {condition} "
                f"ORDER BY {order} LIMIT :limit OFFSET :offset",
                params,
            ).fetchall()
        return ResultPage(query, int(total), per_page, [dict(r) for r in rows])

    def package(self, name: str) -> dict[str, Any] | None:
        found = self._all("SELECT * FROM packages WHERE name = :name", {"name": name})
        if not found:
            return None
        row = dict(found[0])
        row.pop("id", None)
        row["versions"] = composer_versions(self._build, str(row["name"]))
        row["overrides"] = json.loads(row.pop("overrides_json"))
        return row

    def _versions(self, name: str) -> frozenset[str] | None:
        """The normalised versions the build publishes for ``name`` (None: no such package).
        Cached per build (``self.versions``): telemetry asks for every reported install."""
        if not self._all("SELECT 1 FROM packages WHERE name = :name", {"name": name}):
            return None
        out: set[str] = set()
        for v in composer_versions(self._build, name):
            normalized = v.get("version_normalized")
            if not isinstance(normalized, str) and isinstance(v.get("version"), str):
                normalized = normalize(v["version"])
            if isinstance(normalized, str):
                out.add(normalized)
        return frozenset(out)

    def totals(self) -> dict[str, int]:
        rows = self._all("SELECT type, count(*) FROM packages GROUP BY type", {})
        out = dict.fromkeys(TYPES, 0)
        out.update({str(r[0]): int(r[1]) for r in rows})
        return out
