"""A minimal HTTP/1.1 keep-alive GET client for plain ``http://`` upstreams (a local replay).

Why it exists: against a local replay the client's own CPU per request is what bounds a sync.
httpx + httpcore + anyio cost about 1-2 ms of CPU per request on the 2-core CI machines (and
more as the pool grows: every request scans the pool's connections), against 30-80 us for a
plain asyncio stream (``bench/upstream_probe.py`` measures both). This module speaks just
enough HTTP/1.1 for the curator's GETs: a per-host pool of keep-alive connections, status line
and headers, ``Content-Length``, ``chunked`` and read-to-close bodies, and a transparent
reconnect when a pooled connection turns out to have been closed by the server. No TLS, no
proxies, no redirects, no compression: ``https://`` and everything else go through httpx.

Errors raised: :class:`TimeoutError` (the whole exchange exceeded ``timeout``),
:class:`OSError` (connecting, reading, writing) and :class:`HTTPProtocolError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["FastHTTP", "FastResponse", "HTTPProtocolError"]

_READ_SIZE = 1 << 16
_STREAM_LIMIT = 1 << 20  # longest header block / chunk-size line we accept


class HTTPProtocolError(Exception):
    """The server's bytes are not an HTTP/1.1 response we can read."""


@dataclass(frozen=True, slots=True)
class FastResponse:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A pooled connection was closed by the server before it answered."""


class FastHTTP:
    """Keep-alive GETs to plain-http hosts; at most ``max_idle`` idle connections per host."""

    def __init__(self, *, timeout: float, max_idle: int, headers: dict[str, str]) -> None:
        self.timeout = timeout
        self.max_idle = max_idle
        self._extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._heads: dict[str, tuple[str, int, str, str]] = {}
        self._closed = False

    async def get(
        self, url: str, *, on_body: Callable[[bytes], None] | None = None
    ) -> FastResponse:
        """GET ``url``; with ``on_body``, a 200 body is passed on in pieces, not returned."""
        host, port, target, head = self._split(url)
        request = f"GET {target} HTTP/1.1\r\n{head}".encode("latin-1")
        async with asyncio.timeout(self.timeout):
            idle = self._idle.get((host, port))
            while idle:
                conn = idle.pop()
                try:
                    return await self._exchange(conn, (host, port), request, on_body)
                except _Stale:
                    continue
            conn = await self._connect(host, port)
            try:
                return await self._exchange(conn, (host, port), request, on_body)
            except _Stale as exc:
                raise ConnectionResetError(
                    "server closed the connection without a response"
                ) from exc

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _split(self, url: str) -> tuple[str, int, str, str]:
        base, sep, query = url.partition("?")
        cached = self._heads.get(base)
        if cached is None:
            parts = urlsplit(base)
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError(f"FastHTTP only speaks plain http: {url!r}")
            port = parts.port or 80
            host_header = parts.netloc.rpartition("@")[2]
            head = f"Host: {host_header}\r\n{self._extra}\r\n"
            cached = (parts.hostname, port, parts.path or "/", head)
            self._heads[base] = cached
        host, port, path, head = cached
        return host, port, f"{path}{sep}{query}", head

    async def _connect(self, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=_STREAM_LIMIT)
        return _Connection(reader, writer)

    async def _exchange(
        self,
        conn: _Connection,
        key: tuple[str, int],
        request: bytes,
        on_body: Callable[[bytes], None] | None,
    ) -> FastResponse:
        keep = False
        try:
            try:
                conn.writer.write(request)
                await conn.writer.drain()
                head = await conn.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if not getattr(exc, "partial", b""):
                    raise _Stale from exc  # nothing came back: maybe a stale pooled connection
                raise
            status, headers, keep = self._head(head)
            while 100 <= status < 200:  # interim responses (100 Continue): skip
                status, headers, keep = self._head(await conn.reader.readuntil(b"\r\n\r\n"))
            body, keep = await self._body(conn.reader, status, headers, keep, on_body)
            return FastResponse(status, headers, body)
        except asyncio.IncompleteReadError as exc:
            keep = False
            raise HTTPProtocolError(
                f"connection closed mid-response ({len(exc.partial)} bytes of the last read)"
            ) from None
        except asyncio.LimitOverrunError as exc:
            keep = False
            raise HTTPProtocolError("response line or header block too long") from exc
        except BaseException:
            keep = False
            raise
        finally:
            if keep and not self._closed:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self.max_idle:
                    idle.append(conn)
                else:
                    conn.close()
            else:
                conn.close()

    @staticmethod
    def _head(head: bytes) -> tuple[int, dict[str, str], bool]:
        """Status, headers and keep-alive from a status line + header block."""
        lines = head[:-4].split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise HTTPProtocolError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
        headers: dict[str, str] = {}
        for raw in lines[1:]:
            name, colon, value = raw.partition(b":")
            if not colon:
                raise HTTPProtocolError(f"malformed header line: {raw[:60]!r}")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        connection = headers.get("connection", "").lower()
        http10 = version == b"HTTP/1.0"
        keep = "keep-alive" in connection if http10 else "close" not in connection
        return int(code), headers, keep

    @staticmethod
    async def _body(
        reader: asyncio.StreamReader,
        status: int,
        headers: dict[str, str],
        keep: bool,
        on_body: Callable[[bytes], None] | None,
    ) -> tuple[bytes, bool]:
        sink = on_body if on_body is not None and status == 200 else None
        pieces: list[bytes] = []
        emit = sink or pieces.append
        if status in (204, 304):
            return b"", keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = await reader.readuntil(b"\r\n")
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise HTTPProtocolError(f"bad chunk size line: {size_line[:40]!r}") from None
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    break
                data = await reader.readexactly(size + 2)
                emit(data[:-2])
        elif "content-length" in headers:
            try:
                left = int(headers["content-length"])
            except ValueError:
                raise HTTPProtocolError("bad Content-Length") from None
            if sink is None:
                pieces.append(await reader.readexactly(left))
            while sink is not None and left > 0:
                data = await reader.readexactly(min(left, _READ_SIZE))
                left -= len(data)
                sink(data)
        else:
            keep = False
            while data := await reader.read(_READ_SIZE):
                emit(data)
        return (b"".join(pieces) if sink is None else b""), keep
