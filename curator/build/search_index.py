"""The derived, read-only search index of a build: ``search.sqlite``.

The build writes one SQLite file next to ``packages.json`` from the same commit; the server
opens it read-only (``mode=ro&immutable=1``) to browse, search and show packages. This module
owns its schema, the row model (:class:`SearchRow`), turning a package record into a row
(:func:`search_row_from_record`) and writing the file (:func:`write_search_index`).

Schema (``meta.format`` = :data:`FORMAT`)::

    meta(key TEXT PRIMARY KEY, value TEXT)          -- format, rows
    packages(id INTEGER PRIMARY KEY, name UNIQUE, type, slug, title, description, author,
             status, closure_reason, closed_date, abandoned, version, requires_wp, tested,
             requires_php, active_installs, last_updated, homepage, wporg_url,
             overrides_json)
    packages_fts USING fts5(slug, title, description, joined; content='')
                                                    -- rowid = packages.id

``joined`` holds the slug and the title with every separator removed (``contact-form-7`` ->
``contactform7``) so a query ``contactform7`` prefix-matches the package. The FTS table is
contentless: it only maps words to ``packages.id``.

The file is deterministic: the same rows in any order give byte-identical files (rows sorted
by name with explicit ids, fixed page size, no journal, FTS ``optimize`` and ``VACUUM``), so
two builds of one commit are byte-identical, as the build manifest expects.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final, Literal

from curator.build.text import http_url, plain_text, wporg_time
from curator.layout import PackageType
from curator.models import OverrideFile, PackageRecord

__all__ = [
    "FORMAT",
    "SEARCH_INDEX_NAME",
    "PreviousIndex",
    "PreviousIndexError",
    "SearchRow",
    "check_index",
    "joined_text",
    "overrides_in_effect",
    "read_search_rows",
    "search_row_from_record",
    "write_search_index",
]

SEARCH_INDEX_NAME: Final = "search.sqlite"
FORMAT: Final = 2
PAGE_SIZE: Final = 4096

_SEPARATORS_RE: Final = re.compile(r"[\W_]+", re.UNICODE)
_STABLE_RE: Final = re.compile(r"v?\d+(\.\d+)*", re.ASCII)
_OVERRIDE_KEYS: Final = ("scope", "field", "reason", "author", "date")

PackageKind = Literal["plugin", "theme"]
Status = Literal["open", "closed", "not_found"]


@dataclass(frozen=True)
class SearchRow:
    """One package as the server shows it; every text is plain (no HTML, entities decoded)."""

    name: str  # "wp-plugin/akismet"
    type: PackageKind
    slug: str
    title: str
    description: str
    author: str
    status: Status
    closure_reason: str | None
    closed_date: str | None
    abandoned: str | None  # None, "true", or the replacement package name
    version: str | None  # latest stable version served to Composer
    requires_wp: str | None
    tested: str | None
    requires_php: str | None
    active_installs: int | None
    last_updated: str | None  # ISO 8601 UTC
    homepage: str | None
    wporg_url: str
    overrides_json: str  # [{"scope", "field", "reason", "author", "date"}]


_COLUMNS: Final = tuple(f.name for f in fields(SearchRow))
# the row's values in column order (dataclasses.astuple deep-copies every value: 30x slower)
row_values: Final[Callable[[SearchRow], tuple[Any, ...]]] = operator.attrgetter(*_COLUMNS)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text(value: object) -> str | None:
    text = plain_text(value)
    return text or None


def _author(value: object) -> str:
    if isinstance(value, dict):
        for key in ("display_name", "user_nicename", "author"):
            if isinstance(value.get(key), str):
                return plain_text(value[key])
        return ""
    return plain_text(value)


def _requirement(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _latest_stable(versions: Sequence[Mapping[str, Any]]) -> str | None:
    """The first (newest) stable version; else the first non-dev one; else None."""
    first = None
    for v in versions:
        version = v.get("version")
        if not isinstance(version, str) or version.startswith("dev-"):
            continue
        if _STABLE_RE.fullmatch(version):
            return version
        if first is None:
            first = version
    return first


def joined_text(*values: str) -> str:
    """Each value with separators removed, lower-cased, space-separated (``joined`` column)."""
    parts = [_SEPARATORS_RE.sub("", v).lower() for v in values]
    return " ".join(dict.fromkeys(p for p in parts if p))


def overrides_in_effect(override: OverrideFile | None) -> list[dict[str, Any]]:
    """What an override file changes, one entry per field, for the package page.

    ``scope`` is ``"package"`` or ``"version <key>"``; ``field`` names the change
    (``abandoned``, ``replacement``, ``blocked``, ``require php``, ``conflict x/y``,
    ``yanked``); ``reason`` is the version's own reason when it has one, else the file's.
    """
    if override is None:
        return []
    date = override.date.isoformat()
    out: list[dict[str, Any]] = []

    def add(scope: str, name: str, reason: str | None = None) -> None:
        out.append(
            {
                "scope": scope,
                "field": name,
                "reason": reason or override.reason,
                "author": override.author,
                "date": date,
            }
        )

    if override.abandoned:
        add("package", "abandoned")
    if override.replacement:
        add("package", f"replacement {override.replacement}")
    if override.blocked:
        add("package", "blocked")
    for target in sorted(override.require):
        add("package", f"require {target}")
    for target in sorted(override.conflict):
        add("package", f"conflict {target}")
    for key in sorted(override.versions):
        change = override.versions[key]
        scope = f"version {key}"
        if change.yanked:
            add(scope, "yanked", change.reason)
        for target in sorted(change.require):
            add(scope, f"require {target}", change.reason)
        for target in sorted(change.conflict):
            add(scope, f"conflict {target}", change.reason)
    return out


def search_row_from_record(
    record: PackageRecord,
    vendor: str,
    versions: list[dict[str, Any]],
    overrides: list[dict[str, Any]],
    abandoned: str | None,
    description: str | None = None,
) -> SearchRow:
    """The index row of ``record`` (published as ``<vendor>/<slug>``).

    ``versions`` are the versions Composer sees, newest first (dicts with at least
    ``version``; the row keeps the latest stable one; the server reads the full list from
    the build's p2 files);
    ``overrides`` the overrides in effect (``scope``, ``field``, ``reason``, ``author``,
    ``date``); ``abandoned`` is None, ``"true"`` or the replacement package name.
    """
    info = record.info
    kind: PackageKind = "plugin" if record.type is PackageType.PLUGIN else "theme"
    title = plain_text(info.name) if info is not None else ""
    summary = ""
    author = ""
    homepage = None
    active_installs = None
    last_updated = None
    requires_wp = tested = requires_php = None
    if info is not None:
        if description is None:  # the renderer passes the one it computed for Composer
            description = plain_text(info.short_description) or plain_text(info.description)
        summary = description[:300]
        author = _author(info.author)
        homepage = http_url(info.homepage)
        if isinstance(info.active_installs, int) and not isinstance(info.active_installs, bool):
            active_installs = info.active_installs
        last_updated = wporg_time(info.last_updated) or wporg_time(info.last_updated_time)
        requires_wp = _requirement(info.requires)
        tested = _requirement(info.tested)
        requires_php = _requirement(info.requires_php)
    closure = record.closure
    closure_reason = None
    closed_date = None
    if closure is not None:
        closure_reason = _text(closure.reason_text) or _text(closure.reason)
        closed_date = closure.date
    kept_overrides = [{k: o.get(k) for k in _OVERRIDE_KEYS} for o in overrides]
    return SearchRow(
        name=f"{vendor}/{record.slug}",
        type=kind,
        slug=record.slug,
        title=title or record.slug,
        description=summary,
        author=author,
        status=record.status.value,
        closure_reason=closure_reason,
        closed_date=closed_date,
        abandoned=abandoned,
        version=_latest_stable(versions),
        requires_wp=requires_wp,
        tested=tested,
        requires_php=requires_php,
        active_installs=active_installs,
        last_updated=last_updated,
        homepage=homepage,
        wporg_url=f"https://wordpress.org/{record.type.plural}/{record.slug}/",
        overrides_json=_json(kept_overrides),
    )


_SCHEMA: Final = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE packages (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    author TEXT NOT NULL,
    status TEXT NOT NULL,
    closure_reason TEXT,
    closed_date TEXT,
    abandoned TEXT,
    version TEXT,
    requires_wp TEXT,
    tested TEXT,
    requires_php TEXT,
    active_installs INTEGER,
    last_updated TEXT,
    homepage TEXT,
    wporg_url TEXT NOT NULL,
    overrides_json TEXT NOT NULL
);
CREATE VIRTUAL TABLE packages_fts USING fts5(
    slug, title, description, joined,
    content='', tokenize='unicode61 remove_diacritics 2', prefix='2 3'
);
INSERT INTO meta VALUES ('format', '{FORMAT}');
"""

_INDEXES: Final = """
CREATE INDEX packages_installs ON packages (coalesce(active_installs, -1) DESC, name);
CREATE INDEX packages_updated ON packages (coalesce(last_updated, '') DESC, name);
CREATE INDEX packages_title ON packages (title COLLATE NOCASE, name);
CREATE INDEX packages_type ON packages (type, name);
"""


@dataclass(frozen=True)
class PreviousIndex:
    """Rows to carry over from an earlier index: every row of ``path`` except ``drop``."""

    path: Path
    drop: frozenset[str]


class PreviousIndexError(ValueError):
    """The earlier index cannot be read as an index of this format."""


def check_index(path: Path) -> int:
    """The row count of the index at ``path``; :class:`PreviousIndexError` if it is not an
    index of this format."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
    except sqlite3.Error as exc:
        raise PreviousIndexError(f"{path}: {exc}") from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        if meta.get("format") != str(FORMAT) or not str(meta.get("rows", "")).isdigit():
            raise PreviousIndexError(f"{path}: not a search index of format {FORMAT}")
        return int(meta["rows"])
    except sqlite3.Error as exc:
        raise PreviousIndexError(f"{path}: {exc}") from None
    finally:
        conn.close()


def write_search_index(
    path: Path, rows: Iterable[SearchRow], previous: PreviousIndex | None = None
) -> None:
    """Write the index of ``rows`` to ``path`` (replaced atomically); deterministic bytes.

    With ``previous``, the rows of that earlier index are carried over too, except those it
    drops and those ``rows`` replace; they are copied inside SQLite (never turned into Python
    objects), so an incremental build pays for its changed rows, not for the whole index.
    Either way the rows are inserted in name order by one and the same statement, so the file
    is byte-identical to one written from all the rows at once.

    Raises ``ValueError`` if two rows have the same name, :class:`PreviousIndexError` if
    ``previous`` is not a readable index of this format.
    """
    ordered = sorted(rows, key=lambda r: r.name)
    for before, after in itertools.pairwise(ordered):
        if before.name == after.name:
            raise ValueError(f"duplicate package {after.name!r} in the search index")
    if previous is not None:
        check_index(previous.path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # SQLite must create the file itself for page_size to apply
        _write(tmp, ordered, previous)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _read_only_uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro&immutable=1"


def _write(path: Path, ordered: list[SearchRow], previous: PreviousIndex | None) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("PRAGMA encoding = 'UTF-8'")
        # the rows are staged and sorted in a temporary table: in memory when only the
        # changed rows are new (fast), on disk when every row is (bounded memory)
        conn.execute(f"PRAGMA temp_store = {'MEMORY' if previous is not None else 'FILE'}")
        conn.create_function("joined", 2, joined_text, deterministic=True)
        columns = ", ".join(_COLUMNS)
        source = "SELECT * FROM temp.incoming"
        if previous is not None:
            conn.execute("ATTACH DATABASE ? AS previous", (_read_only_uri(previous.path),))
            source += (
                f" UNION ALL SELECT {columns} FROM previous.packages"
                " WHERE name NOT IN (SELECT name FROM temp.dropped)"
                " AND name NOT IN (SELECT name FROM temp.incoming)"
            )
        conn.execute("BEGIN")
        _script(conn, _SCHEMA)
        conn.execute(f"CREATE TEMP TABLE incoming ({columns})")
        conn.execute("CREATE TEMP TABLE dropped (name TEXT PRIMARY KEY) WITHOUT ROWID")
        placeholders = ", ".join("?" for _ in _COLUMNS)
        conn.executemany(
            f"INSERT INTO temp.incoming VALUES ({placeholders})", map(row_values, ordered)
        )
        if previous is not None:
            conn.executemany(
                "INSERT INTO temp.dropped VALUES (?)", ((name,) for name in sorted(previous.drop))
            )
        try:
            conn.execute(
                f"INSERT INTO packages (id, {columns}) "
                f"SELECT row_number() OVER (ORDER BY name), {columns} FROM ({source}) "
                "ORDER BY name"
            )
        except sqlite3.IntegrityError as exc:  # cannot happen unless the earlier index is bad
            raise PreviousIndexError(f"{previous.path if previous else path}: {exc}") from None
        conn.execute(
            "INSERT INTO packages_fts (rowid, slug, title, description, joined) "
            "SELECT id, slug, title, description, joined(slug, title) FROM packages ORDER BY id"
        )
        conn.execute(
            "INSERT INTO meta SELECT 'rows', CAST(count(*) AS TEXT) FROM packages",
        )
        _script(conn, _INDEXES)
        conn.execute("INSERT INTO packages_fts (packages_fts) VALUES ('optimize')")
        conn.execute("DROP TABLE temp.incoming")
        conn.execute("DROP TABLE temp.dropped")
        conn.execute("COMMIT")
        if previous is not None:
            conn.execute("DETACH DATABASE previous")
        conn.execute("VACUUM")
    finally:
        conn.close()


def read_search_rows(path: Path) -> list[SearchRow]:
    """Every row of an index written by :func:`write_search_index`, ordered by name.

    Raises ``ValueError`` when the file is not such an index (another format, unreadable)."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
    except sqlite3.Error as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        found = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found is None or found[0] != str(FORMAT):
            raise ValueError(f"{path}: not a search index of format {FORMAT}")
        cursor = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM packages ORDER BY name")
        return [SearchRow(*values) for values in cursor]
    except sqlite3.Error as exc:
        raise ValueError(f"{path}: {exc}") from None
    finally:
        conn.close()


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements one by one (``executescript`` would COMMIT first)."""
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(statement)
