"""Two server instances sharing one PostgreSQL runtime database: a session made on one is
valid on the other, a logout on either ends it on both, and the login rate limit counts the
failures of both instances together."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_helpers import EMAIL, PASSWORD, Client, add_user, cookie_value, csrf_of, login
from admin_helpers import set_cookie_headers as cookies_of
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock, postgres_schema

from curator.storage.local import LocalStorage
from server.admin.settings import AdminSettings
from server.app import create_app
from server.settings import ServerSettings


@pytest.fixture
def shared_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def instance(storage: Path, url: str, clock: FakeClock, **admin: Any) -> Client:
    settings = ServerSettings(storage=storage, database_url=url, admin=AdminSettings(**admin))
    return TestClient(create_app(settings, clock=clock))


def use(client: Client, token: str, path: str = "/admin/") -> int:
    client.cookies.clear()
    client.cookies.set("curator_admin", token)
    return client.get(path, follow_redirects=False).status_code


def test_sessions_are_shared_and_logout_ends_them_everywhere(
    shared_url: str, storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, tmp_path: Path
) -> None:
    make_build()
    add_user(shared_url)
    # two instances with their own storage copies (as on two machines) and one database
    with (
        instance(storage.root, shared_url, clock) as a,
        instance(tmp_path / "other-storage", shared_url, clock) as b,
    ):
        answer = login(a)
        assert answer.status_code == 303
        token = cookie_value(cookies_of(answer)["curator_admin"])
        assert use(a, token) == 200
        assert use(b, token) == 200  # signed in on A, used on B
        page = b.get("/admin/builds")
        assert page.status_code == 200 and EMAIL in page.text
        # the CSRF token of the session is the same on both instances
        posted = b.post(
            "/admin/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
        )
        assert posted.status_code == 303
        assert use(b, token) == 303 and use(a, token) == 303  # logged out on B: gone on A


def test_rate_limit_is_shared(
    shared_url: str, storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, tmp_path: Path
) -> None:
    make_build()
    add_user(shared_url)
    limits = {"login_max_per_account": 4, "login_max_per_client": 100}
    with (
        instance(storage.root, shared_url, clock, **limits) as a,
        instance(tmp_path / "other-storage", shared_url, clock, **limits) as b,
    ):
        for client in (a, b, a, b):
            assert login(client, EMAIL, "wrong password here").status_code == 401
        assert login(a, EMAIL, PASSWORD).status_code == 429
        assert login(b, EMAIL, PASSWORD).status_code == 429
        clock.advance(901)
        assert login(b, EMAIL, PASSWORD).status_code == 303
