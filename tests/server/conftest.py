"""Fixtures of the server tests: coherent builds (p2 files, list.json, packages.json,
search.sqlite, manifest.json) written into a LocalStorage and promoted, a test client, and
runtime databases (SQLite and a fresh PostgreSQL schema) with a settable clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from server_helpers import (
    NOW,
    BuildMaker,
    FakeClock,
    build_files,
    postgres_schema,
    sample_rows,
)
from sqlalchemy.engine import Engine

from curator.build.manifest import write_build
from curator.build.search_index import SEARCH_INDEX_NAME, SearchRow, write_search_index
from curator.build.synthetic import fake_commit
from curator.storage.local import LocalStorage
from server.app import create_app
from server.runtime.engine import default_url, make_engine
from server.runtime.migrate import upgrade
from server.settings import ServerSettings


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
def make_build(storage: LocalStorage, tmp_path: Path) -> BuildMaker:
    """``make_build(rows=None, label="b1", time=NOW, promote=True, search=True) -> build id``."""

    def make(
        rows: Sequence[SearchRow] | None = None,
        *,
        label: str = "b1",
        time: int = NOW,
        promote: bool = True,
        search: bool = True,
    ) -> str:
        rows = sample_rows() if rows is None else rows
        commit = fake_commit(f"commit:{label}")
        build_id = f"{dt.datetime.fromtimestamp(time, dt.UTC):%Y%m%dT%H%M%SZ}-{label}"
        files = build_files(rows, label)
        if search:
            scratch = tmp_path / f"search-{label}.sqlite"
            write_search_index(scratch, rows)
            files[SEARCH_INDEX_NAME] = scratch.read_bytes()
        with storage.building(build_id) as tmp:
            write_build(
                tmp,
                files,
                commit=commit,
                tree=fake_commit(f"tree:{label}"),
                time=time,
                counts={"packages": len(rows), "p2_files": len(rows)},
            )
        if promote:
            storage.promote(build_id)
        return build_id

    return make


@pytest.fixture
def settings(storage: LocalStorage) -> ServerSettings:
    return ServerSettings(storage=storage.root, public_url="https://repo.example.org")


@pytest.fixture
def client(settings: ServerSettings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


# --- the runtime database (telemetry) -------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    # 2026-03-10 12:00:00 UTC: mid-day, mid-month
    return FakeClock(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC).timestamp())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, storage: LocalStorage) -> Iterator[str]:
    """The runtime database of a test: the default SQLite file in ``storage``, or a fresh
    PostgreSQL schema."""
    if request.param == "sqlite":
        yield default_url(storage.root)
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def runtime_engine(database_url: str) -> Iterator[Engine]:
    """A migrated runtime database."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
