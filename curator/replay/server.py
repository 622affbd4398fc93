"""Running the replay: uvicorn on 127.0.0.1, blocking or in a background thread.

``run_replay`` blocks (the CLI uses it); ``ReplayServer`` is a context manager for tests and
benchmarks that serves a :class:`ReplayState` from a daemon thread on a free port::

    with ReplayServer(ReplayState.sample()) as server:
        httpx.get(f"{server.base_url}/plugins/info/1.2/", params=...)
        server.state.mutate(5.0)

uvicorn runs with httptools and uvloop, log level warning and no access log. The listening
socket is bound here (port 0 = any free port) so the URL is known before serving starts.
"""

from __future__ import annotations

import gc
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from curator.replay.app import ReplayApp, create_app
from curator.replay.state import ReplayState

HOST = "127.0.0.1"


class _Server(uvicorn.Server):
    """uvicorn.Server that reports when it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started()


def bind_socket(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port`` 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _config(app: ReplayApp, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "http": "httptools",
        "loop": "uvloop",
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 2,
        "backlog": 2048,
        "proxy_headers": False,
        "server_header": False,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


def _base_url(sock: socket.socket) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}"


def run_replay(
    state: ReplayState,
    *,
    port: int = 0,
    public_base: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``state`` until interrupted. ``on_ready(base_url)`` runs once connections are
    accepted."""
    sock = bind_socket(port)
    base = _base_url(sock)
    app = create_app(state, public_base=public_base)
    # The corpus is long-lived: keep the cyclic GC from rescanning it on every collection.
    gc.collect()
    gc.freeze()
    server = _Server(_config(app), (lambda: on_ready(base)) if on_ready else None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class ReplayServer:
    """The replay served from a background thread; see the module docstring."""

    def __init__(
        self,
        state: ReplayState | None = None,
        *,
        port: int = 0,
        public_base: str | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.state = state if state is not None else ReplayState.sample()
        self.app = create_app(self.state, public_base=public_base)
        self._port = port
        self._startup_timeout = startup_timeout
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.base_url = ""

    def start(self) -> ReplayServer:
        if self._thread is not None:
            raise RuntimeError("the replay server is already running")
        self._ready.clear()
        self._sock = bind_socket(self._port)
        self.base_url = _base_url(self._sock)
        self._server = _Server(_config(self.app), self._ready.set)
        sock, server = self._sock, self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="curator-replay", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(self._startup_timeout) or not self._thread.is_alive():
            self.stop()
            raise RuntimeError("the replay server did not start")
        return self

    def stop(self) -> None:
        """Stop serving: hanging requests are released, then uvicorn shuts down."""
        self.app.release_hangs()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._sock is not None:
            self._sock.close()
        self._thread = self._server = self._sock = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
