"""``curator serve``: run the web server (uvicorn) over the local build storage.

uvicorn's own proxy-header handling is off: the app takes the client address from
``X-Forwarded-For`` itself, only when the peer is a ``--trusted-proxy``
(:mod:`server.telemetry.clientip`), so it is never applied twice.

The lead mounts :data:`serve` on the ``curator`` group, whose ``ctx.obj`` is
:class:`curator.cli._context.Settings` (its ``storage`` is the default of ``--storage``).

uvicorn's loggers go through the logging the ``curator`` group configured
(:mod:`curator.logs`: text or JSON lines, stderr and ``--log-file``), at ``info`` unless
``--log-level`` says otherwise. ``--with-scheduler`` also runs the pipeline (sync, build,
promote; the global ``--repo`` is needed) every ``--pipeline-interval`` seconds.

On SIGTERM or SIGINT uvicorn stops accepting connections and waits for the open responses
before the app's lifespan shutdown; :class:`_Server` sets the app's
:class:`server.shutdown.Shutdown` first, so the admin log streams end at once instead of
holding the process until they time out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from curator import logs
from curator.pipeline import PipelineOptions
from server.app import create_app
from server.settings import ServerSettings
from server.shutdown import Shutdown
from server.telemetry.cli import database_url_option, resolve_url
from server.telemetry.clientip import trusted_proxies as parse_trusted

if TYPE_CHECKING:
    from litestar import Litestar

    from curator.signing import SigningKey


def _positive_seconds(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not value > 0:  # also refuses nan
        raise click.BadParameter(f"must be a positive number of seconds, got {value}")
    return value


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
    help="Address or network whose X-Forwarded-For is believed (repeatable; default 127.0.0.1).",
)
@click.option(
    "--health-log-quiet",
    default=300,
    show_default=True,
    type=float,
    callback=_positive_seconds,
    help="Seconds between two log lines of the same /health problem while it lasts.",
)
@database_url_option
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="In this process, roll install counts up every --rollup-interval seconds and run "
    "the pipeline every --pipeline-interval seconds (needs the global --repo).",
)
@click.option(
    "--rollup-interval",
    default=300,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds between rollups with --with-scheduler.",
)
@click.option(
    "--pipeline-interval",
    default=3600,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seconds between pipeline runs (sync, build, promote) with --with-scheduler; "
    "0: none (rollups only).",
)
@click.option(
    "--pipeline-upstream",
    metavar="BASE",
    envvar="CURATOR_UPSTREAM",
    help="Scheduled syncs read this base URL (a replay) instead of registry.json's upstream.",
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
    health_log_quiet: float,
    database_url: str | None,
    with_scheduler: bool,
    rollup_interval: int,
    pipeline_interval: int,
    pipeline_upstream: str | None,
) -> None:
    """Serve the promoted build: pages, JSON API, repository files and /health.

    With --with-scheduler the server also rolls install counts up and runs the pipeline
    (as `curator pipeline` does) periodically; a round is skipped while another pipeline
    holds the storage's lock (e.g. one started by a systemd timer).
    """
    obj = ctx.obj  # curator.cli._context.Settings when mounted on the curator group
    repo = getattr(obj, "repo", None)
    root = storage or getattr(obj, "storage", None) or Path("storage")
    try:
        parse_trusted(trusted_proxies)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--trusted-proxy") from exc
    scheduled = with_scheduler and pipeline_interval > 0
    if scheduled:
        _check_data_repo(repo, getattr(obj, "prefix", None), getattr(obj, "ref", None))
    settings = ServerSettings(
        storage=root,
        public_url=public_url,
        stale_after=float(stale_after),
        health_log_quiet=health_log_quiet,
        trusted_proxies=trusted_proxies or ("127.0.0.1",),
        data_repo=repo,
        data_prefix=getattr(obj, "prefix", None),
        data_ref=getattr(obj, "ref", None),
        database_url=resolve_url(ctx, root, database_url),
        rollup_interval=float(rollup_interval) if with_scheduler else None,
        pipeline_interval=float(pipeline_interval) if scheduled else None,
        pipeline_options=PipelineOptions(upstream=pipeline_upstream),
        pipeline_signer=_signer() if scheduled else None,
    )
    setup = logs.current(ctx) or logs.configure()
    setup.service_defaults()
    if not root.is_dir():  # a first start before any build, or a mistyped --storage
        logging.getLogger("server.cli").warning(
            "storage directory %s does not exist (yet): /health answers 503 until a build is "
            "promoted there; check --storage / CURATOR_STORAGE if one was",
            root,
        )
    shutdown = Shutdown()
    run_server(
        create_app(settings, shutdown=shutdown),
        shutdown,
        host=host,
        port=port,
        proxy_headers=False,
        log_config=None,  # records go to the handlers of curator.logs
        log_level=logging.getLogger().level,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, which sets the app's :class:`Shutdown` when it starts shutting down
    (before it waits for the open responses)."""

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self._app_shutdown = shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._app_shutdown.set()  # in the event loop, as Shutdown wants
        await super().shutdown(sockets)


def run_server(app: Litestar, shutdown: Shutdown, **options: Any) -> None:
    """Serve ``app`` with uvicorn (``options``: :class:`uvicorn.Config`'s) until SIGTERM or
    SIGINT, setting ``shutdown`` as soon as uvicorn starts shutting down. As ``uvicorn.run``:
    exits with status 3 when the server did not start (e.g. the port is in use)."""
    server = _Server(uvicorn.Config(app, **options), shutdown)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises SIGINT when it is done
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _check_data_repo(repo: Path | None, prefix: str | None, ref: str | None) -> None:
    """Scheduled pipelines need a data repository that opens (errors: usage or data)."""
    if repo is None:
        raise click.UsageError(
            "--with-scheduler runs the pipeline every --pipeline-interval seconds and needs "
            "the data repository: give --repo (or CURATOR_REPO), or --pipeline-interval 0 "
            "for rollups only"
        )
    from curator.datarepo import DataRepo

    data = DataRepo.open(repo, prefix, ref)
    try:
        data.view().config()
    finally:
        data.store.close()


def _signer() -> SigningKey | None:
    from curator.signing import SigningError, load_signing_key

    try:
        return load_signing_key(os.environ)
    except SigningError as exc:
        raise click.UsageError(str(exc)) from exc
