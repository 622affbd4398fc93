"""``curator serve``: run the web server (uvicorn) over the local build storage.

The lead mounts :data:`serve` on the ``curator`` group, whose ``ctx.obj`` is
:class:`curator.cli._context.Settings` (its ``storage`` is the default of ``--storage``).
"""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from server.app import create_app
from server.settings import ServerSettings


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--storage",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Build storage directory (default: the global --storage, else ./storage).",
)
@click.option("--public-url", default=None, help="Public base URL of the repository.")
@click.option(
    "--stale-after",
    default=2 * 24 * 3600,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds after which /health reports the data as stale (503).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    help="Address whose X-Forwarded-* headers are trusted (repeatable; default 127.0.0.1).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    storage: Path | None,
    public_url: str | None,
    stale_after: int,
    trusted_proxies: tuple[str, ...],
) -> None:
    """Serve the promoted build: pages, JSON API, repository files and /health."""
    obj = ctx.obj  # curator.cli._context.Settings when mounted on the curator group
    repo = getattr(obj, "repo", None)
    settings = ServerSettings(
        storage=storage or getattr(obj, "storage", None) or Path("storage"),
        public_url=public_url,
        stale_after=float(stale_after),
        trusted_proxies=trusted_proxies or ("127.0.0.1",),
        data_repo=repo,
        data_prefix=getattr(obj, "prefix", None),
        data_ref=getattr(obj, "ref", None),
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=list(settings.trusted_proxies),
        log_level="info",
    )
