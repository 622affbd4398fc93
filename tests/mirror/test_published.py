"""Reading a published build as hostile input: bounded reads, symlinks and odd files in a
directory, and an HTTP server that errors, redirects, hides files or sends too much."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from curator.mirror.published import (
    DirectorySource,
    FetchError,
    HttpSource,
    open_source,
)


def test_directory_reads_are_bounded_and_never_follow_symlinks(tmp_path: Path) -> None:
    (tmp_path / "p2").mkdir()
    (tmp_path / "p2" / "a.json").write_bytes(b"0123456789")
    (tmp_path / "secret").write_bytes(b"outside")
    (tmp_path / "p2" / "link.json").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "p2" / "fifo.json")
    source = DirectorySource(tmp_path)
    assert source.get("p2/a.json", 100) == b"0123456789"
    assert source.get("p2/a.json", 4) == b"01234"  # limit + 1: "too big" is visible
    assert source.get("p2/absent.json", 10) is None
    with pytest.raises(FetchError, match=r"p2/link\.json"):
        source.get("p2/link.json", 100)
    with pytest.raises(FetchError, match="not a regular file"):
        source.get("p2/fifo.json", 100)
    with pytest.raises(ValueError, match=r"'\.\.' segment"):
        source.get("../secret", 100)
    assert source.listing() == ["p2/a.json", "p2/fifo.json", "p2/link.json", "secret"]
    assert source.location == str(tmp_path.resolve())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: dict[str, int]

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/repo/p2/flaky.json" and self.hits[self.path] < 2:
            return self._send(503, b"busy")
        if self.path == "/repo/p2/down.json":
            return self._send(500, b"down")
        if self.path == "/repo/p2/forbidden.json":
            return self._send(403, b"no")
        if self.path == "/repo/p2/moved.json":
            self.send_response(302)
            self.send_header("Location", "/repo/p2/ok.json")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/repo/p2/loop.json":
            self.send_response(302)
            self.send_header("Location", "/repo/p2/loop.json")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/repo/p2/huge.json":
            return self._send(200, b"x" * 1_000_000)
        if self.path in ("/repo/p2/ok.json", "/repo/p2/with%20space~dev.json"):
            return self._send(200, b'{"ok": true}')
        return self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}
    handler = type("H", (_Handler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/repo", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_reads(server: tuple[str, dict[str, int]]) -> None:
    base, hits = server
    source = HttpSource(base, workers=2, timeout=5, backoff=0.01)
    try:
        assert source.location == base
        assert source.get("p2/ok.json", 100) == b'{"ok": true}'
        assert source.get("p2/with space~dev.json", 100) == b'{"ok": true}'  # quoted
        assert source.get("p2/absent.json", 100) is None
        assert source.get("p2/flaky.json", 100) is None  # retried, then a plain 404
        assert hits["/repo/p2/flaky.json"] == 2
        assert source.get("p2/moved.json", 100) == b'{"ok": true}'
        assert source.get("p2/huge.json", 10) == b"x" * 11  # bounded
        with pytest.raises(FetchError, match="HTTP 500"):
            source.get("p2/down.json", 100)
        assert hits["/repo/p2/down.json"] == 3  # two retries
        with pytest.raises(FetchError, match="HTTP 403"):
            source.get("p2/forbidden.json", 100)
        with pytest.raises(FetchError, match="redirect"):
            source.get("p2/loop.json", 100)
        with pytest.raises(ValueError, match="absolute"):
            source.get("/etc/passwd", 100)
        assert source.listing() is None
    finally:
        source.close()


def test_an_unreachable_server_is_a_fetch_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = HttpSource(f"http://127.0.0.1:{port}/", timeout=2, backoff=0.01)
    with pytest.raises(FetchError, match="cannot fetch"):
        source.get("manifest.json", 10)
    source.close()


@pytest.mark.parametrize(
    "location", ["ftp://x/", "s3://bucket/p", "http://", "https://h/?q=1", "missing-dir"]
)
def test_bad_locations(location: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        open_source(location if "://" in location else str(tmp_path / location))


def test_open_source_picks_the_kind(tmp_path: Path) -> None:
    assert isinstance(open_source(str(tmp_path)), DirectorySource)
    http = open_source("https://repo.example/sub")
    assert isinstance(http, HttpSource) and http.url("p2/a.json") == (
        "https://repo.example/sub/p2/a.json"
    )
    http.close()
