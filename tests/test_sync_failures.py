"""Failure paths of `curator sync` as an operator meets them, through the real CLI in child
processes: upstream faults, a killed run, and two runs racing on one repository."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.datarepo import DataRepo
from curator.layout import PackageType, package_path
from tests.conftest import ReplayProcess, curator_cli, git, git_fsck, write_subset

P = PackageType.PLUGIN
SUBSET = 1000


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory, corpus_path: Path) -> Path:
    return write_subset(corpus_path, tmp_path_factory.mktemp("corpus") / "subset.jsonl", SUBSET)


@pytest.fixture
def replay(subset: Path) -> Iterator[ReplayProcess]:
    server = ReplayProcess("--corpus", subset)
    yield server
    server.stop()


@pytest.fixture
def data(tmp_path: Path, replay: ReplayProcess) -> Iterator[Path]:
    path = tmp_path / "data"
    curator_cli("init", path, "--prefix", "", "--upstream", replay.base_url, check=True)
    yield path
    git_fsck(path)


def sync_cli(
    data: Path, *args: str, retries: int = 1, timeout: float = 1.0
) -> subprocess.CompletedProcess[str]:
    return curator_cli(
        "--repo", data, "sync", "--type", "plugin", "--retries", str(retries),
        "--timeout", str(timeout), "--json", *args,
    )  # fmt: skip


def snapshot_files(data: Path) -> dict[str, str]:
    """path -> blob id of every package file at HEAD (via the git CLI)."""
    out = git("-C", data, "ls-tree", "-r", "HEAD", "packages/")
    return {line.split("\t")[1]: line.split()[2] for line in out.splitlines()}


def test_twenty_percent_failing_upstream_alters_nothing_and_a_clean_run_recovers(
    data: Path, replay: ReplayProcess
) -> None:
    assert sync_cli(data).returncode == 0
    before = snapshot_files(data)
    assert len(before) == SUBSET
    changed = set(replay.control("mutate", {"percent": 30, "seed": 5, "type": "plugin"})["changed"])
    replay.control(
        "faults",
        {"error_rate": 0.08, "malformed_rate": 0.06, "hang_rate": 0.06, "hang_seconds": 30,
         "sticky": True, "seed": 11},
    )  # fmt: skip
    faulty = sync_cli(data, "--full")  # every package refetched: 20% of all requests fail
    assert faulty.returncode == 1, faulty.stderr
    report = json.loads(faulty.stdout)
    failed = {f["slug"] for f in report["failures"]}
    assert 0.12 * SUBSET < len(failed) < 0.28 * SUBSET
    assert all(f["reason"] for f in report["failures"])
    after = snapshot_files(data)
    assert set(after) == set(before), "no stored record is removed"
    for slug in failed:
        path = package_path(P, slug)
        assert after[path] == before[path], f"{slug} failed but its record changed"
    for slug in changed - failed:
        assert after[package_path(P, slug)] != before[package_path(P, slug)]
    state = DataRepo.open(data).view().state()
    assert set(state.plugin.pending) == failed
    message = git("-C", data, "log", "-1", "--format=%B")
    assert f"Failed ({len(failed)}):" in message
    # upstream recovers: the next ordinary run picks the failed packages up
    replay.clear_faults()
    clean = sync_cli(data)
    assert clean.returncode == 0, clean.stdout
    assert {s for s in json.loads(clean.stdout)["per_type"]["plugin"]} <= {"updated", "unchanged"}
    final = snapshot_files(data)
    for slug in changed:
        assert final[package_path(P, slug)] != before[package_path(P, slug)], slug
    assert DataRepo.open(data).view().state().plugin.pending == []


def test_a_killed_sync_leaves_the_ref_and_a_rerun_completes(
    data: Path, replay: ReplayProcess
) -> None:
    head = git("-C", data, "rev-parse", "HEAD").strip()
    replay.control("faults", {"latency_ms": 40})
    proc = subprocess.Popen(
        [sys.executable, "-m", "curator", "--repo", str(data), "sync", "--type", "plugin"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)  # about half of the 1000 fetches done (16 at a time, 40 ms each)
    assert proc.poll() is None, "the sync finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert git("-C", data, "rev-parse", "HEAD").strip() == head
    git_fsck(data)
    replay.clear_faults()
    rerun = sync_cli(data)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(snapshot_files(data)) == SUBSET
    assert git("-C", data, "rev-list", "--count", "HEAD").strip() == "2"


def test_two_concurrent_syncs_one_commits_the_other_fails_cleanly(
    data: Path, replay: ReplayProcess
) -> None:
    replay.control("faults", {"latency_ms": 5})
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "curator",
                "--repo",
                str(data),
                "sync",
                "--type",
                "plugin",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    winner = next(json.loads(out) for code, out, _ in results if code == 0)
    loser_err = next(err for code, _, err in results if code == 3)
    assert "moved" in loser_err and "nothing was committed" in loser_err
    assert git("-C", data, "rev-parse", "HEAD").strip() == winner["commit"]
    assert len(snapshot_files(data)) == SUBSET
    # rerunning the loser finds nothing left to do: nothing was lost
    replay.clear_faults()
    again = sync_cli(data)
    assert again.returncode == 0 and json.loads(again.stdout)["commit"] is None
