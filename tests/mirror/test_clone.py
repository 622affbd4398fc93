"""`curator mirror clone` / `fetch`: a bare copy of one branch that only ever fast-forwards;
prefix discovery, and every refusal (rewritten or rolled-back upstream, missing branch or
data tree, not a mirror, a non-empty target) leaving things as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from curator import canonical
from curator.build.seed import commit_records
from curator.cli._app import cli
from curator.datarepo import DataRepo
from curator.gitstore import GitStore, RemoteError
from curator.layout import PackageType
from curator.mirror.clone import (
    HistoryRewrittenError,
    MirrorError,
    clone_mirror,
    fetch_mirror,
)
from tests.build.conftest import record
from tests.conftest import RepoFactory, git_fsck
from tests.git_remotes import git, git_http_server

AUTHOR = "Tester <tester@example.org>"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def head(path: Path, branch: str = "main") -> str:
    return git("--git-dir", path, "rev-parse", branch).strip()


def test_clone_finds_the_prefix_and_the_mirror_builds_like_the_original(
    new_data_repo: RepoFactory, tmp_path: Path
) -> None:
    origin = new_data_repo("origin", prefix="registry-data/")
    commit_records(origin, [record("hello")])
    result = clone_mirror(str(origin.store.path), tmp_path / "m")
    assert (result.prefix, result.branch, result.commit) == (
        "registry-data/",
        "main",
        origin.head(),
    )
    mirror = DataRepo.open(tmp_path / "m")
    assert mirror.prefix == "registry-data/" and mirror.head() == origin.head()
    assert mirror.view().record(PackageType.PLUGIN, "hello") is not None
    git_fsck(tmp_path / "m")
    assert git("--git-dir", tmp_path / "m", "config", "curator.branch").strip() == "main"


def test_clone_over_smart_http_with_an_explicit_prefix(
    new_data_repo: RepoFactory, tmp_path: Path
) -> None:
    origin = new_data_repo("served/data.git")
    with git_http_server(tmp_path / "served") as url:
        result = run("mirror", "clone", "--prefix", "", f"{url}/data.git", tmp_path / "m")
        assert result.exit_code == 0, result.output
        wrong = run("mirror", "clone", "--prefix", "nope/", f"{url}/data.git", tmp_path / "w")
    assert head(tmp_path / "m") == origin.head()
    assert wrong.exit_code == 5 and "nope/registry.json is missing" in wrong.output
    assert not (tmp_path / "w").exists()  # nothing left behind


def test_clone_refusals_leave_nothing_behind(new_data_repo: RepoFactory, tmp_path: Path) -> None:
    origin = new_data_repo("origin")
    target = tmp_path / "m"
    with pytest.raises(MirrorError, match="has no branch 'dev'"):
        clone_mirror(str(origin.store.path), target, branch="dev")
    assert not target.exists()
    with pytest.raises(RemoteError, match="not a git repository"):
        clone_mirror(str(tmp_path), target)
    assert not target.exists()
    target.mkdir()
    (target / "x").write_text("x")
    result = run("mirror", "clone", origin.store.path, target)
    assert result.exit_code == 2 and "not an empty directory" in result.output
    # an existing empty directory is used, and emptied again on failure
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MirrorError):
        clone_mirror(str(origin.store.path), empty, prefix="nope/")
    assert empty.is_dir() and not any(empty.iterdir())
    # a repository without a data tree
    plain = tmp_path / "plain"
    with GitStore.init(plain) as store:
        store.commit(
            ref="refs/heads/main", parent=None, changes={"README": b"hi\n"},
            message="x\n", author=AUTHOR, timestamp=1,
        )  # fmt: skip
    with pytest.raises(MirrorError, match="not a data repository"):
        clone_mirror(str(plain), tmp_path / "m2")
    # a registry.json that does not parse
    commit_records(origin, [], extra={"registry.json": b"{not json"}, message="break\n")
    result = run("mirror", "clone", origin.store.path, tmp_path / "m3")
    assert result.exit_code == 5 and "registry.json" in result.output
    assert not (tmp_path / "m3").exists()


def test_fetch_fast_forwards(new_data_repo: RepoFactory, tmp_path: Path) -> None:
    origin = new_data_repo("origin")
    clone_mirror(str(origin.store.path), tmp_path / "m")
    mirror = ("--repo", tmp_path / "m", "mirror", "fetch")
    result = run(*mirror)
    assert result.exit_code == 0 and "up to date" in result.output
    first = commit_records(origin, [record("a")])
    second = commit_records(origin, [record("b")])
    result = run(*mirror)
    assert result.exit_code == 0, result.output
    assert "2 new commit(s)" in result.output and second[:12] in result.output
    assert head(tmp_path / "m") == second
    git_fsck(tmp_path / "m")
    with GitStore.open(tmp_path / "m") as store:
        assert store.is_ancestor(first, second)


def test_fetch_refuses_a_rewritten_history(new_data_repo: RepoFactory, tmp_path: Path) -> None:
    origin = new_data_repo("origin")
    base = origin.head()
    assert base is not None
    kept = commit_records(origin, [record("a")])
    clone_mirror(str(origin.store.path), tmp_path / "m")
    # upstream rewrites: main now points to a different child of base
    rewritten = origin.store.create_commit(
        parent=base, changes={"packages/plugins/zz/zz.json": b"{}\n"}, message="rewrite\n",
        author=AUTHOR, timestamp=2_000_000_000,
    )  # fmt: skip
    assert rewritten is not None
    origin.store.update_ref("refs/heads/main", kept, rewritten)
    result = run("--repo", tmp_path / "m", "mirror", "fetch")
    assert result.exit_code == 5, result.output
    assert "rewrote its history" in result.output and f"up to {base[:12]}" in result.output
    assert head(tmp_path / "m") == kept  # unchanged

    # upstream goes back to an ancestor: a rollback
    origin.store.update_ref("refs/heads/main", rewritten, base)
    with GitStore.open(tmp_path / "m") as store, pytest.raises(HistoryRewrittenError) as info:
        fetch_mirror(store)
    assert "refusing a rollback" in str(info.value) and info.value.base == base
    assert head(tmp_path / "m") == kept

    # unrelated history
    with GitStore.init(tmp_path / "other") as other:
        alien = other.commit(
            ref="refs/heads/main", parent=None, changes={"registry.json": canonical.dumps({})},
            message="alien\n", author=AUTHOR, timestamp=5,
        )  # fmt: skip
    assert alien is not None
    with GitStore.open(tmp_path / "m") as store, pytest.raises(HistoryRewrittenError) as info:
        fetch_mirror(store, remote=str(tmp_path / "other"))
    assert "shares no history" in str(info.value) and info.value.upstream == alien


def test_fetch_needs_a_mirror(new_data_repo: RepoFactory, tmp_path: Path) -> None:
    origin = new_data_repo("origin")
    result = run("--repo", origin.store.path, "mirror", "fetch")
    assert result.exit_code == 5 and "not a mirror (no curator.remote" in result.output
    clone_mirror(str(origin.store.path), tmp_path / "m")
    result = run("--repo", tmp_path / "m", "mirror", "fetch", "--branch", "dev")
    assert result.exit_code == 5 and "has no branch 'dev'" in result.output
    result = run("--repo", tmp_path / "m", "mirror", "fetch", "--remote", tmp_path / "gone")
    assert result.exit_code == 5 and "gone" in result.output
