"""What the upstream client hands back: frozen result types and the one exception.

Per-package answers are values, never exceptions: :data:`InfoResult` is one of
:class:`Found`, :class:`Closed`, :class:`NotFound` or :class:`Failed`. Discovery answers are
:class:`SvnListing` (every slug), :class:`LogEntry` (one Trac changelog entry) and
:class:`Changes` (what changed since a revision). Discovery that cannot complete raises
:class:`UpstreamError`, because a sync cannot proceed without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from curator.models import Closure, UpstreamInfo


class FailureKind(StrEnum):
    """Why an answer was not usable; the client's stats count failures by this."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate_limited"  # HTTP 429
    SERVER_ERROR = "server_error"  # HTTP 5xx
    HTTP_STATUS = "http_status"  # any other unexpected status
    MALFORMED = "malformed"  # not JSON, truncated JSON, JSON that is not an object
    INVALID = "invalid"  # well-formed JSON that is not a usable record
    UPSTREAM_ERROR = "upstream_error"  # an {"error": ...} answer we do not know
    INTERNAL = "internal"  # a bug in the client; logged with its traceback
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Found:
    """HTTP 200 with a package record.

    ``raw`` holds only the requested fields (the field names of :class:`UpstreamInfo`) exactly
    as decoded from the body; ``info`` is the same data validated strictly (nothing coerced).
    """

    info: UpstreamInfo
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Closed:
    """The package is closed (``"error": "closed"``, normally with HTTP 404)."""

    closure: Closure


@dataclass(frozen=True, slots=True)
class NotFound:
    """Upstream says there is no such package (or the slug is invalid); ``message`` as sent."""

    message: str


@dataclass(frozen=True, slots=True)
class Failed:
    """No usable answer: stored data must not change. ``reason`` is short and human."""

    reason: str
    kind: FailureKind = FailureKind.OTHER


InfoResult = Found | Closed | NotFound | Failed


@dataclass(frozen=True, slots=True)
class SvnListing:
    """The root of an SVN repository as mod_dav_svn lists it: one directory per slug."""

    revision: int
    slugs: list[str]
    rejected: list[str] = field(default_factory=list)  # entries that are not valid slugs


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of a Trac ``format=changelog`` log (``time`` and paths as given)."""

    revision: int
    time: str
    author: str
    paths: list[tuple[str, str]]  # (path, action): action is added/modified/copied/deleted/...
    message: str


@dataclass(frozen=True, slots=True)
class Changes:
    """Packages changed after a revision: ``slugs`` maps slug -> newest revision touching it."""

    head: int
    slugs: dict[str, int]


class UpstreamError(Exception):
    """Discovery failed for good (after retries); ``url`` is what was requested."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url
