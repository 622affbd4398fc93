"""Security regressions of the web server found in review: each test shows an attack that
used to work against a real app (Litestar's test client over a real build and database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import argon2
import orjson
import pytest
from admin_helpers import EMAIL, add_user, csrf_of
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock

from curator.storage.local import LocalStorage
from server.admin.settings import AdminSettings
from server.app import create_app
from server.runtime.engine import default_url
from server.settings import ServerSettings

Client = TestClient[Any]
BATCH = orjson.dumps({"downloads": [{"name": "wp-plugin/akismet", "version": "5.3.1.0"}]})


@pytest.fixture
def app_client(storage: LocalStorage, make_build: BuildMaker) -> Iterator[Client]:
    make_build()
    settings = ServerSettings(storage=storage.root, public_url="https://repo.example.org")
    with TestClient(create_app(settings)) as client:
        yield client


# --- POST /downloads from other web sites ----------------------------------------------------
#
# A page on any site can make its visitors' browsers POST to /downloads without a CORS
# preflight when the request is "simple": Content-Type text/plain, form-urlencoded or
# multipart, or none at all (a Blob body without a type). Every visitor is another client
# address, so a popular page could inflate any package's install counts (and its rank under
# sort=downloads). Composer always sends ``Content-Type: application/json``, which a browser
# may only send cross-site after a preflight this server never approves.


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain;charset=UTF-8"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {},
    ],
    ids=["text-plain", "form-urlencoded", "multipart", "no-content-type"],
)
def test_notify_batch_without_json_content_type_is_refused(
    app_client: Client, headers: dict[str, str]
) -> None:
    r = app_client.post("/downloads", content=BATCH, headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["status"] == 415 and "application/json" in r.json()["detail"]
    page = app_client.get("/api/packages/wp-plugin/akismet").json()
    assert page["composer_installs"] == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_notify_batch_with_json_content_type_counts(app_client: Client, content_type: str) -> None:
    r = app_client.post("/downloads", content=BATCH, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0, "ignored": 0}


# --- third-party scripts on the registry's origin ---------------------------------------------
#
# Litestar's default OpenAPI viewers (/schema, /schema/redoc, /schema/swagger, ...) are HTML
# pages that load JavaScript from CDNs (Redoc from cdn.redoc.ly/redoc/latest: a mutable URL),
# without integrity checks and without a Content-Security-Policy. They run on the same origin
# as the admin area, where a signed-in browser sends the session cookie to same-origin
# fetches: a changed or compromised script could read an admin page's CSRF token and promote
# or roll back builds. The OpenAPI document itself stays available (JSON and YAML).

VIEWERS = ("/schema", "/schema/redoc", "/schema/swagger", "/schema/rapidoc", "/schema/elements")


@pytest.mark.parametrize("path", VIEWERS)
def test_no_page_loads_scripts_from_other_sites(app_client: Client, path: str) -> None:
    r = app_client.get(path)
    assert "<script" not in r.text, r.text[:500]
    assert not r.headers.get("content-type", "").startswith("text/html") or r.status_code == 404


def test_the_openapi_document_is_still_served(app_client: Client) -> None:
    doc = app_client.get("/schema/openapi.json")
    assert doc.status_code == 200 and "/api/packages" in doc.json()["paths"]
    assert app_client.get("/schema").json()["openapi"] == doc.json()["openapi"]
    yaml = app_client.get("/schema/openapi.yaml")
    assert yaml.status_code == 200 and "/api/packages" in yaml.text


# --- sign-in attempts once locked out ----------------------------------------------------------
#
# The rate limit bounds the password checks one client can make the server do (argon2id,
# 19 MiB and tens of milliseconds each). A locked-out attempt used to verify a dummy
# password anyway, so a locked-out client could keep every CPU busy and every worker thread
# holding 19 MiB with unlimited requests. The 429 itself already says "locked out", whether
# the account exists or not, so its timing has nothing to hide.


def test_locked_out_attempts_cost_no_password_check(
    storage: LocalStorage,
    make_build: BuildMaker,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_build()
    database_url = default_url(storage.root)
    add_user(database_url)
    settings = ServerSettings(
        storage=storage.root,
        database_url=database_url,
        admin=AdminSettings(login_max_per_client=4, login_max_per_account=100),
    )
    checks: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counting_verify(self: argon2.PasswordHasher, stored: Any, password: Any) -> bool:
        checks.append("argon2")
        return real_verify(self, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    with TestClient(create_app(settings, clock=clock)) as client:
        token = csrf_of(client.get("/admin/login").text)

        def attempt() -> int:
            data = {"csrf_token": token, "email": EMAIL, "password": "wrong password here"}
            return client.post("/admin/login", data=data).status_code

        assert [attempt() for _ in range(4)] == [401] * 4
        assert len(checks) == 4  # one argon2 verification per refused password
        assert [attempt() for _ in range(8)] == [429] * 8
        assert len(checks) == 4  # locked out: no verification at all
