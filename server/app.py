"""The application factory: ``create_app(settings) -> Litestar``.

Everything the app uses is made here from ``settings`` (no import-time side effects, no
globals) and handed to handlers through dependency injection: ``site`` (the :class:`Site`)
and ``sync_runs`` (the optional sync-run reader of ``/health``). Routes:

- ``GET /``, ``GET /packages/{vendor}/{slug}``: HTML pages (``server.routes.browse``,
  ``server.routes.packages``); ``/static/*``: the stylesheet;
- ``GET /api/packages``, ``GET /api/packages/{vendor}/{slug}``: JSON (``server.routes.api``);
- ``GET /packages.json``, ``/list.json``, ``/p2/{vendor}/{file}``: repository files;
- ``GET /health``; the OpenAPI document at ``/schema/openapi.json``.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from curator import __version__
from server import errors
from server.build_reader import BuildReader, NoBuildError
from server.counts import Counts, ZeroCounts
from server.routes.api import ApiController
from server.routes.browse import BrowseController
from server.routes.health import HealthController, SyncRunReader
from server.routes.packages import PackagesController
from server.routes.repository import RepositoryController
from server.search import QueryError
from server.settings import ServerSettings
from server.site import STATIC, Site, make_templates


def create_app(settings: ServerSettings, *, counts: Counts | None = None) -> Litestar:
    """A Litestar app serving the build promoted in ``settings.storage``.

    ``counts`` provides Composer install counts (default: zeros until telemetry lands).
    """
    site = Site(
        settings=settings,
        reader=BuildReader(settings.storage, page_cache_size=settings.page_cache_size),
        counts=counts if counts is not None else ZeroCounts(),
        templates=make_templates(),
    )
    sync_runs = (
        SyncRunReader(settings.data_repo, settings.data_prefix, settings.data_ref)
        if settings.data_repo is not None
        else None
    )

    def provide_site() -> Site:
        return site

    def provide_sync_runs() -> SyncRunReader | None:
        return sync_runs

    return Litestar(
        route_handlers=[
            BrowseController,
            PackagesController,
            ApiController,
            RepositoryController,
            HealthController,
            create_static_files_router(
                path="/static", directories=[STATIC], include_in_schema=False
            ),
        ],
        dependencies={
            "site": Provide(provide_site, use_cache=True, sync_to_thread=False),
            "sync_runs": Provide(provide_sync_runs, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={
            HTTPException: errors.http_error,
            QueryError: errors.query_error,
            NoBuildError: errors.no_build,
            Exception: errors.server_error,
        },
        state=State({"site": site}),
        openapi_config=OpenAPIConfig(
            title="WordPress.org Composer registry", version=__version__, path="/schema"
        ),
        debug=settings.debug,
    )
