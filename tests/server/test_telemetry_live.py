"""``POST /downloads`` over a real uvicorn server on 127.0.0.1, configured as ``curator
serve`` runs it (uvicorn's proxy headers off): the client address comes from
``X-Forwarded-For`` only when the peer is a trusted proxy."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from server_helpers import BuildMaker

from curator.storage.local import LocalStorage
from server.app import create_app
from server.settings import ServerSettings

BODY = {"downloads": [{"name": "wp-plugin/akismet", "version": "5.3.1.0"}]}


@contextlib.contextmanager
def live_server(settings: ServerSettings) -> Iterator[httpx.Client]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            proxy_headers=False,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


def post(client: httpx.Client, forwarded: str | None) -> dict[str, Any]:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    r = client.post("/downloads", json=BODY, headers=headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def installs(client: httpx.Client) -> int:
    count: int = client.get("/api/packages/wp-plugin/akismet").json()["composer_installs"]
    return count


def test_forwarded_for_from_a_trusted_proxy(storage: LocalStorage, make_build: BuildMaker) -> None:
    make_build()
    with live_server(ServerSettings(storage=storage.root)) as client:  # trusts 127.0.0.1
        assert post(client, None)["accepted"] == 1  # the proxy itself
        assert post(client, "198.51.100.1")["accepted"] == 1
        assert post(client, "198.51.100.2")["accepted"] == 1
        # the right-most untrusted hop is the client; what it claims further left is not
        assert post(client, "6.6.6.6, 198.51.100.1")["duplicates"] == 1
        assert post(client, "198.51.100.1, 127.0.0.1")["duplicates"] == 1
        assert installs(client) == 3


def test_forwarded_for_from_an_untrusted_peer(
    storage: LocalStorage, make_build: BuildMaker
) -> None:
    make_build()
    settings = ServerSettings(storage=storage.root, trusted_proxies=("10.0.0.0/8",))
    with live_server(settings) as client:
        assert post(client, "198.51.100.1")["accepted"] == 1
        # 127.0.0.1 is not trusted here: every header is ignored, one client
        assert post(client, "198.51.100.2")["duplicates"] == 1
        assert post(client, None)["duplicates"] == 1
        assert installs(client) == 1
