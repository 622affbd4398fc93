"""WordPress.org upstream: the only part of the curator that talks HTTP to WordPress.org.

- :class:`WporgClient` (:mod:`curator.upstream.client`): package info with retries and bounded
  concurrency, SVN listings, the Trac change log;
- result types (:mod:`curator.upstream.results`): :data:`InfoResult` = :class:`Found` |
  :class:`Closed` | :class:`NotFound` | :class:`Failed`; :class:`SvnListing`,
  :class:`LogEntry`, :class:`Changes`; :class:`UpstreamError` for failed discovery;
- pure parsers (:mod:`curator.upstream.parse`) for each kind of answer, and the field set
  asked of the info APIs (:mod:`curator.upstream.fields`).
"""

from curator.upstream.client import (
    ClientStats,
    WporgClient,
    default_user_agent,
    retry_after_seconds,
)
from curator.upstream.fields import (
    KEPT_FIELDS,
    PLUGIN_FIELDS,
    THEME_FIELDS,
    info_url,
    requested_fields,
)
from curator.upstream.parse import (
    ParseError,
    SvnListingParser,
    changed_slugs,
    parse_info_response,
    parse_svn_listing,
    parse_trac_changelog,
)
from curator.upstream.results import (
    Changes,
    Closed,
    Failed,
    FailureKind,
    Found,
    InfoResult,
    LogEntry,
    NotFound,
    SvnListing,
    UpstreamError,
)

__all__ = [
    "KEPT_FIELDS",
    "PLUGIN_FIELDS",
    "THEME_FIELDS",
    "Changes",
    "ClientStats",
    "Closed",
    "Failed",
    "FailureKind",
    "Found",
    "InfoResult",
    "LogEntry",
    "NotFound",
    "ParseError",
    "SvnListing",
    "SvnListingParser",
    "UpstreamError",
    "WporgClient",
    "changed_slugs",
    "default_user_agent",
    "info_url",
    "parse_info_response",
    "parse_svn_listing",
    "parse_trac_changelog",
    "requested_fields",
    "retry_after_seconds",
]
