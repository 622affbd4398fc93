"""The built-in plain-http path of WporgClient against a scripted local HTTP/1.1 server:
keep-alive, chunked and read-to-close bodies, stale pooled connections, timeouts, garbage."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from curator.layout import PackageType
from curator.models import UpstreamConfig
from curator.upstream import Failed, FailureKind, Found, NotFound, UpstreamError, WporgClient
from curator.upstream._fasthttp import FastHTTP, HTTPProtocolError

P = PackageType.PLUGIN
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "wporg"
R = TypeVar("R")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured HTTP proxy turns the built-in path off; these tests need it on."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the real-world tests need ../shared beside the checkout")
    return path.read_bytes()


DOLLY = fixture("dd32-wporg-plugins-data__hello-dolly.json")


def listing(n: int) -> bytes:
    rows = "".join(f'  <li><a href="plugin-{i:05d}/">plugin-{i:05d}/</a></li>\n' for i in range(n))
    page = (
        "<html><head><title>plugins - Revision 777: /</title></head><body>\n"
        "<!-- Übersicht: ünïcödé split across chunks -->\n"
        f"<ul>\n{rows}</ul></body></html>\n"
    )
    return page.encode()


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"HTTP/1.1 {status} X\r\n{lines}\r\n".encode()


class Server:
    """A scripted HTTP/1.1 server; the request path picks the behaviour."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = raw.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                self.requests.append((target, headers))
                if not await self.answer(target.partition("?")[0], writer):
                    return
        finally:
            writer.close()

    async def answer(self, path: str, w: asyncio.StreamWriter) -> bool:
        """Write the response; False closes the connection."""
        if path == "/plugins/info/1.2/":
            w.write(
                head(200, {"Content-Type": "application/json", "Content-Length": str(len(DOLLY))})
            )
            w.write(DOLLY)
        elif path == "/themes/info/1.2/":  # chunked 404
            body = b'{"error":"Theme not found"}'
            w.write(head(404, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
            w.write(
                b"%x;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n"
                % (5, body[:5], len(body) - 5, body[5:])
            )
        elif path == "/close":
            w.write(head(200, {"Content-Length": "2", "Connection": "close"}) + b"{}")
            await w.drain()
            return False
        elif path == "/eof":  # no length: the body runs to the end of the connection
            w.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
            await w.drain()
            return False
        elif path == "/stale":  # answers, then silently drops the kept-alive connection
            w.write(head(200, {"Content-Length": "2"}) + b"ok")
            await w.drain()
            return False
        elif path == "/hang":
            await asyncio.sleep(60)
        elif path == "/garbage":
            w.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            await w.drain()
            return False
        elif path == "/short":
            w.write(head(200, {"Content-Length": "100"}) + b"only this")
            await w.drain()
            return False
        elif path == "/drop":
            return False
        elif path == "/svn/plugins/":
            page = listing(5000)
            w.write(head(200, {"Content-Type": "text/html", "Content-Length": str(len(page))}))
            w.write(page)
        elif path == "/svn/themes/":
            page = listing(300)
            w.write(head(200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}))
            rng = random.Random(5)
            i = 0
            while i < len(page):
                n = rng.randint(1, 700)
                w.write(b"%x\r\n%s\r\n" % (len(page[i : i + n]), page[i : i + n]))
                i += n
                await w.drain()
            w.write(b"0\r\n\r\n")
        elif path == "/trac/plugins/log/":
            w.write(head(503, {"Content-Length": "0", "Retry-After": "2"}))
        else:
            w.write(head(404, {"Content-Length": "0"}))
        await w.drain()
        return True


def run(test: Callable[[Server], Awaitable[R]]) -> R:
    async def go() -> R:
        server = Server()
        await server.start()
        try:
            return await test(server)
        finally:
            await server.stop()

    return asyncio.run(go())


def client(server: Server, **options: Any) -> WporgClient:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    options.setdefault("sleep", sleep)
    return WporgClient(UpstreamConfig.from_base(server.base), **options)


def test_fast_path_is_chosen_only_for_plain_http_without_a_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    config = UpstreamConfig.from_base("http://127.0.0.1:9")
    assert WporgClient(config, fast_http=None)._fast is not None
    assert WporgClient(config, fast_http=False)._fast is None
    mock = httpx.MockTransport(lambda r: httpx.Response(200))
    assert WporgClient(config, transport=mock)._fast is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    assert WporgClient(config)._fast is None


def test_info_over_keep_alive_connections() -> None:
    async def go(server: Server) -> None:
        async with client(server, concurrency=4) as c:
            results = [await c.fetch_info(P, f"p{i}") for i in range(5)]
            assert all(isinstance(r, Found) for r in results)
            assert server.connections == 1  # sequential requests reuse one connection
            many = await asyncio.gather(*(c.fetch_info(P, f"q{i}") for i in range(40)))
            assert all(isinstance(r, Found) for r in many)
            assert server.connections <= 4
            assert c.stats.requests == 45
            assert await c.fetch_info(PackageType.THEME, "x") == NotFound("Theme not found")
        target, headers = server.requests[0]
        assert target.startswith(
            "/plugins/info/1.2/?action=plugin_information&request%5Bslug%5D=p0&"
        )
        assert "request%5Bfields%5D%5Bversions%5D=1" in target
        assert headers["user-agent"].startswith("wp-composer-curator/")
        assert headers["host"] == f"127.0.0.1:{server.port}"

    run(go)


def test_svn_listing_streams_through_the_fast_path() -> None:
    async def go(server: Server) -> None:
        async with client(server) as c:
            plugins = await c.svn_listing(P)
            themes = await c.svn_listing(PackageType.THEME)
        assert plugins.revision == 777 and len(plugins.slugs) == 5000
        assert plugins.slugs[-1] == "plugin-04999"
        assert themes.revision == 777 and len(themes.slugs) == 300

    run(go)


def test_discovery_failure_raises_after_honouring_retry_after() -> None:
    async def go(server: Server) -> None:
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        async with client(server, retries=2, sleep=sleep) as c:
            with pytest.raises(UpstreamError, match=r"/trac/plugins/log/\?format=changelog"):
                await c.head_revision(P)
        assert sleeps == [2.0, 2.0]

    run(go)


def test_fast_http_bodies_and_connection_handling() -> None:
    async def go(server: Server) -> None:
        fast = FastHTTP(timeout=5.0, max_idle=4, headers={"User-Agent": "t"})
        try:
            r = await fast.get(f"{server.base}/close")
            assert (r.status, r.body) == (200, b"{}")
            r = await fast.get(f"{server.base}/eof")
            assert (r.status, r.body) == (200, b"until the end")
            before = server.connections
            r = await fast.get(f"{server.base}/stale")
            assert r.body == b"ok"
            await asyncio.sleep(0.05)  # the server has closed the pooled connection by now
            r = await fast.get(f"{server.base}/plugins/info/1.2/?x=1")
            assert r.status == 200 and r.body == DOLLY
            assert server.connections == before + 2  # reconnected transparently
            r = await fast.get(f"{server.base}/themes/info/1.2/")
            assert (r.status, r.body) == (404, b'{"error":"Theme not found"}')
            with pytest.raises(HTTPProtocolError, match="status line"):
                await fast.get(f"{server.base}/garbage")
            with pytest.raises(HTTPProtocolError, match="closed mid-response"):
                await fast.get(f"{server.base}/short")
            with pytest.raises(ConnectionError):
                await fast.get(f"{server.base}/drop")
            with pytest.raises(ValueError, match="plain http"):
                await fast.get("https://example.org/")
        finally:
            await fast.aclose()

    run(go)


@pytest.mark.parametrize(
    ("path", "reason", "kind"),
    [
        ("/hang", "timeout", FailureKind.TIMEOUT),
        ("/garbage", "connection error (HTTPProtocolError", FailureKind.CONNECTION),
        ("/drop", "connection error (ConnectionResetError", FailureKind.CONNECTION),
    ],
)
def test_transport_failures_become_failed_results(
    path: str, reason: str, kind: FailureKind
) -> None:
    async def go(server: Server) -> None:
        config = UpstreamConfig.from_base(server.base)
        api = config.model_copy(update={"api": f"{server.base}{path}?"})
        async with WporgClient(api, timeout=0.2, retries=1, sleep=lambda s: asyncio.sleep(0)) as c:
            result = await c.fetch_info(P, "x")
        assert isinstance(result, Failed)
        assert result.kind is kind
        assert result.reason.startswith(reason)
        assert result.reason.endswith("after 1 retry")

    run(go)


def test_connection_refused_is_a_connection_failure() -> None:
    async def go(server: Server) -> None:
        await server.stop()
        async with WporgClient(UpstreamConfig.from_base(server.base), retries=0, timeout=2.0) as c:
            result = await c.fetch_info(P, "x")
        await server.start()  # so run() can stop it again
        assert isinstance(result, Failed) and result.kind is FailureKind.CONNECTION

    run(go)
