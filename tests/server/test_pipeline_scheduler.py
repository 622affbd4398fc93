"""``curator serve --with-scheduler``: the server runs the pipeline by itself, never two at once,
skips a round while another pipeline holds the lock, survives failures, and stops at shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from curator.cli import cli
from curator.datarepo import DataRepo
from curator.pipeline import PipelineOptions, pipeline_lock
from curator.replay import ReplayServer, ReplayState
from curator.replay.faults import FaultConfig
from curator.storage.local import LocalStorage
from server.app import create_app
from server.counts import ZeroCounts
from server.pipeline_scheduler import PipelineJob, PipelineScheduler
from server.settings import ServerSettings
from tests.conftest import git_fsck


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


@pytest.fixture
def data(tmp_path: Path, replay: ReplayServer) -> Iterator[Path]:
    path = tmp_path / "data"
    result = CliRunner().invoke(
        cli, ["init", str(path), "--prefix", "", "--upstream", replay.base_url]
    )
    assert result.exit_code == 0, result.output
    yield path
    git_fsck(path)


def job(data: Path, storage: Path) -> PipelineJob:
    return PipelineJob(repo=data, prefix=None, ref=None, storage=storage)


def head(data: Path) -> str | None:
    repo = DataRepo.open(data)
    try:
        return repo.head()
    finally:
        repo.store.close()


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(r.__dict__["event"]) for r in caplog.records if "event" in r.__dict__]


def test_a_round_promotes_a_build(data: Path, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    scheduler = PipelineScheduler(job(data, storage), 3600)
    first = scheduler.run_once()
    assert first.status == "ok" and first.commit == head(data)
    assert LocalStorage(storage).current() == first.build_id
    second = scheduler.run_once()
    assert second.status == "ok" and second.build_id == first.build_id
    assert scheduler.runs == 2 and scheduler.last == second


def test_a_round_is_skipped_while_another_pipeline_holds_the_lock(
    data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    storage = tmp_path / "storage"
    before = head(data)
    scheduler = PipelineScheduler(job(data, storage), 3600)
    with pipeline_lock(storage):  # as `curator pipeline` from a timer holds it
        skipped = scheduler.run_once()
    assert skipped.status == "skipped" and "another pipeline is running (pid" in str(skipped.detail)
    assert head(data) == before and not (storage / "repository").exists()
    assert "pipeline.skipped" in events(caplog)
    # the lock is free again: the next round runs
    assert scheduler.run_once().status == "ok"


def test_a_failing_round_is_logged_and_the_next_one_runs(
    data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bad = PipelineScheduler(job(tmp_path / "nowhere", tmp_path / "storage"), 3600)
    failed = bad.run_once()
    assert failed.status == "failed" and "not a git repository" in str(failed.detail).lower()
    record = next(r for r in caplog.records if r.__dict__.get("event") == "pipeline.failed")
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert bad.run_once().status == "failed"  # and again: the scheduler is never broken
    good = PipelineScheduler(job(data, tmp_path / "storage"), 3600)
    assert good.run_once().status == "ok"


def test_a_round_of_this_process_is_never_doubled(data: Path, tmp_path: Path) -> None:
    scheduler = PipelineScheduler(job(data, tmp_path / "storage"), 3600)
    with scheduler._running:  # a round is under way
        busy = scheduler.run_once()
    assert busy.status == "busy" and scheduler.runs == 0


def test_the_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        PipelineScheduler(job(tmp_path, tmp_path), 0)


def test_the_loop_runs_periodically_and_stops_when_cancelled(
    data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    scheduler = PipelineScheduler(job(data, tmp_path / "storage"), 0.05)

    async def main() -> float:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(scheduler.run)
            with anyio.fail_after(30):
                while scheduler.runs < 3:
                    await anyio.sleep(0.02)
            started = time.monotonic()
            tasks.cancel_scope.cancel()
        return time.monotonic() - started

    assert anyio.run(main) < 5
    assert events(caplog).count("pipeline.finished") >= 3
    assert events(caplog)[-1] == "scheduler.stopped"


def test_shutdown_stops_a_running_sync_before_its_commit(
    data: Path, tmp_path: Path, replay: ReplayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = head(data)
    replay.state.faults.configure(FaultConfig(latency_ms=400))  # each package takes a while
    options = PipelineOptions(client_options={"concurrency": 2})
    scheduler = PipelineScheduler(
        PipelineJob(repo=data, prefix=None, ref=None, storage=tmp_path / "s", options=options),
        3600,
    )

    async def main() -> float:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(scheduler.run)
            with anyio.fail_after(30):  # wait until packages are being fetched
                while "fetching" not in caplog.text:
                    await anyio.sleep(0.02)
            started = time.monotonic()
            tasks.cancel_scope.cancel()
        return time.monotonic() - started

    assert anyio.run(main) < 5  # 31 packages would take ~6 s at 2 x 400 ms
    assert scheduler.last is not None and scheduler.last.status == "stopped"
    assert head(data) == before  # nothing committed
    assert events(caplog)[-2:] == ["pipeline.stopped", "scheduler.stopped"]


def wait_for(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.05)


def test_the_app_promotes_a_build_by_itself(data: Path, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    settings = ServerSettings(storage=storage, data_repo=data, pipeline_interval=0.2)
    app = create_app(settings, counts=ZeroCounts())
    scheduler = app.state["pipeline_scheduler"]
    assert isinstance(scheduler, PipelineScheduler)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] in ("no_build", "ok")
        wait_for(lambda: client.get("/health").status_code == 200)
        body = client.get("/health").json()
        assert body["build"]["commit"] == head(data)
        assert client.get("/p2/wp-plugin/akismet.json").status_code == 200
        wait_for(lambda: scheduler.runs >= 2)  # and again, every interval
    runs = scheduler.runs
    time.sleep(0.5)
    assert scheduler.runs == runs  # the app stopped: no more rounds


def test_the_app_needs_a_data_repository_for_the_pipeline(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data repository"):
        create_app(ServerSettings(storage=tmp_path, pipeline_interval=60))
    assert create_app(ServerSettings(storage=tmp_path)).state["pipeline_scheduler"] is None


# --- the serve options ---------------------------------------------------------------------


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def run(app: Any, shutdown: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=app, shutdown=shutdown)

    monkeypatch.setattr("server.cli.run_server", run)
    return seen


def test_serve_with_scheduler_runs_the_pipeline(
    data: Path, tmp_path: Path, fake_run: dict[str, Any]
) -> None:
    args = ["--repo", str(data), "--storage", str(tmp_path / "s"), "serve", "--with-scheduler"]
    result = CliRunner().invoke(cli, [*args, "--pipeline-interval", "600"])
    assert result.exit_code == 0, result.output
    scheduler = fake_run["app"].state["pipeline_scheduler"]
    assert scheduler.interval == 600 and scheduler.job.repo == data
    assert fake_run["log_config"] is None and fake_run["log_level"] == logging.INFO
    assert fake_run["app"].state["scheduler"] is not None  # rollups too
    off = CliRunner().invoke(cli, [*args, "--pipeline-interval", "0"])
    assert off.exit_code == 0 and fake_run["app"].state["pipeline_scheduler"] is None
    plain = CliRunner().invoke(cli, ["--repo", str(data), "serve"])
    assert plain.exit_code == 0 and fake_run["app"].state["pipeline_scheduler"] is None


def test_serve_with_scheduler_needs_a_valid_data_repository(
    tmp_path: Path, fake_run: dict[str, Any]
) -> None:
    no_repo = CliRunner().invoke(cli, ["--storage", str(tmp_path), "serve", "--with-scheduler"])
    assert no_repo.exit_code == 2 and "--pipeline-interval 0" in no_repo.output
    (tmp_path / "empty").mkdir()
    bad = CliRunner().invoke(cli, ["--repo", str(tmp_path / "empty"), "serve", "--with-scheduler"])
    assert bad.exit_code == 5 and "not a git repository" in bad.output.lower()
    assert fake_run == {}


def test_serve_warns_when_the_storage_directory_does_not_exist(
    tmp_path: Path, fake_run: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A first start before any build is normal (systemd starts the server before the first
    pipeline); a mistyped --storage is not: the operator is told which directory is missing."""
    missing = tmp_path / "no-such-storage"
    with caplog.at_level(logging.WARNING, logger="server.cli"):
        result = CliRunner().invoke(cli, ["--storage", str(missing), "serve"])
    assert result.exit_code == 0, result.output
    assert f"storage directory {missing} does not exist" in caplog.text
