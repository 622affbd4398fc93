"""The admin pages (HTML, usable without JavaScript), all behind :func:`admin_guard`.

- ``GET /admin/``: overview (the promoted build, data age, newest sync run, install totals);
- ``GET /admin/sync-runs``: sync runs from the data repository's commit trailers;
- ``GET /admin/builds``; ``POST /admin/builds/promote``, ``POST /admin/builds/rollback``;
- ``GET /admin/overrides``: overrides in effect in the promoted build;
- ``GET /admin/telemetry``: install totals and the most installed packages;
- ``GET /admin/logs``: recent log records, ``?level=``; ``GET /admin/logs/stream``: the same
  as Server-Sent Events while the page is open (``static/admin-logs.js``), ended after
  ``stream_seconds`` (the browser reconnects) or as soon as the server starts shutting down
  (the app's :class:`server.shutdown.Shutdown`);
- ``POST /admin/logout``.

The guard checks the session and, on every POST, the CSRF token; handlers get the session
as ``admin_session`` and the checked form as ``admin_form``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from curator.build.manifest import InvalidBuildError, parse_time
from curator.storage.local import NoSuchBuildError, StorageError, check_build_id
from server.admin.area import AdminArea
from server.admin.sessions import Session
from server.admin.views import overrides_in_effect, telemetry_totals
from server.admin.web import (
    ADMIN_EXCEPTION_HANDLERS,
    CSRF_FIELD,
    MAX_FORM_BODY,
    SESSION_COOKIE,
    admin_guard,
    admin_html,
    current_form,
    current_session,
    expired_cookie,
    is_https,
    redirect,
    session_token,
)
from server.build_reader import Build, NoBuildError
from server.logbuffer import LEVELS, level_number
from server.routes.health import SyncRunReader
from server.shutdown import Shutdown
from server.site import AnyRequest, Site

log = logging.getLogger("server.admin")

SYNC_RUNS_SHOWN: Final = 50
LOG_RECORDS_SHOWN: Final = 200
STREAM_POLL: Final = 0.5
STREAM_KEEPALIVE: Final = 15.0
NAV: Final = (
    ("/admin/", "Overview"),
    ("/admin/sync-runs", "Sync runs"),
    ("/admin/builds", "Builds"),
    ("/admin/overrides", "Overrides"),
    ("/admin/telemetry", "Telemetry"),
    ("/admin/logs", "Logs"),
)
DONE_MESSAGES: Final = {"promote": "Promoted build {}.", "rollback": "Rolled back to build {}."}


def _current(site: Site) -> Build | None:
    try:
        return site.reader.current()
    except NoBuildError:
        return None


class AdminController(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [admin_guard]  # noqa: RUF012 (Litestar's layered attribute)
    exception_handlers = ADMIN_EXCEPTION_HANDLERS  # type: ignore[assignment]
    request_max_body_size = MAX_FORM_BODY
    dependencies = {  # noqa: RUF012
        "admin_session": Provide(current_session, sync_to_thread=False),
        "admin_form": Provide(current_form, sync_to_thread=False),
    }

    def _page(
        self,
        site: Site,
        session: Session,
        template: str,
        active: str,
        status: int = 200,
        **context: Any,
    ) -> Response[bytes]:
        body = site.render(
            template,
            nav=NAV,
            active=active,
            user_email=session.email,
            csrf_token=session.csrf_token,
            csrf_field=CSRF_FIELD,
            **context,
        )
        return admin_html(body, status)

    # --- overview --------------------------------------------------------------------------

    @get("/", sync_to_thread=True)
    def overview(
        self,
        site: NamedDependency[Site],
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
        sync_runs: NamedDependency[SyncRunReader | None],
    ) -> Response[bytes]:
        build = _current(site)
        age = None
        packages: dict[str, int] = {}
        if build is not None:
            age = int(time.time() - parse_time(build.manifest.time).timestamp())
            packages = build.search.totals() if build.search is not None else {}
        return self._page(
            site,
            admin_session,
            "admin/overview.html",
            "/admin/",
            build=build,
            data_age_text=_duration(age) if age is not None else "—",
            stale=age is not None and age > site.settings.stale_after,
            packages=packages,
            sync=sync_runs.newest() if sync_runs is not None else None,
            totals=telemetry_totals(admin.engine, admin.clock(), top=5),
        )

    # --- sync runs -------------------------------------------------------------------------

    @get("/sync-runs", sync_to_thread=True)
    def sync_runs_page(
        self,
        site: NamedDependency[Site],
        admin_session: NamedDependency[Session],
        sync_runs: NamedDependency[SyncRunReader | None],
    ) -> Response[bytes]:
        runs = None
        error = None
        if sync_runs is not None:
            try:
                runs = sync_runs.history(SYNC_RUNS_SHOWN)
            except Exception as exc:  # shown on the page: the data repository is optional
                error = f"{type(exc).__name__}: {exc}"
        return self._page(
            site,
            admin_session,
            "admin/sync_runs.html",
            "/admin/sync-runs",
            configured=sync_runs is not None,
            runs=runs,
            error=error,
        )

    # --- builds ----------------------------------------------------------------------------

    def _builds(
        self,
        site: Site,
        admin: AdminArea,
        session: Session,
        *,
        status: int = 200,
        notice: str | None = None,
        error: str | None = None,
        problems: list[str] | None = None,
    ) -> Response[bytes]:
        return self._page(
            site,
            session,
            "admin/builds.html",
            "/admin/builds",
            status=status,
            rows=admin.builds.rows(),
            notice=notice,
            error=error,
            problems=problems or [],
        )

    @get("/builds", sync_to_thread=True)
    def builds(
        self,
        request: AnyRequest,
        site: NamedDependency[Site],
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
    ) -> Response[bytes]:
        notice = None
        done, build_id = request.query_params.get("done"), request.query_params.get("build")
        if done in DONE_MESSAGES and build_id:
            try:
                notice = DONE_MESSAGES[done].format(check_build_id(build_id))
            except ValueError:
                notice = None
        return self._builds(site, admin, admin_session, notice=notice)

    def _switch(
        self,
        action: str,
        site: Site,
        admin: AdminArea,
        session: Session,
        form: dict[str, str],
    ) -> Response[bytes]:
        raw = form.get("build", "").strip()
        try:
            build_id = check_build_id(raw) if raw else None
        except ValueError:
            return self._builds(site, admin, session, status=400, error="Not a build id.")
        if action == "promote" and build_id is None:
            return self._builds(site, admin, session, status=400, error="Choose a build.")
        before = _current(site)
        try:
            if action == "promote":
                assert build_id is not None
                info = admin.builds.promote(build_id)
            else:
                info = admin.builds.rollback(build_id)
        except NoSuchBuildError as exc:
            return self._builds(site, admin, session, status=404, error=str(exc))
        except InvalidBuildError as exc:
            return self._builds(
                site,
                admin,
                session,
                status=409,
                error=f"Build {build_id} is not valid and was not promoted.",
                problems=exc.problems[:20],
            )
        except StorageError as exc:
            return self._builds(site, admin, session, status=409, error=str(exc))
        log.warning(
            "admin %s: %s to build %s (was %s)",
            session.email,
            action,
            info.id,
            before.id if before is not None else "none",
            extra={"admin_action": action, "build": info.id},
        )
        return redirect(f"/admin/builds?done={action}&build={info.id}")

    @post("/builds/promote", sync_to_thread=True)
    def promote(
        self,
        site: NamedDependency[Site],
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
        admin_form: NamedDependency[dict[str, str]],
    ) -> Response[bytes]:
        return self._switch("promote", site, admin, admin_session, admin_form)

    @post("/builds/rollback", sync_to_thread=True)
    def rollback(
        self,
        site: NamedDependency[Site],
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
        admin_form: NamedDependency[dict[str, str]],
    ) -> Response[bytes]:
        return self._switch("rollback", site, admin, admin_session, admin_form)

    # --- overrides and telemetry -----------------------------------------------------------

    @get("/overrides", sync_to_thread=True)
    def overrides(
        self, site: NamedDependency[Site], admin_session: NamedDependency[Session]
    ) -> Response[bytes]:
        build = _current(site)
        found = overrides_in_effect(build.path) if build is not None else None
        return self._page(
            site,
            admin_session,
            "admin/overrides.html",
            "/admin/overrides",
            build=build,
            overrides=found,
        )

    @get("/telemetry", sync_to_thread=True)
    def telemetry(
        self,
        site: NamedDependency[Site],
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
    ) -> Response[bytes]:
        return self._page(
            site,
            admin_session,
            "admin/telemetry.html",
            "/admin/telemetry",
            totals=telemetry_totals(admin.engine, admin.clock(), top=50),
        )

    # --- logs ------------------------------------------------------------------------------

    @get("/logs", sync_to_thread=False)
    def logs(
        self,
        request: AnyRequest,
        site: NamedDependency[Site],
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
    ) -> Response[bytes]:
        level = _level_param(request.query_params.get("level"))
        records, last = admin.logs.snapshot(level_number(level), 0, LOG_RECORDS_SHOWN)
        return self._page(
            site,
            admin_session,
            "admin/logs.html",
            "/admin/logs",
            levels=LEVELS,
            level=level,
            records=list(reversed(records)),
            last_seq=last,
        )

    @get("/logs/stream", sync_to_thread=False)
    def logs_stream(
        self,
        request: AnyRequest,
        admin: NamedDependency[AdminArea],
        shutdown: NamedDependency[Shutdown],
    ) -> ServerSentEvent:
        level = level_number(_level_param(request.query_params.get("level")))
        after = _int_param(request.headers.get("last-event-id")) or _int_param(
            request.query_params.get("after")
        )
        buffer = admin.logs
        if after > buffer.last_seq:  # a buffer of an earlier server process: start from now
            after = buffer.last_seq
        limit = admin.settings.stream_seconds

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            last = after
            deadline = time.monotonic() + limit
            quiet_since = time.monotonic()
            yield ServerSentEventMessage(comment="log stream", retry=2000)
            while time.monotonic() < deadline and not shutdown.is_set():
                records, newest = buffer.snapshot(level, last, LOG_RECORDS_SHOWN)
                for record in records:
                    data = orjson.dumps({k: v for k, v in record.items() if k != "levelno"})
                    yield ServerSentEventMessage(data=data.decode(), event="log", id=record["seq"])
                last = newest
                if records:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > STREAM_KEEPALIVE:
                    yield ServerSentEventMessage(comment="keep-alive")
                    quiet_since = time.monotonic()
                if await shutdown.wait(STREAM_POLL):  # the server stops: end the response
                    return

        return ServerSentEvent(events(), headers={"Cache-Control": "no-store"})

    # --- logout ----------------------------------------------------------------------------

    @post("/logout", sync_to_thread=True)
    def logout(
        self,
        request: AnyRequest,
        admin: NamedDependency[AdminArea],
        admin_session: NamedDependency[Session],
    ) -> Response[bytes]:
        admin.sessions.revoke(session_token(request, admin.trusted))
        log.info("admin %s logged out", admin_session.email)
        secure = is_https(request, admin.trusted)
        return redirect("/admin/login?signed_out=1", [expired_cookie(SESSION_COOKIE, secure)])


def _duration(seconds: int) -> str:
    """``3 d 4 h``, ``5 h 12 min``, ``42 s``: a data age for people."""
    if seconds < 0:
        return f"{seconds} s (the commit is in the future)"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _level_param(value: str | None) -> str:
    upper = (value or "").strip().upper()
    return upper if upper in LEVELS else "INFO"


def _int_param(value: str | None) -> int:
    if value is None:
        return 0
    text = value.strip()
    return int(text) if text.isdigit() and len(text) < 19 else 0
