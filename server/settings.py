"""Server settings: everything the app factory needs, passed in explicitly (no globals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerSettings:
    """Configuration of one server instance.

    - ``storage``: the local build storage directory (``repository/current`` is served);
    - ``public_url``: the public base URL of the repository (shown in the setup snippet), or
      None to use the request's own base URL;
    - ``stale_after``: ``/health`` answers 503 when the promoted build's data commit is older
      than this many seconds;
    - ``trusted_proxies``: addresses whose ``X-Forwarded-*`` headers uvicorn believes;
    - ``data_repo`` / ``data_prefix`` / ``data_ref``: the data repository, optional; when set
      ``/health`` reports the newest sync run;
    - ``per_page``: search results per page; ``page_cache_size``: rendered pages kept per build.
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
