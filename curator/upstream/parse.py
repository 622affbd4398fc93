"""Pure parsers for every WordPress.org answer the curator reads (no I/O).

- :func:`parse_svn_listing` / :class:`SvnListingParser`: the mod_dav_svn index of
  ``plugins.svn`` / ``themes.svn`` (revision + one ``<li><a href="slug/">`` per package),
  incremental so a 100k-line listing can be parsed while it streams in;
- :func:`parse_trac_changelog` and :func:`changed_slugs`: Trac's ``format=changelog`` log;
- :func:`parse_info_response`: classifies one ``plugin_information`` /
  ``theme_information`` answer into :data:`~curator.upstream.results.InfoResult`.

Parsers raise :class:`ParseError` (a ``ValueError``) for bodies they cannot read at all;
:func:`parse_info_response` never raises, it returns :class:`Failed` instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

import orjson
from pydantic import ValidationError

from curator.layout import PackageType, is_valid_slug
from curator.models import Closure, UpstreamInfo
from curator.upstream.fields import KEPT_FIELDS
from curator.upstream.results import (
    Closed,
    Failed,
    FailureKind,
    Found,
    InfoResult,
    LogEntry,
    NotFound,
    SvnListing,
)

__all__ = [
    "ParseError",
    "SvnListingParser",
    "changed_slugs",
    "parse_info_response",
    "parse_svn_listing",
    "parse_trac_changelog",
]


class ParseError(ValueError):
    """A body that is not the document it should be (no revision, no changelog entries...)."""


# ---------------------------------------------------------------------------------------------
# SVN listing


_REVISION_RE = re.compile(r"Revision\s+(\d+)", re.IGNORECASE)
# <li><a href="slug/">slug/</a></li>, tolerant of case, whitespace, extra attributes and quotes.
_ENTRY_RE = re.compile(
    r"""<li\b[^>]*>\s*<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""",
    re.IGNORECASE,
)


class SvnListingParser:
    """Incremental parser of a mod_dav_svn directory index: ``feed()`` text, then ``close()``.

    Only the text after the last ``<li`` seen is buffered between feeds, so memory stays flat
    however long the listing is. Entries are directories (``href`` ending in ``/``); ``..``
    and absolute links are ignored; files and names that are not valid slugs are ``rejected``.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._revision: int | None = None
        self._slugs: dict[str, None] = {}
        self._rejected: list[str] = []

    def feed(self, text: str) -> None:
        buffer = self._buffer + text
        cut = _last_li(buffer)
        if cut > 0:
            # Everything before the last "<li" holds only complete entries.
            self._scan(buffer[:cut], final=True)
            buffer = buffer[cut:]
        elif cut < 0 and len(buffer) > 65536:
            # No entry has started: keep only a tail that may hold a token cut in half.
            self._scan(buffer, final=False)
            buffer = buffer[-1024:]
        self._buffer = buffer

    def close(self) -> SvnListing:
        self._scan(self._buffer, final=True)
        self._buffer = ""
        if self._revision is None:
            raise ParseError("not an SVN listing: no 'Revision N' in the page")
        return SvnListing(self._revision, list(self._slugs), self._rejected)

    def _scan(self, text: str, *, final: bool) -> None:
        if self._revision is None:
            found = _REVISION_RE.search(text)
            # Digits at the very end of an unfinished buffer may continue in the next chunk.
            if found and (final or found.end() < len(text)):
                self._revision = int(found.group(1))
        if not final:
            return
        for match in _ENTRY_RE.finditer(text):
            href = match.group(1) or match.group(2) or match.group(3) or ""
            self._entry(href)

    def _entry(self, href: str) -> None:
        if href in ("../", "..", "./", ".") or "://" in href or href.startswith(("/", "?", "#")):
            return
        if not href.endswith("/"):
            self._rejected.append(unquote(href))
            return
        name = unquote(href[:-1])
        if is_valid_slug(name):
            self._slugs[name] = None
        else:
            self._rejected.append(name)


def _last_li(text: str) -> int:
    """Index of the last ``<li`` (any case) in ``text``, or -1."""
    return max(text.rfind("<li"), text.rfind("<LI"), text.rfind("<Li"), text.rfind("<lI"))


def parse_svn_listing(text: str) -> SvnListing:
    """Slugs and revision of an SVN root listing (``<title> - Revision N: /</title>``)."""
    parser = SvnListingParser()
    parser.feed(text)
    return parser.close()


# ---------------------------------------------------------------------------------------------
# Trac changelog

# "Fri, 29 Jun 2018 09:21:11 GMT yamoney [1901056]" (the author may contain spaces).
_HEADER_RE = re.compile(
    r"(?P<time>[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{1,2}:\d{2}:\d{2} [A-Z+\-0-9]+)"
    r" (?P<author>.*?) ?\[(?P<rev>\d+)\]\s*"
)
_HEADER_LOOSE_RE = re.compile(r"(?P<time>\S.*?) (?P<author>\S*) ?\[(?P<rev>\d+)\]\s*")
_PATH_RE = re.compile(r"[\t ]+\* (?P<path>.+) \((?P<action>[a-z_ ]+)\)\s*")


def parse_trac_changelog(text: str) -> list[LogEntry]:
    """Entries of a Trac ``format=changelog`` log, in the order given (newest first).

    Each entry is a header ``<date> <author> [<rev>]``, tab-indented ``* path (action)``
    lines, a blank line and the tab-indented message. ``#`` comment lines are skipped.
    """
    entries: list[LogEntry] = []
    current: dict[str, Any] | None = None
    paths: list[tuple[str, str]] = []
    message: list[str] = []
    in_paths = False

    def flush() -> None:
        if current is not None:
            while message and not message[-1].strip():
                message.pop()
            while message and not message[0].strip():
                message.pop(0)
            entries.append(
                LogEntry(
                    revision=current["rev"],
                    time=current["time"],
                    author=current["author"],
                    paths=list(paths),
                    message="\n".join(message),
                )
            )

    for line in text.splitlines():
        if line[:1] not in ("\t", " ", ""):
            if line.startswith("#") and current is None:
                continue
            header = _HEADER_RE.fullmatch(line) or _HEADER_LOOSE_RE.fullmatch(line)
            if header is not None:
                flush()
                current = {
                    "rev": int(header.group("rev")),
                    "time": header.group("time"),
                    "author": header.group("author"),
                }
                paths, message, in_paths = [], [], True
                continue
        if current is None:
            continue
        if in_paths:
            path = _PATH_RE.fullmatch(line)
            if path is not None:
                paths.append((path.group("path").lstrip("/"), path.group("action")))
                continue
            in_paths = False
        message.append(line[1:] if line.startswith("\t") else line)
    flush()
    return entries


def changed_slugs(entries: Iterable[LogEntry]) -> dict[str, int]:
    """slug -> newest revision touching it; the slug is a path's first component.

    Plugin paths are ``<slug>/trunk/...``, ``<slug>/tags/<v>/...``; theme paths
    ``<slug>/<version>/...``. Components that are not valid slugs are skipped.
    """
    found: dict[str, int] = {}
    for entry in entries:
        for path, _action in entry.paths:
            slug = path.lstrip("/").split("/", 1)[0]
            if not is_valid_slug(slug):
                continue
            if found.get(slug, -1) < entry.revision:
                found[slug] = entry.revision
    return found


# ---------------------------------------------------------------------------------------------
# plugin_information / theme_information

_NOT_FOUND_MESSAGES = {"plugin not found.", "theme not found", "invalid plugin slug."}
_PERMANENT_RE = re.compile(r"closure is (permanent|temporary)", re.IGNORECASE)


def parse_info_response(
    kind: PackageType, status_code: int, body: bytes, *, content_type: str | None = None
) -> InfoResult:
    """Classify one info answer. Never raises.

    - 200 + object with ``name`` and ``slug`` -> :class:`Found` with the requested fields
      (:data:`~curator.upstream.fields.KEPT_FIELDS`), verbatim;
    - ``"error": "closed"`` (404, or 200) -> :class:`Closed`;
    - ``"error": "Plugin not found." / "Theme not found" / "Invalid plugin slug."``
      (404, or 200) -> :class:`NotFound`;
    - anything else -> :class:`Failed` naming what was wrong.
    """
    if status_code != 200 and status_code != 404:
        kind_ = FailureKind.SERVER_ERROR if status_code >= 500 else FailureKind.HTTP_STATUS
        return Failed(f"HTTP {status_code}", kind_)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Failed(_undecodable(status_code, body, content_type, exc), FailureKind.MALFORMED)
    if not isinstance(data, dict):
        what = "null" if data is None else type(data).__name__
        return Failed(f"HTTP {status_code} with JSON {what}, not an object", FailureKind.MALFORMED)

    error = data.get("error")
    if error is not None:
        return _error_answer(kind, status_code, data, error)
    if status_code != 200:
        return Failed(f"HTTP {status_code} with a JSON object but no error", FailureKind.INVALID)
    missing = [k for k in ("name", "slug") if k not in data]
    if missing:
        names = " and ".join(repr(k) for k in missing)
        return Failed(f"HTTP 200 JSON object without {names}", FailureKind.INVALID)
    raw = {k: data[k] for k in KEPT_FIELDS[kind] if k in data}
    try:
        info = UpstreamInfo.model_validate(raw)
    except ValidationError as exc:
        return Failed(_validation_reason(exc), FailureKind.INVALID)
    return Found(info, raw)


def _undecodable(
    status_code: int, body: bytes, content_type: str | None, exc: orjson.JSONDecodeError
) -> str:
    if not body.strip():
        return f"HTTP {status_code} with an empty body"
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    start = body.lstrip()[:1]
    if start in (b"{", b"[") and "html" not in ctype:
        what = str(exc).split(":", 1)[0]  # drop orjson's "line 1 column N (char N)"
        if "end of data" in what:
            return f"HTTP {status_code} with truncated JSON ({len(body)} bytes)"
        return f"HTTP {status_code} with malformed JSON ({what})"
    if not ctype:
        ctype = "looks like HTML" if start == b"<" else "unknown type"
    return f"HTTP {status_code} with a non-JSON body ({ctype})"


def _error_answer(
    kind: PackageType, status_code: int, data: dict[str, Any], error: Any
) -> InfoResult:
    if error == "closed":
        return Closed(_closure(data))
    if isinstance(error, str) and (
        error.strip().lower() in _NOT_FOUND_MESSAGES or "not found" in error.lower()
    ):
        return NotFound(error)
    text = error if isinstance(error, str) else orjson.dumps(error).decode()
    return Failed(
        f"HTTP {status_code}: {kind.value} API error {_short(text)!r}", FailureKind.UPSTREAM_ERROR
    )


def _closure(data: dict[str, Any]) -> Closure:
    notice = data.get("description")
    notice = notice if isinstance(notice, str) else None
    permanent: bool | None = None
    if notice:
        said = _PERMANENT_RE.search(notice)
        if said:
            permanent = said.group(1).lower() == "permanent"
        elif "temporar" in notice.lower():
            permanent = False
        elif "permanent" in notice.lower():
            permanent = True
    date = data.get("closed_date")
    reason = data.get("reason")
    reason_text = data.get("reason_text")
    return Closure(
        date=date if isinstance(date, str) else None,
        reason=reason if isinstance(reason, str | bool) else None,
        reason_text=reason_text if isinstance(reason_text, str | bool) else None,
        permanent=permanent,
        notice=notice,
    )


def _validation_reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"][:1]) or "record"
    fields = {e["loc"][0] for e in errors if e["loc"]}
    more = f" (and {len(fields) - 1} more field(s))" if len(fields) > 1 else ""
    return f"invalid field {loc!r}: {_short(first['msg'])}{more}"


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
