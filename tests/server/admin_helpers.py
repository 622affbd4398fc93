"""Helpers of the admin-area tests (imported as ``from admin_helpers import ...``): users in a
runtime database, signing in through the real form, CSRF tokens of pages, a live uvicorn."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from server.admin.passwords import Passwords
from server.admin.users import User, UserStore
from server.runtime.engine import make_engine
from server.runtime.migrate import upgrade

Client = TestClient[Any]
EMAIL = "admin@example.org"
PASSWORD = "correct horse battery staple"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(database_url: str, email: str = EMAIL, password: str = PASSWORD) -> User:
    """A user in the (migrated) runtime database at ``database_url``."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        return UserStore(engine, Passwords(), clock=time.time).create(email, password)
    finally:
        engine.dispose()


def csrf_of(html: str) -> str:
    found = _CSRF_RE.search(html)
    assert found is not None, html
    return found.group(1)


def login(
    client: Client | httpx.Client,
    email: str = EMAIL,
    password: str = PASSWORD,
    *,
    next_url: str | None = None,
) -> httpx.Response:
    """Sign in through the form (GET for the CSRF cookie and token, then POST); the answer
    of the POST, redirects not followed."""
    page = client.get("/admin/login")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), "email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/admin/login", data=data, follow_redirects=False)


def signed_in(client: Client, email: str = EMAIL, password: str = PASSWORD) -> str:
    """Sign in (must succeed); returns the CSRF token of the session's forms."""
    answer = login(client, email, password)
    assert answer.status_code == 303, answer.text
    page = client.get("/admin/")
    assert page.status_code == 200
    return csrf_of(page.text)


def set_cookie_headers(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers of ``response`` by cookie name."""
    out: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        out[header.split("=", 1)[0]] = header
    return out


def cookie_value(header: str) -> str:
    return header.split("=", 1)[1].split(";", 1)[0]


@contextlib.contextmanager
def live_server(app: Litestar) -> Iterator[str]:
    """``app`` served by uvicorn on a free 127.0.0.1 port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
