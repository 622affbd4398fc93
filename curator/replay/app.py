"""The replay's ASGI application: WordPress.org's endpoints under one base URL.

Routes (relative to the base; the layout of ``UpstreamConfig.from_base(base)``):

* ``GET /plugins/info/1.2/?action=plugin_information&request[slug]=..`` and
  ``GET /themes/info/1.2/?action=theme_information&..`` — see :mod:`curator.replay.api`;
* ``GET /svn/plugins/``, ``GET /svn/themes/`` — mod_dav_svn listings at the head revision;
* ``GET /trac/plugins/log/``, ``GET /trac/themes/log/`` — ``format=changelog`` (required),
  ``rev`` (newest, default HEAD), ``stop_rev`` (oldest), ``limit`` (default 100);
* ``GET /downloads/plugin/<slug>[.<version>].zip``, ``GET /downloads/theme/<slug>.<version>.zip``;
* control: ``GET /_replay/state``, ``POST /_replay/changes``, ``POST /_replay/mutate``,
  ``GET|POST /_replay/faults``, ``POST /_replay/step``, ``GET /_replay/log?type=..&limit=..``.

Download URLs in served records (``download_link``, ``versions``) that start with
``https://downloads.wordpress.org/`` are rewritten to ``<base>/downloads/``, where ``<base>`` is
the configured public base or ``<scheme>://<Host header>``. ``HEAD`` works wherever ``GET``
does. No framework: one dispatch on the path, bodies cached in :class:`ReplayState`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qs

import orjson

from curator.layout import PackageType
from curator.replay import api
from curator.replay.faults import Fault
from curator.replay.state import (
    ChangeError,
    NoSuchChangeset,
    ReplayState,
    ScriptExhausted,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON: Final = b"application/json; charset=UTF-8"
HTML: Final = b"text/html; charset=UTF-8"
TEXT: Final = b"text/plain;charset=utf-8"
ZIP: Final = b"application/zip"

INFO_PATHS: Final = {
    "/plugins/info/1.2/": PackageType.PLUGIN,
    "/plugins/info/1.2": PackageType.PLUGIN,
    "/plugins/info/1.2/index.php": PackageType.PLUGIN,
    "/themes/info/1.2/": PackageType.THEME,
    "/themes/info/1.2": PackageType.THEME,
    "/themes/info/1.2/index.php": PackageType.THEME,
}
SVN_PATHS: Final = {
    "/svn/plugins/": PackageType.PLUGIN,
    "/svn/plugins": PackageType.PLUGIN,
    "/svn/themes/": PackageType.THEME,
    "/svn/themes": PackageType.THEME,
}
LOG_PATHS: Final = {
    "/trac/plugins/log/": PackageType.PLUGIN,
    "/trac/plugins/log": PackageType.PLUGIN,
    "/trac/themes/log/": PackageType.THEME,
    "/trac/themes/log": PackageType.THEME,
}
DOWNLOAD_PREFIXES: Final = (
    ("/downloads/plugin/", PackageType.PLUGIN),
    ("/downloads/theme/", PackageType.THEME),
)

_REASONS: Final = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
MALFORMED_HTML: Final = (
    b'<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
    b"<title>WordPress.org</title>\n</head>\n<body>\n<h1>Briefly unavailable for scheduled "
    b"maintenance. Check back in a minute.</h1>\n</body>\n</html>\n"
)


def _nginx_page(status: int) -> bytes:
    title = f"{status} {_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}"
        "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    *,
    head: bool = False,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ReplayApp:
    """The ASGI callable. ``release_hangs()`` (thread-safe) ends injected hangs at once."""

    def __init__(self, state: ReplayState, *, public_base: str | None = None) -> None:
        self.state = state
        self.public_base = public_base.rstrip("/") if public_base else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._released = False
        self._guard = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # --- plumbing --------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._stop_event()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _stop_event(self) -> asyncio.Event:
        with self._guard:
            if self._stop is None:
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                if self._released:
                    self._stop.set()
            return self._stop

    def release_hangs(self) -> None:
        """Wake every hanging request (used when the server stops)."""
        with self._guard:
            self._released = True
            loop, event = self._loop, self._stop
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    def _downloads_base(self, scope: Scope) -> str:
        if self.public_base is not None:
            return f"{self.public_base}/downloads"
        scheme = scope.get("scheme", "http")
        for name, value in scope.get("headers", ()):
            if name == b"host":
                return f"{scheme}://{value.decode('latin-1')}/downloads"
        server = scope.get("server") or ("127.0.0.1", 80)
        return f"{scheme}://{server[0]}:{server[1]}/downloads"

    # --- dispatch --------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith("/_replay/"):
            self.state.count_request("control")
            await self._control(path, method, scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            await _respond(
                send, 405, b"Method Not Allowed", TEXT, extra=((b"allow", b"GET, HEAD"),)
            )
            return
        head = method == "HEAD"
        kind = INFO_PATHS.get(path)
        if kind is not None:
            await self._info(kind, scope, receive, send, head)
            return
        kind = SVN_PATHS.get(path)
        if kind is not None:
            await self._svn(kind, path, receive, send, head)
            return
        kind = LOG_PATHS.get(path)
        if kind is not None:
            await self._log(kind, path, scope, receive, send, head)
            return
        for prefix, kind in DOWNLOAD_PREFIXES:
            if path.startswith(prefix):
                await self._download(kind, path, path[len(prefix) :], receive, send, head)
                return
        self.state.count_request("other")
        await _respond(send, 404, b"Not Found", TEXT, head=head)

    async def _injected(
        self,
        info_route: bool,
        key: str,
        slug: tuple[str, str] | None,
        receive: Receive,
        send: Send,
        head: bool,
    ) -> Fault | None:
        """Apply latency and non-malformed faults. Returns ``None`` to go on normally, the
        fault when the caller must send a malformed body, or ``_SENT`` when done."""
        state = self.state
        config = state.faults.config
        if not config.active:
            return None
        delay = state.latency(info_route)
        if delay:
            await asyncio.sleep(delay)
        fault = state.decide_fault(info_route, key, slug)
        if fault is None or fault.kind == "malformed":
            return fault
        if fault.kind == "hang":
            await self._hang(receive, send, config.hang_seconds)
        elif fault.kind == "rate_limit":
            retry = str(config.retry_after).encode()
            await _respond(
                send, 429, _nginx_page(429), HTML, head=head, extra=((b"retry-after", retry),)
            )
        else:
            await _respond(send, fault.status, _nginx_page(fault.status), HTML, head=head)
        return _SENT

    async def _hang(self, receive: Receive, send: Send, seconds: float) -> None:
        stop = self._stop_event()
        sleeper = asyncio.ensure_future(asyncio.sleep(seconds))
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        stopped = asyncio.ensure_future(stop.wait())
        done, pending = await asyncio.wait(
            {sleeper, gone, stopped}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if gone in done:
            return  # the client gave up: nothing to send
        await _respond(send, 504, _nginx_page(504), HTML, extra=((b"connection", b"close"),))

    @staticmethod
    async def _malformed(
        send: Send, fault: Fault, body: bytes, content_type: bytes, head: bool
    ) -> None:
        if fault.html:
            await _respond(send, 200, MALFORMED_HTML, HTML, head=head)
        else:
            await _respond(send, 200, body[: max(0, len(body) // 2 - 1)], content_type, head=head)

    # --- routes ----------------------------------------------------------------------------

    async def _info(
        self, kind: PackageType, scope: Scope, receive: Receive, send: Send, head: bool
    ) -> None:
        state = self.state
        request = api.parse_info_query(scope["query_string"], kind)
        state.count_request("info")
        fault = await self._injected(
            True,
            f"{kind.value}:{request.slug}",
            (kind.value, request.slug or ""),
            receive,
            send,
            head,
        )
        if fault is _SENT:
            return
        if request.action != api.ACTIONS[kind]:
            status, body = 400, api.BODY_ACTION_NOT_IMPLEMENTED
        else:
            status, body = state.info(kind, request, self._downloads_base(scope))
        if fault is not None:
            await self._malformed(send, fault, body, JSON, head)
            return
        await _respond(send, status, body, JSON, head=head)

    async def _svn(
        self, kind: PackageType, path: str, receive: Receive, send: Send, head: bool
    ) -> None:
        self.state.count_request("svn")
        fault = await self._injected(False, path, None, receive, send, head)
        if fault is _SENT:
            return
        body = self.state.listing(kind)
        if fault is not None:
            await self._malformed(send, fault, body, HTML, head)
            return
        await _respond(send, 200, body, HTML, head=head)

    async def _log(
        self,
        kind: PackageType,
        path: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        head: bool,
    ) -> None:
        self.state.count_request("log")
        fault = await self._injected(False, path, None, receive, send, head)
        if fault is _SENT:
            return
        query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        if one("format") != "changelog":
            await _respond(send, 400, b"Only format=changelog is replayed.\n", TEXT, head=head)
            return
        limit_text = one("limit")
        try:
            limit = int(limit_text) if limit_text not in (None, "") else 100
        except ValueError:
            await _respond(send, 400, b"Invalid limit.\n", TEXT, head=head)
            return
        try:
            body = self.state.changelog(kind, one("rev"), one("stop_rev"), limit)
        except NoSuchChangeset as exc:
            await _respond(send, 404, f"Trac Error\n\n{exc}\n".encode(), TEXT, head=head)
            return
        if fault is not None:
            await self._malformed(send, fault, body, TEXT, head)
            return
        await _respond(send, 200, body, TEXT, head=head)

    async def _download(
        self,
        kind: PackageType,
        path: str,
        filename: str,
        receive: Receive,
        send: Send,
        head: bool,
    ) -> None:
        self.state.count_request("download")
        fault = await self._injected(False, path, None, receive, send, head)
        if fault is _SENT:
            return
        body = None if "/" in filename else self.state.download(kind, filename)
        if body is None:
            await _respond(send, 404, b"Not Found", TEXT, head=head)
            return
        if fault is not None:
            await self._malformed(send, fault, body, ZIP, head)
            return
        await _respond(send, 200, body, ZIP, head=head)

    # --- control API -----------------------------------------------------------------------

    async def _control(
        self, path: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        state = self.state
        route = path[len("/_replay/") :].rstrip("/")
        try:
            if route == "state" and method == "GET":
                result: Any = state.snapshot()
            elif route == "log" and method == "GET":
                query = parse_qs(scope["query_string"].decode("latin-1"))
                kind = PackageType(query.get("type", ["plugin"])[-1])
                limit = int(query.get("limit", ["100"])[-1])
                entries = state.log_entries(kind, limit=limit)
                result = {"type": kind.value, "entries": [e.to_dict() for e in entries]}
            elif route == "faults" and method == "GET":
                result = state.snapshot()["faults"]
            elif method != "POST" or route not in ("changes", "mutate", "faults", "step"):
                await _respond(send, 404, b'{"error":"no such control route"}', JSON)
                return
            else:
                raw = await _read_body(receive)
                payload = orjson.loads(raw) if raw.strip() else {}
                if not isinstance(payload, dict):
                    raise ValueError("the body must be a JSON object")
                if route == "changes":
                    result = state.apply_changes(payload.get("changes", []))
                elif route == "mutate":
                    result = state.mutate(
                        float(payload.get("percent", 1.0)),
                        int(payload.get("seed", 0)),
                        payload.get("type", "plugin"),
                    )
                elif route == "faults":
                    result = state.configure_faults(payload)
                else:
                    result = state.step()
        except ScriptExhausted as exc:
            await _respond(send, 409, orjson.dumps({"error": str(exc)}), JSON)
            return
        except (ChangeError, ValueError, TypeError, KeyError) as exc:
            await _respond(send, 400, orjson.dumps({"error": str(exc)}), JSON)
            return
        await _respond(send, 200, orjson.dumps(result), JSON)


_SENT: Final = Fault("error", 0)  # sentinel: a fault response was already sent


def create_app(state: ReplayState, *, public_base: str | None = None) -> ReplayApp:
    """The ASGI app serving ``state``. ``public_base`` (e.g. ``http://127.0.0.1:8080``) is
    the base written into rewritten download URLs; by default the request's Host is used."""
    return ReplayApp(state, public_base=public_base)
