"""The `curator` command line as scripts use it: init, sync, log, schemas, and exit codes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.replay import ReplayServer, ReplayState
from tests.conftest import git, git_fsck


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def data(tmp_path: Path, runner: CliRunner, replay: ReplayServer) -> Iterator[Path]:
    path = tmp_path / "data"
    result = runner.invoke(cli, ["init", str(path), "--prefix", "", "--upstream", replay.base_url])
    assert result.exit_code == 0, result.output
    assert "Initialised data repository" in result.output
    yield path
    git_fsck(path)


def test_init_sync_log(runner: CliRunner, data: Path) -> None:
    result = runner.invoke(cli, ["--repo", str(data), "sync"])
    assert result.exit_code == 0, result.output
    assert "Sync run summary" in result.output and "Committed" in result.output
    head = git("-C", data, "rev-parse", "HEAD").strip()
    log = runner.invoke(cli, ["--repo", str(data), "log"])
    assert log.exit_code == 0 and head[:12] in log.output
    lines = runner.invoke(cli, ["--repo", str(data), "log", "--json"]).output.splitlines()
    runs = [json.loads(line) for line in lines]
    assert [r["commit"] for r in runs] == [head]
    assert runs[0]["counts"]["added"] == 29 and runs[0]["counts"]["closed"] == 2
    everything = runner.invoke(cli, ["--repo", str(data), "log", "--all", "--json"]).output
    assert len(everything.splitlines()) == 2  # the init commit too
    # the prefix was remembered by init: no --prefix needed, and git sees the files at the root
    assert "registry.json" in git("-C", data, "ls-tree", "--name-only", "HEAD").split()


def test_sync_from_inside_the_repository_uses_it_by_default(
    runner: CliRunner, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(data / "refs")
    result = runner.invoke(cli, ["sync", "--type", "theme", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"]["added"] == 5


def test_dry_run_and_json(runner: CliRunner, data: Path) -> None:
    head = git("-C", data, "rev-parse", "HEAD").strip()
    result = runner.invoke(cli, ["--repo", str(data), "sync", "--dry-run", "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["dry_run"] and report["commit"] is None
    assert report["changed_paths"] == 32
    assert git("-C", data, "rev-parse", "HEAD").strip() == head


def test_bad_slug_is_a_usage_error(runner: CliRunner, data: Path) -> None:
    result = runner.invoke(cli, ["--repo", str(data), "sync", "--slug", "../../etc/passwd"])
    assert result.exit_code == 2 and "invalid slug" in result.output


def test_not_a_repository_exits_5(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["--repo", str(tmp_path), "log"])
    assert result.exit_code == 5 and "curator: error:" in result.output


def test_unreachable_upstream_exits_4_and_changes_nothing(runner: CliRunner, data: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    head = git("-C", data, "rev-parse", "HEAD").strip()
    result = runner.invoke(
        cli,
        ["--repo", str(data), "sync", "--upstream", f"http://127.0.0.1:{port}", "--retries", "0"],
    )
    assert result.exit_code == 4, result.output
    assert f"127.0.0.1:{port}" in result.output
    assert git("-C", data, "rev-parse", "HEAD").strip() == head


def test_schemas_check_detects_stale_files(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    assert runner.invoke(cli, ["schemas", "--dir", str(out)]).exit_code == 0
    assert runner.invoke(cli, ["schemas", "--dir", str(out), "--check"]).exit_code == 0
    (out / "registry.schema.json").write_text("{}\n")
    stale = runner.invoke(cli, ["schemas", "--dir", str(out), "--check"])
    assert stale.exit_code == 1 and "registry.schema.json" in stale.output


def test_committed_schemas_are_current() -> None:
    from curator.schemas import stale_schemas

    assert stale_schemas(Path(__file__).resolve().parents[2] / "schemas") == []


def test_init_records_public_and_notify_urls(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "urls"
    args = ["init", str(path), "--prefix", "", "--public-url", "https://repo.example.org"]
    result = runner.invoke(cli, [*args, "--notify-batch", "https://repo.example.org/downloads"])
    assert result.exit_code == 0, result.output
    config = json.loads(git("-C", path, "show", "HEAD:registry.json"))
    assert config["public_url"] == "https://repo.example.org"
    assert config["notify_batch"] == "https://repo.example.org/downloads"
    bad = runner.invoke(cli, ["init", str(tmp_path / "bad"), "--notify-batch", "/downloads"])
    assert bad.exit_code == 2 and "--notify-batch" in bad.output and "'/downloads'" in bad.output
    assert not (tmp_path / "bad").exists()
