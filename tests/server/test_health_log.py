"""``/health`` polled while something is broken, through the real app: each problem is logged
once, then once per quiet interval with the polls not logged, and its recovery once at INFO.
The throttle's clock is moved by hand (no sleeps)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock

from curator.build.search_index import SEARCH_INDEX_NAME
from curator.storage.local import LocalStorage
from server.app import create_app
from server.logthrottle import ProblemThrottle
from server.settings import ServerSettings

Client = TestClient[Any]
QUIET = 300.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(50.0)  # a monotonic clock: seconds since an arbitrary start


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="server.health"):
        yield caplog


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "server.health" and r.levelno == level
    ]


def app_client(settings: ServerSettings, clock: FakeClock) -> Client:
    return TestClient(
        create_app(settings, health_log=ProblemThrottle(quiet=QUIET, monotonic=clock))
    )


def poll(c: Client, times: int, status: int) -> None:
    for _ in range(times):
        assert c.get("/health").status_code == status


def test_an_unreadable_build_is_logged_once_per_interval_then_its_recovery(
    make_build: BuildMaker,
    storage: LocalStorage,
    clock: FakeClock,
    logged: pytest.LogCaptureFixture,
) -> None:
    build_id = make_build()
    manifest = storage.build_path(build_id) / "manifest.json"
    good = manifest.read_bytes()
    manifest.write_text("{")
    with app_client(ServerSettings(storage=storage.root), clock) as c:
        logged.clear()
        poll(c, 25, 503)
        (first,) = lines(logged, logging.WARNING)
        assert first.startswith("/health: the promoted build cannot be read: ")
        assert str(manifest.parent) in first and "still failing" not in first

        clock.now += QUIET - 1
        poll(c, 5, 503)
        assert len(lines(logged, logging.WARNING)) == 1

        clock.now += 1
        poll(c, 1, 503)
        warnings = lines(logged, logging.WARNING)
        assert len(warnings) == 2
        assert warnings[1] == first + " (still failing; 29 polls not logged since the last report)"

        manifest.write_bytes(good)
        poll(c, 10, 200)
        assert lines(logged, logging.INFO) == ["/health: the promoted build is readable again"]
        assert len(lines(logged, logging.WARNING)) == 2


def test_a_search_index_problem_is_reported_again_at_once_for_another_build(
    make_build: BuildMaker,
    storage: LocalStorage,
    clock: FakeClock,
    logged: pytest.LogCaptureFixture,
) -> None:
    def broken_build(label: str) -> str:
        build_id = make_build(label=label)
        index = storage.build_path(build_id) / SEARCH_INDEX_NAME
        index.write_bytes(b"not a database, " * 512)
        return build_id

    first = broken_build("b1")
    with app_client(ServerSettings(storage=storage.root), clock) as c:
        logged.clear()
        poll(c, 10, 200)
        second = broken_build("b2")  # same problem, different text: reported at once
        poll(c, 10, 200)
        warnings = lines(logged, logging.WARNING)
        assert len(warnings) == 2
        assert first in warnings[0] and second in warnings[1]
        assert all("still failing" not in w for w in warnings)

        good = make_build(label="b3")
        poll(c, 10, 200)
        assert lines(logged, logging.INFO) == [
            f"/health: the search index is readable again (build {good})"
        ]
        assert len(lines(logged, logging.WARNING)) == 2


def test_each_problem_kind_is_throttled_on_its_own(
    make_build: BuildMaker,
    storage: LocalStorage,
    tmp_path: Path,
    clock: FakeClock,
    logged: pytest.LogCaptureFixture,
) -> None:
    build_id = make_build()
    (storage.build_path(build_id) / "manifest.json").write_text("{")
    settings = ServerSettings(storage=storage.root, data_repo=tmp_path / "no-such-data-repo")
    with app_client(settings, clock) as c:
        logged.clear()
        poll(c, 20, 503)
        warnings = lines(logged, logging.WARNING)
        assert len(warnings) == 2
        assert sum("the data repository cannot be read" in w for w in warnings) == 1
        assert sum("the promoted build cannot be read" in w for w in warnings) == 1

        clock.now += QUIET
        poll(c, 1, 503)
        repeats = lines(logged, logging.WARNING)[2:]
        assert len(repeats) == 2
        assert all(
            w.endswith("(still failing; 19 polls not logged since the last report)")
            for w in repeats
        )
        assert lines(logged, logging.INFO) == []


def test_the_quiet_interval_comes_from_the_settings(storage: LocalStorage) -> None:
    assert create_app(ServerSettings(storage=storage.root)).state["health_log"].quiet == 300.0
    app = create_app(ServerSettings(storage=storage.root, health_log_quiet=30.0))
    assert app.state["health_log"].quiet == 30.0
    # a throttle passed in (tests: their own clock) wins
    own = ProblemThrottle(quiet=5.0)
    assert (
        create_app(ServerSettings(storage=storage.root), health_log=own).state["health_log"] is own
    )


@pytest.mark.parametrize("quiet", [0.0, -1.0, float("nan")])
def test_the_quiet_interval_must_be_positive(storage: LocalStorage, quiet: float) -> None:
    with pytest.raises(ValueError, match=r"ServerSettings\.health_log_quiet must be a positive"):
        ServerSettings(storage=storage.root, health_log_quiet=quiet)
