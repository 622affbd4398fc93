"""``/health`` is public: its ``detail`` and ``sync.error`` never carry filesystem paths or
exception text; the full error goes to the ``server.health`` log at WARNING instead."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from server_helpers import BuildMaker

from curator.build.search_index import SEARCH_INDEX_NAME
from curator.storage.local import LocalStorage
from server.app import create_app
from server.settings import ServerSettings


def health_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "server.health" and r.levelno == logging.WARNING
    ]


def test_an_unreadable_build_is_named_in_the_log_not_in_the_answer(
    make_build: BuildMaker, storage: LocalStorage, caplog: pytest.LogCaptureFixture
) -> None:
    build_id = make_build()
    (storage.build_path(build_id) / "manifest.json").write_text("{")
    with TestClient(create_app(ServerSettings(storage=storage.root))) as c:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="server.health"):
            r = c.get("/health")
    assert r.status_code == 503
    data = r.json()
    assert data["status"] == "no_build"
    assert data["detail"] == "the promoted build cannot be read"
    assert str(storage.root) not in r.text and "manifest.json" not in r.text
    (logged,) = health_warnings(caplog)
    assert str(storage.build_path(build_id)) in logged


def test_nothing_promoted_is_still_said_plainly(
    storage: LocalStorage, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(ServerSettings(storage=storage.root))) as c:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="server.health"):
            r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["detail"] == "no build has been promoted yet"
    assert health_warnings(caplog) == []


def test_an_unreadable_search_index_is_named_in_the_log_not_in_the_answer(
    make_build: BuildMaker, storage: LocalStorage, caplog: pytest.LogCaptureFixture
) -> None:
    build_id = make_build()
    index = storage.build_path(build_id) / SEARCH_INDEX_NAME
    index.write_bytes(b"not a database, " * 512)
    with TestClient(create_app(ServerSettings(storage=storage.root))) as c:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="server.health"):
            r = c.get("/health")
    assert r.status_code == 200  # the Composer files are still served
    data = r.json()
    assert data["status"] == "ok" and data["build"]["id"] == build_id
    assert data["detail"] == "the promoted build's search index cannot be read"
    assert str(storage.root) not in r.text and SEARCH_INDEX_NAME not in r.text
    (logged,) = health_warnings(caplog)
    assert str(index) in logged and build_id in logged


def test_a_data_repository_error_is_logged_not_shown(
    make_build: BuildMaker, storage: LocalStorage, tmp_path: Path, caplog: Any
) -> None:
    make_build()
    missing = tmp_path / "no-such-data-repo"
    settings = ServerSettings(storage=storage.root, data_repo=missing)
    with TestClient(create_app(settings)) as c:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="server.health"):
            r = c.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.json()["sync"]["error"] == "the data repository cannot be read"
    assert str(tmp_path) not in r.text and "no-such-data-repo" not in r.text
    (logged,) = health_warnings(caplog)
    assert "no-such-data-repo" in logged
