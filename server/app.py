"""The application factory: ``create_app(settings) -> Litestar``.

Everything the app uses is made here from ``settings`` (no import-time side effects, no
globals) and handed to handlers through dependency injection: ``site`` (the :class:`Site`),
``sync_runs`` (the optional sync-run reader of ``/health``), ``health_log`` (the
:class:`ProblemThrottle` that keeps ``/health``'s warnings from flooding the log),
``telemetry_writer`` (the :class:`BatchWriter` in front of the :class:`TelemetryStore`),
``trusted_proxies`` and ``shutdown`` (the :class:`Shutdown` flag that ends the admin log
stream when the server stops; ``curator serve`` sets it when uvicorn starts shutting down).
The runtime database (telemetry) is migrated when the app starts (lifespan); with
``settings.rollup_interval`` a background task rolls counts up, with
``settings.pipeline_interval`` another runs the pipeline (:mod:`server.pipeline_scheduler`).
Logging is left to the process (``curator serve`` configures it: :mod:`curator.logs`), so
Litestar does not replace the root logger's handlers. Routes:

- ``GET /``, ``GET /packages/{vendor}/{slug}``: HTML pages (``server.routes.browse``,
  ``server.routes.packages``); ``/static/*``: the stylesheet;
- ``GET /api/packages``, ``GET /api/packages/{vendor}/{slug}``: JSON (``server.routes.api``);
- ``GET /packages.json``, ``/list.json``, ``/p2/{vendor}/{file}``: repository files;
- ``POST /downloads``: Composer's notify-batch (``server.routes.telemetry``);
- ``GET /health``; the OpenAPI document at ``/schema`` and ``/schema/openapi.json`` (and
  ``.yaml``), without Litestar's HTML viewers: they load scripts from CDNs (one from a
  mutable ``latest`` URL) on the admin area's origin, where such a script could act as a
  signed-in admin;
- ``/admin/...``: the admin area (``server.routes.admin``, ``server.routes.admin_auth``),
  whose services (``admin``: users, sessions, rate limits, the log buffer) are made here too;
  the log buffer is attached to the root logger while the app runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

from curator import __version__
from server import errors
from server.admin.area import AdminArea, make_admin_area
from server.build_reader import BuildReader, NoBuildError
from server.counts import Counts
from server.logthrottle import ProblemThrottle
from server.pipeline_scheduler import PipelineJob, PipelineScheduler
from server.routes.admin import AdminController
from server.routes.admin_auth import AdminLoginController
from server.routes.api import ApiController
from server.routes.browse import BrowseController
from server.routes.health import HealthController, SyncRunReader
from server.routes.packages import PackagesController
from server.routes.repository import RepositoryController
from server.routes.telemetry import TelemetryController
from server.runtime.engine import make_engine
from server.runtime.migrate import upgrade
from server.search import QueryError
from server.settings import ServerSettings
from server.shutdown import Shutdown
from server.site import STATIC, CountsGeneration, Site, make_templates
from server.telemetry.clientip import TrustedProxies, trusted_proxies
from server.telemetry.common import Clock
from server.telemetry.counts import DbCounts
from server.telemetry.scheduler import RollupScheduler
from server.telemetry.store import TelemetryStore
from server.telemetry.writer import BatchWriter


def create_app(
    settings: ServerSettings,
    *,
    counts: Counts | None = None,
    clock: Clock = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    health_log: ProblemThrottle | None = None,
    shutdown: Shutdown | None = None,
) -> Litestar:
    """A Litestar app serving the build promoted in ``settings.storage``.

    ``counts`` provides Composer install counts (default: the runtime database's, see
    :class:`DbCounts`; :class:`server.counts.ZeroCounts` for none); ``clock`` is the time
    telemetry uses (Unix seconds; tests move it); ``monotonic`` measures the intervals of
    counts (``counts_refresh``, ``ranking_refresh``, ``page_counts_refresh``; tests move it
    too); ``health_log`` decides when ``/health`` logs a problem again (default: every
    ``settings.health_log_quiet`` seconds on the monotonic clock; tests pass their own);
    ``shutdown`` is the flag whose setting ends long-lived responses (default: a new one;
    the server running the app sets it when it starts shutting down, the lifespan at the
    latest).
    """
    proxies = trusted_proxies(settings.trusted_proxies)
    engine = make_engine(settings.runtime_url())
    db_counts = DbCounts(
        engine,
        clock=clock,
        refresh=settings.counts_refresh,
        ranking_refresh=settings.ranking_refresh,
        monotonic=monotonic,
    )
    store = TelemetryStore(engine, clock=clock, on_change=db_counts.invalidate)
    writer = BatchWriter(store)
    scheduler = (
        RollupScheduler(store, settings.rollup_interval)
        if settings.rollup_interval is not None
        else None
    )
    pipelines = _pipeline_scheduler(settings)
    site_counts = counts if counts is not None else db_counts
    site = Site(
        settings=settings,
        reader=BuildReader(settings.storage, page_cache_size=settings.page_cache_size),
        counts=site_counts,
        templates=make_templates(),
        generation=CountsGeneration(
            site_counts.epoch, settings.page_counts_refresh, monotonic=monotonic
        ),
    )
    admin = make_admin_area(
        engine,
        settings.admin,
        storage=site.reader.storage,
        trusted=proxies,
        clock=clock,
    )
    health_problems = (
        health_log if health_log is not None else ProblemThrottle(quiet=settings.health_log_quiet)
    )
    stopping = shutdown if shutdown is not None else Shutdown()
    sync_runs = (
        SyncRunReader(settings.data_repo, settings.data_prefix, settings.data_ref)
        if settings.data_repo is not None
        else None
    )

    def provide_site() -> Site:
        return site

    def provide_sync_runs() -> SyncRunReader | None:
        return sync_runs

    def provide_health_log() -> ProblemThrottle:
        return health_problems

    def provide_writer() -> BatchWriter:
        return writer

    def provide_trusted_proxies() -> TrustedProxies:
        return proxies

    def provide_admin() -> AdminArea:
        return admin

    def provide_shutdown() -> Shutdown:
        return stopping

    @asynccontextmanager
    async def runtime(_app: Litestar) -> AsyncIterator[None]:
        stopping.clear()
        await anyio.to_thread.run_sync(upgrade, engine)
        admin.logs.attach()  # the root logger (/admin/logs), detached at shutdown
        admin.logs.lower_level(logging.getLogger("server"), logging.INFO)
        try:
            async with anyio.create_task_group() as tasks:
                if scheduler is not None:
                    tasks.start_soon(scheduler.run)
                if pipelines is not None:
                    tasks.start_soon(pipelines.run)
                yield
                tasks.cancel_scope.cancel()
        finally:
            stopping.set()  # uvicorn: already set by curator serve's server (server.cli)
            await anyio.to_thread.run_sync(writer.stop)
            admin.logs.detach()
            engine.dispose()

    return Litestar(
        route_handlers=[
            BrowseController,
            PackagesController,
            ApiController,
            RepositoryController,
            HealthController,
            TelemetryController,
            AdminLoginController,
            AdminController,
            create_static_files_router(
                path="/static", directories=[STATIC], include_in_schema=False
            ),
        ],
        dependencies={
            "site": Provide(provide_site, use_cache=True, sync_to_thread=False),
            "sync_runs": Provide(provide_sync_runs, use_cache=True, sync_to_thread=False),
            "health_log": Provide(provide_health_log, use_cache=True, sync_to_thread=False),
            "telemetry_writer": Provide(provide_writer, use_cache=True, sync_to_thread=False),
            "trusted_proxies": Provide(
                provide_trusted_proxies, use_cache=True, sync_to_thread=False
            ),
            "admin": Provide(provide_admin, use_cache=True, sync_to_thread=False),
            "shutdown": Provide(provide_shutdown, use_cache=True, sync_to_thread=False),
        },
        lifespan=[runtime],
        exception_handlers={
            HTTPException: errors.http_error,
            QueryError: errors.query_error,
            NoBuildError: errors.no_build,
            Exception: errors.server_error,
        },
        state=State(
            {
                "site": site,
                "telemetry": store,
                "scheduler": scheduler,
                "pipeline_scheduler": pipelines,
                "admin": admin,
                "shutdown": stopping,
                "health_log": health_problems,
            }
        ),
        openapi_config=OpenAPIConfig(
            title="WordPress.org Composer registry",
            version=__version__,
            path="/schema",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        ),
        debug=settings.debug,
        logging_config=None,
    )


def _pipeline_scheduler(settings: ServerSettings) -> PipelineScheduler | None:
    if settings.pipeline_interval is None:
        return None
    if settings.data_repo is None:
        raise ValueError("scheduled pipeline runs need the data repository (data_repo)")
    job = PipelineJob(
        repo=settings.data_repo,
        prefix=settings.data_prefix,
        ref=settings.data_ref,
        storage=settings.storage,
        options=settings.pipeline_options,
        signer=settings.pipeline_signer,
    )
    return PipelineScheduler(job, settings.pipeline_interval)
