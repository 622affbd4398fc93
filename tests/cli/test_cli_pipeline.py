"""`curator pipeline`: sync + build + promote in one locked run; a second run exits at once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.pipeline import pipeline_lock
from curator.replay import ReplayServer, ReplayState
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


def test_pipeline_syncs_builds_and_promotes(tmp_path: Path, data: Path) -> None:
    storage = tmp_path / "storage"
    args = ["--repo", str(data), "--storage", str(storage), "pipeline", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    assert report["sync"]["counts"]["added"] == 29
    current = storage / "repository" / "current"
    assert current.resolve().name == report["promoted"] == report["build"]["build_id"]
    assert json.loads((current / "packages.json").read_text())["metadata-url"].startswith("/")
    # a second run: nothing to sync, the same commit, the same build stays current
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    second = json.loads(again.output.splitlines()[-1])
    assert second["sync"]["commit"] is None and second["promoted"] == report["promoted"]


def test_a_second_pipeline_exits_at_once(tmp_path: Path, data: Path) -> None:
    storage = tmp_path / "storage"
    with pipeline_lock(storage):
        started = time.monotonic()
        result = CliRunner().invoke(
            cli, ["--repo", str(data), "--storage", str(storage), "pipeline"]
        )
        assert time.monotonic() - started < 5
    assert result.exit_code == 3
    assert "another pipeline is running (pid" in result.output
    assert not (storage / "repository").exists()
