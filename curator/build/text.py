"""Small pure helpers of the renderer: plain text from WordPress.org HTML, times, names.

- :func:`plain_text`: HTML tags stripped, entities decoded, whitespace collapsed (WordPress.org
  sends ``author`` as a link, ``name``/``short_description`` with entities);
- :func:`wporg_time`: the upstream time formats (``2024-03-21 12:55am GMT``, ``2024-04-02
  18:12:40``, ``2024-04-02``, and the curator's own ``2026-11-01T13:00:00Z``) as ISO 8601 UTC
  (``2024-03-21T00:55:00+00:00``), or ``None`` when the value is not one of them;
- :func:`is_package_name` / :func:`is_platform_name`: Composer's name rules
  (``ValidatingArrayLoader`` and ``PlatformRepository::PLATFORM_PACKAGE_REGEX``);
- :func:`http_url`: an absolute ``http(s)`` URL, or ``None``; :func:`dist_url` the same for
  a download URL, with characters a URL cannot carry percent-encoded (SVN tags such as
  ``"2.0.3\\r"`` give ``.../plugin.2.0.3\\r.zip``, requested as ``.../plugin.2.0.3%0D.zip``).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Final
from urllib.parse import quote

__all__ = [
    "dist_url",
    "http_url",
    "is_package_name",
    "is_platform_name",
    "is_vendor_name",
    "php_trim",
    "plain_text",
    "wporg_time",
]

_TAG_RE: Final = re.compile(r"<[^>]*>")
_WS_RE: Final = re.compile(r"\s+")
# The name rule Composer enforces when a package is published (ValidatingArrayLoader, 2.5:
# ``[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*``), written with every
# separator mandatory between alphanumeric runs: the same language, but one way to match, so
# a hostile name that fails at its end costs linear time instead of exponential backtracking.
_RUN: Final = "[a-z0-9]+"
_PACKAGE_RE: Final = re.compile(rf"{_RUN}(?:[_.-]{_RUN})*/{_RUN}(?:(?:[_.]|--?){_RUN})*", re.ASCII)
_VENDOR_RE: Final = re.compile(rf"{_RUN}(?:[_.-]{_RUN})*", re.ASCII)
_PLATFORM_RE: Final = re.compile(
    rf"(?:php(?:-64bit|-ipv6|-zts|-debug)?|hhvm|(?:ext|lib)-{_RUN}(?:[_.-]{_RUN})*"
    r"|composer(?:-(?:plugin|runtime)-api)?)",
    re.ASCII | re.IGNORECASE,
)
_PHP_TRIM: Final = " \t\n\r\0\x0b"
_SPACE_RE: Final = re.compile(r"\s")

_WPORG_12H_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})\s*([ap]m)(?: GMT| UTC)?", re.ASCII | re.IGNORECASE
)
_DATETIME_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:Z|\+00:?00| GMT| UTC)?", re.ASCII
)
_DATE_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def plain_text(value: object) -> str:
    """Text of an HTML fragment: tags removed, entities decoded, whitespace collapsed."""
    if not isinstance(value, str):
        return ""
    text = html.unescape(_TAG_RE.sub(" ", value)) if "<" in value or "&" in value else value
    return _WS_RE.sub(" ", text).strip()


def php_trim(value: str) -> str:
    """PHP ``trim()``: strips space, tab, LF, CR, NUL and vertical tab (not other spaces)."""
    return value.strip(_PHP_TRIM)


def is_package_name(name: str) -> bool:
    return _PACKAGE_RE.fullmatch(name) is not None


def is_vendor_name(name: str) -> bool:
    return _VENDOR_RE.fullmatch(name) is not None


def is_platform_name(name: str) -> bool:
    return _PLATFORM_RE.fullmatch(name) is not None


def http_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL with a host and no whitespace, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    lower = url[:8].lower()
    if not (lower.startswith("http://") or lower.startswith("https://")):
        return None
    host = url.split("://", 1)[1].split("/", 1)[0]
    if not host or _SPACE_RE.search(url) is not None:
        return None
    return url


# Everything RFC 3986 allows in a URL, and "%" so existing escapes stay as they are.
_URL_SAFE: Final = ":/?#[]@!$&'()*+,;=%~-._"
_URL_CLEAN_RE: Final = re.compile(r"[A-Za-z0-9:/?#\[\]@!$&'()*+,;=%~._-]*", re.ASCII)
_URL_FAST_RE: Final = re.compile(
    r"https?://[A-Za-z0-9.:-]+(?:[/?#][A-Za-z0-9:/?#\[\]@!$&'()*+,;=%~._-]*)?",
    re.ASCII | re.IGNORECASE,
)


def dist_url(value: object) -> str | None:
    """A download URL as Composer should request it, or ``None`` if it is not http(s).

    Whitespace, control and non-ASCII characters are percent-encoded (UTF-8); nothing else
    changes, so an ordinary URL comes back unchanged.
    """
    if not isinstance(value, str):
        return None
    if _URL_FAST_RE.fullmatch(value) is not None:
        return value
    lower = value[:8].lower()
    if not (lower.startswith("http://") or lower.startswith("https://")):
        return None
    url = value if _URL_CLEAN_RE.fullmatch(value) else quote(value, safe=_URL_SAFE)
    host = url.split("://", 1)[1].split("/", 1)[0]
    return url if host else None


def _iso(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> str | None:
    try:
        when = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def wporg_time(value: object) -> str | None:
    """An upstream or curator time as ``YYYY-MM-DDTHH:MM:SS+00:00`` (UTC), else ``None``.

    ``2024-03-21 12:55am GMT`` (plugins' ``last_updated``), ``2024-04-02 18:12:40`` (themes'
    ``last_updated_time``, UTC), ``2026-11-01T13:00:00Z`` (``first_seen``) and a bare date
    ``2024-04-02`` (midnight UTC of that day, the only time a date-only value names).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _WPORG_12H_RE.fullmatch(text)
    if m is not None:
        hour = int(m.group(4))
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(6).lower() == "pm" else 0)
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)), hour, int(m.group(5)))
    m = _DATETIME_RE.fullmatch(text)
    if m is not None:
        y, mo, d, h, mi, s = (int(g) if g is not None else 0 for g in m.groups())
        return _iso(y, mo, d, h, mi, s)
    m = _DATE_RE.fullmatch(text)
    if m is not None:
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None
