"""Shared fixtures: the real corpus beside the checkout, fresh data repositories (every one is
checked with ``git fsck --strict`` at teardown), a replay upstream, and a sync helper."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from curator.datarepo import DataRepo, create
from curator.models import RegistryConfig, UpstreamConfig
from curator.models.config import DiscoveryConfig
from curator.replay.process import ReplayProcess
from curator.sync import DEFAULT_AUTHOR, SyncOptions, SyncReport, SyncRunner
from curator.upstream import WporgClient

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "wporg-plugins-2024-04-16.jsonl.xz"
FIXTURES = SHARED / "fixtures" / "wporg"
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: the real-world tests need ../shared beside the checkout")
    return path


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    return require_shared(CORPUS)


def git(*args: str | Path) -> str:
    out = subprocess.run(["git", *map(str, args)], check=True, capture_output=True, text=True)
    return out.stdout


def git_fsck(path: Path) -> None:
    result = subprocess.run(
        ["git", "-C", str(path), "fsck", "--strict", "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"git fsck failed in {path}:\n{result.stdout}{result.stderr}"


RepoFactory = Callable[..., DataRepo]
__all__ = ["ReplayProcess"]


@pytest.fixture
def new_data_repo(tmp_path: Path) -> Iterator[RepoFactory]:
    """``new_data_repo(prefix="", plugins=[...], svn=True)`` -> a fresh DataRepo."""
    created: list[DataRepo] = []

    def make(
        name: str = "data",
        *,
        prefix: str = "",
        svn: bool = True,
        plugins: list[str] | None = None,
        themes: list[str] | None = None,
    ) -> DataRepo:
        config = RegistryConfig(
            discovery=DiscoveryConfig(svn=svn, plugins=plugins or [], themes=themes or [])
        )
        repo = create(
            tmp_path / name,
            config,
            prefix=prefix,
            author=DEFAULT_AUTHOR,
            timestamp=int(T0.timestamp()),
        )
        created.append(repo)
        return repo

    yield make
    for repo in created:
        git_fsck(repo.store.path)


class Clock:
    """A clock that advances one hour per call, so each run has its own time."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(hours=1)
        return self.now


def sync_once(
    repo: DataRepo,
    base_url: str,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    client_options: dict[str, Any] | None = None,
    **options: Any,
) -> SyncReport:
    """One sync run in-process against ``base_url``."""
    opts: dict[str, Any] = {"concurrency": 16, "timeout": 5.0, "retries": 2, "backoff": 0.01}
    opts.update(client_options or {})

    async def go() -> SyncReport:
        async with WporgClient(UpstreamConfig.from_base(base_url), **opts) as client:
            runner = SyncRunner(repo, client, clock=clock or Clock())
            return await runner.run(SyncOptions(**options))

    return asyncio.run(go())


def write_subset(source: Path, target: Path, count: int) -> Path:
    """The first ``count`` records of a corpus, as a plain .jsonl file (a test input)."""
    import lzma

    with lzma.open(source, "rt", encoding="utf-8") as src, target.open("w") as out:
        for n, line in enumerate(src):
            if n >= count:
                break
            out.write(line)
    return target


def curator_cli(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "curator", *map(str, args)],
        capture_output=True,
        text=True,
        check=check,
    )
