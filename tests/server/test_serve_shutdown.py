"""Stopping ``curator serve`` while an admin watches the live log stream: the stream ends and
the process exits at once, not when the stream would have timed out (a real ``curator serve``
process under uvicorn, signed in through the real login form). Also the app's
:class:`Shutdown` flag itself, and the lifespan that clears and sets it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from admin_helpers import add_user, login
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint
from litestar.testing import TestClient
from server_helpers import BuildMaker

from curator.storage.local import LocalStorage
from server.admin.settings import AdminSettings
from server.app import create_app
from server.routes.admin import STREAM_KEEPALIVE
from server.runtime.engine import default_url
from server.settings import ServerSettings
from server.shutdown import Shutdown

CURATOR = str(Path(sys.executable).with_name("curator"))
# well below both the stream's keep-alive comment and its own end (stream_seconds)
EXIT_BOUND = 8.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail(f"curator serve did not come up (exit status {proc.poll()})")


def test_sigterm_ends_an_open_log_stream_and_the_server_exits(
    make_build: BuildMaker, storage: LocalStorage, tmp_path: Path
) -> None:
    assert STREAM_KEEPALIVE > EXIT_BOUND and AdminSettings().stream_seconds > EXIT_BOUND
    make_build()
    add_user(default_url(storage.root))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [CURATOR, "--storage", str(storage.root), "serve", "--port", str(port)],
            stderr=stderr,
        )
        try:
            wait_for_health(base, proc)
            with httpx.Client(base_url=base, timeout=EXIT_BOUND) as client:
                assert login(client).status_code == 303
                with client.stream("GET", "/admin/logs/stream") as answer:
                    assert answer.status_code == 200
                    assert answer.headers["content-type"].startswith("text/event-stream")
                    lines = answer.iter_lines()
                    assert next(lines) == ": log stream"  # the generator runs
                    proc.send_signal(signal.SIGTERM)  # as systemctl stop / restart does
                    rest = list(lines)  # ends cleanly (no read timeout, no broken chunk)
                # exits: a wait bound below the stream's keep-alive and its own end
                code = proc.wait(timeout=EXIT_BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # uvicorn shuts down gracefully, then re-raises SIGTERM
    assert code in (0, -signal.SIGTERM)
    # the stream ended before its first keep-alive comment was due
    assert not any("keep-alive" in line for line in rest)
    log = stderr_path.read_text()
    assert log.count("Application shutdown complete.") == 1, log


def test_the_lifespan_clears_the_flag_at_startup_and_sets_it_at_shutdown(
    storage: LocalStorage,
) -> None:
    shutdown = Shutdown()
    shutdown.set()  # left over from an earlier run of the same app
    app = create_app(ServerSettings(storage=storage.root), shutdown=shutdown)
    assert app.state["shutdown"] is shutdown
    with TestClient(app) as client:
        assert client.get("/health").status_code == 503  # no build; the app runs
        assert not shutdown.is_set()
    assert shutdown.is_set()


def test_the_flag_wakes_every_waiter_and_stays_set_until_cleared() -> None:
    woken: list[bool] = []

    async def main() -> None:
        shutdown = Shutdown()
        assert await shutdown.wait(0) is False  # not set: the wait runs out

        async def waiter() -> None:
            woken.append(await shutdown.wait(3600))

        async with anyio.create_task_group() as tasks:
            for _ in range(3):
                tasks.start_soon(waiter)
            await wait_all_tasks_blocked()
            assert woken == []
            shutdown.set()
        assert woken == [True, True, True]
        assert await shutdown.wait(3600) is True  # set: returns without waiting
        shutdown.set()  # idempotent
        shutdown.clear()
        await checkpoint()
        assert await shutdown.wait(0) is False

    anyio.run(main)
