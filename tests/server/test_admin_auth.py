"""Signing in and out of the admin area, on SQLite and PostgreSQL: cookies, CSRF, session
fixation, server-side logout, expiry, the login rate limit and its lockout message, HTTPS
detection, and that every admin route refuses anonymous access (enumerated from the app)."""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from admin_helpers import (
    EMAIL,
    PASSWORD,
    Client,
    add_user,
    cookie_value,
    csrf_of,
    live_server,
    login,
    set_cookie_headers,
    signed_in,
)
from litestar import Litestar
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock

from curator.storage.local import LocalStorage
from server.admin.settings import AdminSettings
from server.app import create_app
from server.routes.admin_auth import BAD_CREDENTIALS, LOCKED_OUT
from server.runtime import schema
from server.runtime.engine import make_engine
from server.settings import ServerSettings

LOCKOUT_TEXT = LOCKED_OUT.split(";")[0]


def make_app(storage: LocalStorage, database_url: str, clock: FakeClock, **admin: Any) -> Litestar:
    options: dict[str, Any] = {"login_max_per_client": 100, "login_max_per_account": 100}
    options.update(admin)
    settings = ServerSettings(
        storage=storage.root, database_url=database_url, admin=AdminSettings(**options)
    )
    return create_app(settings, clock=clock)


@pytest.fixture
def user_db(database_url: str, make_build: BuildMaker) -> str:
    make_build()
    add_user(database_url)
    return database_url


@pytest.fixture
def aclient(storage: LocalStorage, user_db: str, clock: FakeClock) -> Iterator[Client]:
    with TestClient(make_app(storage, user_db, clock)) as client:
        yield client


def session_rows(database_url: str) -> list[dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(schema.admin_sessions))]
    finally:
        engine.dispose()


def anonymous_get(client: Client, path: str, token: str) -> httpx.Response:
    """GET ``path`` with only the session cookie ``token`` (a fresh cookie jar)."""
    client.cookies.clear()
    client.cookies.set("curator_admin", token)
    return client.get(path, follow_redirects=False)


# --- signing in ----------------------------------------------------------------------------


def test_login_opens_a_server_side_session(aclient: Client, user_db: str) -> None:
    answer = login(aclient, "  ADMIN@Example.ORG ", PASSWORD)  # emails are case-insensitive
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/"
    cookies = set_cookie_headers(answer)
    header = cookies["curator_admin"]
    attributes = [a.strip().lower() for a in header.split(";")[1:]]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain HTTP: no Secure, no __Host- prefix
    assert "max-age=0" in cookies["curator_login_csrf"].lower()  # the login token is spent
    token = cookie_value(header)
    rows = session_rows(user_db)
    assert len(rows) == 1
    assert rows[0]["id"] == hashlib.sha256(token.encode()).hexdigest() != token
    assert token not in str(rows)  # only the hash is stored
    page = aclient.get("/admin/")
    assert page.status_code == 200 and EMAIL in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_wrong_password_and_unknown_account_look_the_same(aclient: Client, user_db: str) -> None:
    wrong = login(aclient, EMAIL, "not the password at all")
    unknown = login(aclient, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert BAD_CREDENTIALS in wrong.text
    # the same page but for the email typed (and echoed back, escaped)
    assert wrong.text.replace(EMAIL, "E") == unknown.text.replace("nobody@example.org", "E")
    assert "curator_admin" not in set_cookie_headers(wrong)
    assert session_rows(user_db) == []
    assert aclient.get("/admin/", follow_redirects=False).status_code == 303


def test_unknown_accounts_cost_a_password_check(aclient: Client) -> None:
    def timed(email: str) -> float:
        start = time.perf_counter()
        assert login(aclient, email, "not the password at all").status_code == 401
        return time.perf_counter() - start

    known = statistics.median(timed(EMAIL) for _ in range(3))
    unknown = statistics.median(timed("nobody@example.org") for _ in range(3))
    assert unknown > 0.5 * known  # argon2 dominates both; no fast path for unknown accounts


def test_empty_fields_and_bad_next(aclient: Client) -> None:
    page = aclient.get("/admin/login")
    token = csrf_of(page.text)
    empty = aclient.post("/admin/login", data={"csrf_token": token, "email": EMAIL})
    assert empty.status_code == 400
    for hostile in ("https://evil.example/", "//evil.example/admin", "/admin/login", "/x"):
        answer = login(aclient, next_url=hostile)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/"
    assert login(aclient, next_url="/admin/builds").headers["location"] == "/admin/builds"


def test_oversized_login_body_is_refused(aclient: Client) -> None:
    body = "email=" + "a" * 40_000
    answer = aclient.post(
        "/admin/login",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


def test_anonymous_html_get_redirects_to_login_and_back(aclient: Client) -> None:
    answer = aclient.get("/admin/builds?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login?next=/admin/builds%3Fx%3D1"
    form = aclient.get(answer.headers["location"])
    assert 'name="next" value="/admin/builds?x=1"' in form.text
    data = {"csrf_token": csrf_of(form.text), "email": EMAIL, "password": PASSWORD}
    data["next"] = "/admin/builds?x=1"
    done = aclient.post("/admin/login", data=data, follow_redirects=False)
    assert done.headers["location"] == "/admin/builds?x=1"


# --- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "wrong", "no-cookie"])
def test_login_csrf_missing_or_wrong(aclient: Client, user_db: str, case: str) -> None:
    page = aclient.get("/admin/login")
    data = {"email": EMAIL, "password": PASSWORD}
    if case == "wrong":
        data["csrf_token"] = "A" * 43
    elif case == "no-cookie":
        data["csrf_token"] = csrf_of(page.text)
        aclient.cookies.clear()
    answer = aclient.post("/admin/login", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert "curator_admin" not in set_cookie_headers(answer)
    assert session_rows(user_db) == []


def admin_routes(app: Litestar) -> dict[str, set[str]]:
    """Every path under /admin (but the login form) and its methods, from the app itself."""
    return {
        route.path: set(route.methods)
        for route in app.routes
        if (route.path == "/admin" or route.path.startswith("/admin/"))
        and route.path != "/admin/login"
    }


def test_every_admin_post_checks_csrf(aclient: Client, user_db: str) -> None:
    token = signed_in(aclient)
    posts = [p for p, methods in admin_routes(aclient.app).items() if "POST" in methods]
    assert {"/admin/logout", "/admin/builds/promote", "/admin/builds/rollback"} <= set(posts)
    other = TestClient(aclient.app)
    other_token = signed_in(other)  # a valid token, but of another session
    assert other_token != token
    for path in posts:
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}, {"csrf_token": other_token}):
            answer = aclient.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, (path, data, answer.status_code)
        sent_as_json = aclient.post(path, json={"csrf_token": token}, follow_redirects=False)
        assert sent_as_json.status_code == 403
    assert len(session_rows(user_db)) == 2  # nothing was logged out
    assert aclient.get("/admin/").status_code == 200


# --- anonymous access ----------------------------------------------------------------------


def test_every_admin_route_refuses_anonymous_access(aclient: Client) -> None:
    routes = admin_routes(aclient.app)
    expected = {
        "/admin",
        "/admin/sync-runs",
        "/admin/builds",
        "/admin/builds/promote",
        "/admin/builds/rollback",
        "/admin/overrides",
        "/admin/telemetry",
        "/admin/logs",
        "/admin/logs/stream",
        "/admin/logout",
    }
    assert expected <= set(routes)  # the enumeration sees the routes (and any new one)
    for cookie in (None, "A" * 43, "not a token"):
        for path, methods in sorted(routes.items()):
            url = path.replace("{", "").replace("}", "").replace(":str", "")
            for method in sorted(methods):
                aclient.cookies.clear()
                if cookie is not None:
                    aclient.cookies.set("curator_admin", cookie)
                answer = aclient.request(method, url, follow_redirects=False)
                where = (cookie, method, url)
                if method == "GET" and not path.endswith("/stream"):
                    assert answer.status_code == 303, where
                    assert answer.headers["location"].startswith("/admin/login?next=/admin")
                else:
                    assert answer.status_code == 401, where
                assert EMAIL not in answer.text and "csrf_token" not in answer.text


# --- session fixation, logout, expiry ------------------------------------------------------


def test_session_id_changes_at_login(aclient: Client, user_db: str) -> None:
    planted = "P" * 43  # an id an attacker planted in the victim's browser
    aclient.cookies.set("curator_admin", planted)
    first = cookie_value(set_cookie_headers(login(aclient))["curator_admin"])
    assert first != planted
    assert anonymous_get(TestClient(aclient.app), "/admin/", planted).status_code == 303
    # signing in again (the browser still holds the first session) rotates the id again and
    # revokes the session it presented
    aclient.cookies.clear()
    aclient.cookies.set("curator_admin", first)
    second = cookie_value(set_cookie_headers(login(aclient))["curator_admin"])
    assert second not in (first, planted)
    with TestClient(aclient.app) as other:
        assert anonymous_get(other, "/admin/", first).status_code == 303
        assert anonymous_get(other, "/admin/", second).status_code == 200
    assert len(session_rows(user_db)) == 1


def test_logout_invalidates_the_session_server_side(aclient: Client, user_db: str) -> None:
    token = cookie_value(set_cookie_headers(login(aclient))["curator_admin"])
    csrf = csrf_of(aclient.get("/admin/").text)
    answer = aclient.post("/admin/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login?signed_out=1"
    assert "max-age=0" in set_cookie_headers(answer)["curator_admin"].lower()
    assert session_rows(user_db) == []
    # a copy of the old cookie is worthless now
    with TestClient(aclient.app) as other:
        assert anonymous_get(other, "/admin/", token).status_code == 303
    assert "You have signed out." in aclient.get("/admin/login?signed_out=1").text


def test_sessions_expire_when_idle_and_absolutely(
    storage: LocalStorage, user_db: str, clock: FakeClock
) -> None:
    app = make_app(storage, user_db, clock, session_idle=600, session_absolute=3600)
    with TestClient(app) as client:
        signed_in(client)
        clock.advance(599)
        assert client.get("/admin/", follow_redirects=False).status_code == 200  # touched
        clock.advance(599)
        assert client.get("/admin/", follow_redirects=False).status_code == 200
        clock.advance(601)
        assert client.get("/admin/", follow_redirects=False).status_code == 303  # idle
        signed_in(client)
        for _ in range(7):  # used every 500 s: never idle, but 3500 s old
            clock.advance(500)
            assert client.get("/admin/", follow_redirects=False).status_code == 200
        clock.advance(101)
        assert client.get("/admin/", follow_redirects=False).status_code == 303  # absolute


def test_disabled_users_cannot_sign_in_and_lose_their_sessions(
    aclient: Client, user_db: str
) -> None:
    signed_in(aclient)
    admin = aclient.app.state["admin"]
    assert admin.users.set_disabled(EMAIL, True) == 1
    assert aclient.get("/admin/", follow_redirects=False).status_code == 303
    answer = login(aclient)
    assert answer.status_code == 401 and BAD_CREDENTIALS in answer.text
    admin.users.set_disabled(EMAIL, False)
    assert login(aclient).status_code == 303


# --- the rate limit ------------------------------------------------------------------------


def test_account_lockout_does_not_tell_whether_the_account_exists(
    storage: LocalStorage, user_db: str, clock: FakeClock
) -> None:
    app = make_app(storage, user_db, clock, login_max_per_account=3, login_window=900)
    with TestClient(app) as client:
        for _ in range(3):
            assert login(client, EMAIL, "wrong password here").status_code == 401
        locked = login(client, EMAIL, PASSWORD)  # even the right password is refused now
        assert locked.status_code == 429 and LOCKOUT_TEXT in locked.text
        assert "curator_admin" not in set_cookie_headers(locked)
        for _ in range(3):
            assert login(client, "ghost@example.org", "wrong password here").status_code == 401
        ghost = login(client, "ghost@example.org", "wrong password here")
        assert ghost.status_code == 429
        assert ghost.text.replace("ghost@example.org", "E") == locked.text.replace(EMAIL, "E")
        assert app.state["admin"].limiter.failures("testclient", EMAIL) == (6, 3)
        clock.advance(901)  # the failures leave the window
        assert login(client, EMAIL, PASSWORD).status_code == 303


def test_client_lockout_across_accounts(
    storage: LocalStorage, user_db: str, clock: FakeClock
) -> None:
    app = make_app(storage, user_db, clock, login_max_per_client=4, login_max_per_account=3)
    with TestClient(app) as client:
        for n in range(4):
            assert login(client, f"guess{n}@example.org", "wrong password").status_code == 401
        locked = login(client, EMAIL, PASSWORD)
        assert locked.status_code == 429 and LOCKOUT_TEXT in locked.text
        clock.advance(901)
        assert login(client, EMAIL, PASSWORD).status_code == 303


def test_a_successful_login_forgets_the_account_failures(
    storage: LocalStorage, user_db: str, clock: FakeClock
) -> None:
    app = make_app(storage, user_db, clock, login_max_per_account=3)
    with TestClient(app) as client:
        for _ in range(2):
            for _ in range(2):
                assert login(client, EMAIL, "wrong password here").status_code == 401
            assert login(client, EMAIL, PASSWORD).status_code == 303
        assert app.state["admin"].limiter.failures("testclient", EMAIL) == (4, 0)


# --- HTTPS ---------------------------------------------------------------------------------


def test_https_cookies_are_secure_and_host_prefixed(
    storage: LocalStorage, user_db: str, clock: FakeClock
) -> None:
    app = make_app(storage, user_db, clock)
    with TestClient(app, base_url="https://testserver.local") as client:
        form = client.get("/admin/login")
        assert "secure" in set_cookie_headers(form)["__Host-curator_login_csrf"].lower()
        answer = login(client)
        assert answer.status_code == 303
        header = set_cookie_headers(answer)["__Host-curator_admin"]
        attributes = [a.strip().lower() for a in header.split(";")[1:]]
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
        assert not any(a.startswith("domain") for a in attributes)
        assert client.get("/admin/").status_code == 200
        token = cookie_value(header)
        # over HTTPS only the __Host- cookie counts
        client.cookies.clear()
        client.cookies.set("curator_admin", token)
        assert client.get("/admin/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_proto_counts_only_from_trusted_proxies(
    storage: LocalStorage, database_url: str, make_build: BuildMaker, trusted: bool
) -> None:
    make_build()
    settings = ServerSettings(
        storage=storage.root,
        database_url=database_url,
        trusted_proxies=("127.0.0.1",) if trusted else ("10.9.9.9",),
    )
    with live_server(create_app(settings)) as url:
        answer = httpx.get(f"{url}/admin/login", headers={"X-Forwarded-Proto": "http, https"})
    assert answer.status_code == 200
    cookies = set_cookie_headers(answer)
    if trusted:
        assert "secure" in cookies["__Host-curator_login_csrf"].lower()
    else:
        assert "curator_login_csrf" in cookies
        assert "secure" not in cookies["curator_login_csrf"].lower()


@pytest.mark.parametrize("trusted", [True, False])
def test_client_limit_uses_the_client_address_behind_trusted_proxies(
    storage: LocalStorage, user_db: str, trusted: bool
) -> None:
    settings = ServerSettings(
        storage=storage.root,
        database_url=user_db,
        trusted_proxies=("127.0.0.1",) if trusted else ("10.9.9.9",),
        admin=AdminSettings(login_max_per_client=2, login_max_per_account=100),
    )
    with live_server(create_app(settings)) as url:

        def client(address: str) -> httpx.Client:
            return httpx.Client(base_url=url, headers={"X-Forwarded-For": address})

        with client("198.51.100.1") as first, client("198.51.100.2") as second:
            for n in range(2):
                assert login(first, f"guess{n}@example.org", "wrong password").status_code == 401
            assert login(first, EMAIL, PASSWORD).status_code == 429
            # another client behind the proxy has its own count; without a trusted proxy,
            # both are the proxy's address (X-Forwarded-For is not believed)
            assert login(second, EMAIL, PASSWORD).status_code == (303 if trusted else 429)
