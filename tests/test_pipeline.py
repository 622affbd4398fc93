"""One pipeline run (sync, build, promote) as a function, and stopping it part-way."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.build.manifest import read_manifest
from curator.datarepo import DataRepo
from curator.pipeline import PipelineOptions, PipelineStopped, run_pipeline
from curator.replay import ReplayServer, ReplayState
from curator.storage.local import LocalStorage
from tests.conftest import RepoFactory


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


@pytest.fixture
def repo(new_data_repo: RepoFactory) -> DataRepo:
    return new_data_repo(prefix="")


def options(replay: ReplayServer) -> PipelineOptions:
    return PipelineOptions(upstream=replay.base_url)


def test_a_run_syncs_builds_and_promotes(
    repo: DataRepo, replay: ReplayServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="curator.pipeline")
    done = run_pipeline(repo, tmp_path / "storage", options(replay))
    storage = LocalStorage(tmp_path / "storage")
    assert storage.current() == done.promoted == done.build.build_id and done.switched
    assert done.sync.commit == repo.head() == done.build.commit
    assert read_manifest(storage.build_path(done.promoted)).commit == repo.head()
    events = [r.__dict__.get("event") for r in caplog.records]
    assert events[0] == "pipeline.started" and events[-1] == "pipeline.finished"
    assert {"sync.finished", "build.finished", "build.promoted"} <= set(events)
    again = run_pipeline(repo, tmp_path / "storage", options(replay))
    assert again.sync.commit is None and again.promoted == done.promoted
    assert not again.switched and again.build.existing


def test_a_stop_request_during_the_sync_commits_nothing(
    repo: DataRepo, replay: ReplayServer, tmp_path: Path
) -> None:
    head = repo.head()
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3  # a few packages in

    with pytest.raises(PipelineStopped, match="stopped before its commit"):
        run_pipeline(repo, tmp_path / "storage", options(replay), should_stop=stop)
    assert repo.head() == head
    assert not (tmp_path / "storage" / "repository").exists()


def test_a_stop_request_after_the_sync_builds_nothing(
    repo: DataRepo, replay: ReplayServer, tmp_path: Path
) -> None:
    head = repo.head()
    stop_now = {"value": False}

    def stop() -> bool:
        # the sync polls after each package and at each stage; stop once its commit exists
        stop_now["value"] = stop_now["value"] or repo.head() != head
        return stop_now["value"]

    with pytest.raises(PipelineStopped, match="before the build"):
        run_pipeline(repo, tmp_path / "storage", options(replay), should_stop=stop)
    assert repo.head() != head  # the sync run was committed
    assert LocalStorage(tmp_path / "storage").build_ids() == []
