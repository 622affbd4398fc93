"""Helpers for the review tests: a small data repository with records and override files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from curator import canonical
from curator.build.seed import commit_records
from curator.datarepo import DataRepo
from curator.layout import PackageType, override_path
from curator.models import PackageRecord
from tests.build.conftest import record
from tests.conftest import RepoFactory

P, T = PackageType.PLUGIN, PackageType.THEME
GOOD = {"reason": "PHP 8 breaks it", "author": "trustee", "date": "2026-11-01"}


def override_bytes(**fields: Any) -> bytes:
    return canonical.dumps({**GOOD, **fields})


def write(
    repo: DataRepo, files: dict[str, bytes | None], records: list[PackageRecord] | None = None
) -> str:
    """One commit of override files (paths relative to the data tree) and records."""
    return commit_records(repo, records or [], extra=files, message="test: change\n")


def theme(slug: str = "twentyx") -> PackageRecord:
    return record(
        slug,
        kind=T,
        versions={"1.0": f"https://downloads.wordpress.org/theme/{slug}.1.0.zip"},
        version="1.0",
        stable_tag="1.0",
    )


def base_records() -> list[PackageRecord]:
    return [record("example"), record("other"), theme()]


@pytest.fixture
def repo(new_data_repo: RepoFactory) -> DataRepo:
    data = new_data_repo()
    commit_records(data, base_records())
    return data


def plugin_override(slug: str = "example") -> str:
    return override_path(P, slug)


def git_add_entry(repo: DataRepo, mode: str, path: str, content: bytes) -> str:
    """A commit on the data ref adding one tree entry of any mode, made with git itself."""
    gitdir = str(repo.store.path)
    env = {
        **os.environ,
        "GIT_INDEX_FILE": str(Path(gitdir) / "review-test-index"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@localhost",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@localhost",
    }

    def run(*args: str, data: bytes | None = None) -> str:
        out = subprocess.run(
            ["git", "--git-dir", gitdir, *args],
            input=data,
            env=env,
            capture_output=True,
            check=True,
        )
        return out.stdout.decode().strip()

    head = repo.head()
    assert head is not None
    sha = run("hash-object", "-w", "--stdin", data=content) if mode != "160000" else head
    run("read-tree", head)
    run("update-index", "--add", "--cacheinfo", f"{mode},{sha},{repo.prefix}{path}")
    tree = run("write-tree")
    commit = run("commit-tree", tree, "-p", head, "-m", "test: raw entry")
    run("update-ref", repo.ref, commit, head)
    os.unlink(env["GIT_INDEX_FILE"])
    return commit
