"""Server settings: everything the app factory needs, passed in explicitly (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curator.pipeline import PipelineOptions
from curator.signing import SigningKey  # at run time: Litestar resolves these annotations
from server.admin.settings import AdminSettings
from server.logthrottle import DEFAULT_QUIET_SECONDS
from server.runtime.engine import default_url


@dataclass(frozen=True)
class ServerSettings:
    """Configuration of one server instance.

    - ``storage``: the local build storage directory (``repository/current`` is served);
    - ``public_url``: the public base URL of the repository (shown in the setup snippet), or
      None to use the request's own base URL;
    - ``stale_after``: ``/health`` answers 503 when the promoted build's data commit is older
      than this many seconds; ``health_log_quiet``: seconds between two log lines of the same
      ``/health`` problem while it lasts (the polls in between are counted, not logged;
      :class:`server.logthrottle.ProblemThrottle`), positive;
    - ``trusted_proxies``: addresses or networks (``10.0.0.0/8``) whose ``X-Forwarded-For``
      the app believes for the client address (telemetry); everything else is a client;
    - ``data_repo`` / ``data_prefix`` / ``data_ref``: the data repository, optional; when set
      ``/health`` reports the newest sync run;
    - ``per_page``: search results per page; ``page_cache_size``: rendered pages kept per build;
    - ``database_url``: the runtime database (telemetry), default a SQLite file in
      ``<storage>/runtime/``; ``postgresql+psycopg://...`` when instances share state;
    - ``telemetry_max_body`` / ``telemetry_max_entries``: bounds of a ``POST /downloads``;
    - ``rollup_interval``: seconds between in-process rollups, None for none (then run
      ``curator telemetry rollup`` from cron);
    - ``counts_refresh``: seconds install counts may lag behind other server instances;
      ``ranking_refresh``: the same for the order of ``sort=downloads``;
      ``page_counts_refresh``: seconds a cached browse or search page may go on showing
      older counts (installs evict cached pages at most this often; a new build at once);
    - ``pipeline_interval``: seconds between in-process pipeline runs (sync, build, promote
      of ``data_repo`` into ``storage``; :mod:`server.pipeline_scheduler`), None for none
      (then run ``curator pipeline`` from a timer); ``pipeline_options``: what they sync and
      from where; ``pipeline_signer``: the key that signs their builds, if any;
    - ``admin``: session lifetimes, login rate limits and the log buffer of the admin area.
    """

    storage: Path
    public_url: str | None = None
    stale_after: float = 2 * 24 * 3600.0
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    data_repo: Path | None = None
    data_prefix: str | None = None
    data_ref: str | None = None
    per_page: int = 20
    max_page: int = 500
    page_cache_size: int = 2048
    debug: bool = False
    site_name: str = "WordPress.org Composer registry"
    database_url: str | None = None
    telemetry_max_body: int = 64 * 1024
    telemetry_max_entries: int = 100
    rollup_interval: float | None = None
    counts_refresh: float = 1.0
    ranking_refresh: float = 2.0
    page_counts_refresh: float = 60.0
    admin: AdminSettings = field(default_factory=AdminSettings)
    pipeline_interval: float | None = None
    pipeline_options: PipelineOptions = field(default_factory=PipelineOptions)
    pipeline_signer: SigningKey | None = None
    health_log_quiet: float = DEFAULT_QUIET_SECONDS

    def __post_init__(self) -> None:
        if not self.health_log_quiet > 0:  # also refuses NaN
            raise ValueError(
                "ServerSettings.health_log_quiet must be a positive number of seconds, "
                f"got {self.health_log_quiet!r}"
            )

    def runtime_url(self) -> str:
        """The runtime database URL: ``database_url`` or the SQLite file in ``storage``."""
        return self.database_url or default_url(self.storage)
