"""JSON API, repository files (validators, 304, 404) and /health."""

from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from server_helpers import BuildMaker

from server.app import create_app
from server.settings import ServerSettings

Client = TestClient[Any]


def test_api_search(client: Client, make_build: BuildMaker) -> None:
    make_build()
    r = client.get("/api/packages", params={"q": "contactform7"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["total"] == 1 and data["sort"] == "relevance"
    hit = data["results"][0]
    assert hit["name"] == "wp-plugin/contact-form-7"
    assert hit["composer_installs"] == 0 and hit["url"] == "/packages/wp-plugin/contact-form-7"
    themes = client.get("/api/packages", params={"type": "theme", "sort": "name"}).json()
    assert [p["name"] for p in themes["results"]] == ["wp-theme/twentytwentyfour"]


@pytest.mark.parametrize("query", ["page=x", "type=x", "sort=x", "page=0"])
def test_api_bad_parameters(client: Client, make_build: BuildMaker, query: str) -> None:
    make_build()
    r = client.get(f"/api/packages?{query}")
    assert r.status_code == 400
    assert r.json()["status"] == 400


def test_api_detail(client: Client, make_build: BuildMaker) -> None:
    make_build()
    data = client.get("/api/packages/wp-plugin/legacy-seo").json()
    assert data["abandoned"] == "wp-plugin/akismet"
    assert data["composer_require"] == "composer require wp-plugin/legacy-seo"
    assert [v["version"] for v in data["versions"]] == ["2.0.0", "1.9.0"]
    assert data["versions"][0]["require"]["php"] == ">=7.4"
    assert data["overrides"][0]["reason"] == "Replaced by the maintained fork"
    assert len(data["monthly_installs"]) == 12
    assert client.get("/api/packages/wp-plugin/nope").status_code == 404
    bad = client.get("/api/packages/wp-plugin/..%2Fx")
    assert bad.status_code == 404 and bad.headers["content-type"] == "application/json"


def test_openapi_document(client: Client) -> None:
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/packages" in paths and "/api/packages/{vendor}/{slug}" in paths
    assert "/health" in paths


@pytest.mark.parametrize("path", ["/packages.json", "/list.json", "/p2/wp-plugin/akismet.json"])
def test_repository_files(client: Client, make_build: BuildMaker, storage: Any, path: str) -> None:
    build_id = make_build()
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.content == (storage.build_path(build_id) / path.lstrip("/")).read_bytes()
    promoted = int(os.lstat(storage.current_link).st_mtime)
    assert r.headers["last-modified"] == email.utils.formatdate(promoted, usegmt=True)
    etag = r.headers["etag"]
    # 304 flows
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    since = client.get(path, headers={"If-Modified-Since": r.headers["last-modified"]})
    assert since.status_code == 304
    older = email.utils.formatdate(promoted - 10, usegmt=True)
    assert client.get(path, headers={"If-Modified-Since": older}).status_code == 200
    assert client.get(path, headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_promotion_moves_last_modified_forward(
    client: Client, make_build: BuildMaker, storage: Any
) -> None:
    first = make_build(label="one")
    lm = client.get("/packages.json").headers["last-modified"]
    make_build(label="two", time=1_800_000_000)
    time.sleep(1.1)
    storage.rollback(first)
    r = client.get("/packages.json", headers={"If-Modified-Since": lm})
    assert r.status_code == 200  # a rollback is a change for clients


@pytest.mark.parametrize(
    "path",
    [
        "/p2/wp-plugin/nope.json",
        "/p2/wp-plugin/akismet",
        "/p2/wp-plugin/akismet.json.bak",
        "/p2/wp-plugin/..%2F..%2Fmanifest.json",
        "/p2/..%2F/manifest.json",
        "/p2/wp-plugin/%2e%2e.json",
        "/p2/WP-Plugin/akismet.json",
        "/p2/wp-plugin/akismet~dev.json",  # not in this build
        "/manifest.json",
        "/search.sqlite",
    ],
)
def test_repository_404s(client: Client, make_build: BuildMaker, path: str) -> None:
    make_build()
    r = client.get(path)
    assert r.status_code == 404
    if path.startswith("/p2/") or path.endswith(".json"):  # never an HTML page for Composer
        assert r.headers["content-type"] == "application/json"


def test_health_ok(client: Client, make_build: BuildMaker) -> None:
    built = int(time.time())  # not the module's NOW: a slow suite can run this minutes later
    build_id = make_build(time=built)
    r = client.get("/health")
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "ok"
    assert data["build"]["id"] == build_id
    assert data["packages"] == {"plugin": 5, "theme": 1, "total": 6}
    assert 0 <= data["data_age_seconds"] <= int(time.time()) - built + 1
    assert data["sync"] is None


def test_health_503_without_build(client: Client) -> None:
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "no_build"


def test_health_503_when_stale(make_build: BuildMaker, storage: Any) -> None:
    make_build(time=int(time.time()) - 7200)
    app = create_app(ServerSettings(storage=storage.root, stale_after=3600))
    with TestClient(app) as c:
        r = c.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "stale"
        assert r.json()["data_age_seconds"] >= 7200


def test_health_503_when_build_unreadable(make_build: BuildMaker, storage: Any) -> None:
    build_id = make_build()
    (storage.build_path(build_id) / "manifest.json").write_text("{")
    with TestClient(create_app(ServerSettings(storage=storage.root))) as c:
        assert c.get("/health").status_code == 503


def test_health_reports_sync_run(make_build: BuildMaker, storage: Any, tmp_path: Path) -> None:
    from curator.datarepo import create
    from curator.models import RegistryConfig
    from curator.records import Change
    from curator.runlog import format_message

    make_build()
    repo_dir = tmp_path / "data.git"
    repo = create(repo_dir, RegistryConfig(), author="t <t@example.org>", timestamp=1_790_000_000)
    message = format_message(
        counts={Change.ADDED: 3, Change.UPDATED: 1},
        sources=["svn log r1..r2"],
        failures=[],
        run_id="run-42",
        version="0.1.0",
        types=["plugin"],
    )
    sha = repo.commit(
        parent=repo.head(),
        changes={"state/marker": b"x"},
        message=message,
        author="t <t@example.org>",
        timestamp=1_790_000_100,
    )
    app = create_app(ServerSettings(storage=storage.root, data_repo=repo_dir))
    with TestClient(app) as c:
        sync = c.get("/health").json()["sync"]
    assert sync["commit"] == sha and sync["run_id"] == "run-42"
    assert sync["counts"]["added"] == 3 and sync["error"] is None


def test_health_reports_unreadable_data_repo(
    make_build: BuildMaker, storage: Any, tmp_path: Path
) -> None:
    make_build()
    app = create_app(ServerSettings(storage=storage.root, data_repo=tmp_path / "missing"))
    with TestClient(app) as c:
        r = c.get("/health")
    assert r.status_code == 200 and r.json()["sync"]["error"]
