"""GitStore.fetch / push against real remotes (a path, file://, git daemon, ssh, smart HTTP),
cross-checked with the git CLI; ancestry, ref-less commits and compare-and-swap refs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from curator.gitstore import (
    GitStore,
    GitStoreError,
    PushStatus,
    RefMovedError,
    RemoteError,
    UnknownRevisionError,
)
from tests.conftest import git_fsck
from tests.git_remotes import (
    bare_remote,
    fake_ssh,
    free_port,
    git,
    git_daemon,
    git_http_server,
)

AUTHOR = "Tester <tester@example.org>"
MAIN = "refs/heads/main"

Remote = Callable[[str], str]  # repository name under the served directory -> its location


@pytest.fixture(params=["path", "file", "git-daemon", "ssh", "http"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Remote]]:
    """A directory of bare repositories and how to address one through each transport."""
    base = tmp_path / "served"
    base.mkdir()
    kind = request.param
    if kind == "path":
        yield base, lambda name: str(base / name)
    elif kind == "file":
        yield base, lambda name: (base / name).as_uri()
    elif kind == "git-daemon":
        with git_daemon(base) as url:
            yield base, lambda name: f"{url}/{name}"
    elif kind == "ssh":
        command, log = fake_ssh(tmp_path)
        monkeypatch.setenv("GIT_SSH_COMMAND", command)
        yield base, lambda name: f"ssh://curator-test-host{base / name}"
        assert "git-receive-pack" in log.read_text()  # the push really went through "ssh"
    else:
        with git_http_server(base) as url:
            yield base, lambda name: f"{url}/{name}"


def commit(store: GitStore, parent: str | None, files: dict[str, bytes], ts: int) -> str:
    sha = store.commit(
        ref=MAIN, parent=parent, changes=files, message=f"c{ts}\n", author=AUTHOR, timestamp=ts
    )
    assert sha is not None
    return sha


def remote_head(path: Path) -> str | None:
    out = git("--git-dir", path, "for-each-ref", "--format=%(objectname)", MAIN).strip()
    return out or None


def test_push_and_fetch_through_every_transport(
    served: tuple[Path, Remote], tmp_path: Path
) -> None:
    base, remote = served
    bare = bare_remote(base / "data.git")
    url = remote("data.git")
    with GitStore.init(tmp_path / "a") as a, GitStore.init(tmp_path / "b") as b:
        c1 = commit(a, None, {"packages/a.json": b"{}\n", "state/sync.json": b"1\n"}, 10)
        assert a.fetch(url, "main") is None  # an empty remote has no branch yet
        first = a.push(url, "main", c1, None)
        assert (first.status, first.remote_old) == (PushStatus.PUSHED, None)
        assert remote_head(bare) == c1
        c2 = commit(a, c1, {"packages/b.json": b"[]\n"}, 20)
        assert a.push(url, "main", c2, c1).status is PushStatus.PUSHED
        assert a.push(url, "main", c2, c1).status is PushStatus.UP_TO_DATE
        assert git("--git-dir", bare, "log", "--format=%H %s", "main").splitlines() == [
            f"{c2} c20",
            f"{c1} c10",
        ]
        # several commits at once: deletions, new nested directories, a file back to old bytes
        c3 = commit(a, c2, {"packages/a.json": None, "deep/x/y/z.json": b"z\n"}, 30)
        c4 = commit(a, c3, {"deep/x/y/w.json": b"w\n", "packages/b.json": b"{}\n"}, 40)
        assert a.push(url, "main", c4, c2).status is PushStatus.PUSHED
        assert git("--git-dir", bare, "rev-parse", "main^{tree}").strip() == a.snapshot(c4).tree
        assert git("--git-dir", bare, "ls-tree", "-r", "--name-only", "main").split() == [
            "deep/x/y/w.json",
            "deep/x/y/z.json",
            "packages/b.json",
            "state/sync.json",
        ]
        git_fsck(bare)
        # another store fetches the branch: objects arrive, no ref moves
        assert b.fetch(url, "main") == c4
        assert b.resolve("HEAD") is None
        assert b.snapshot(c2).read("packages/b.json") == b"[]\n"
        assert b.snapshot(c4).read("deep/x/y/z.json") == b"z\n"
        assert b.snapshot(c4).read("state/sync.json") == b"1\n"
        assert b.fetch(url, "main") == c4  # nothing new: no transfer needed
        assert b.fetch(url, "other") is None


def test_a_stale_expectation_sends_nothing(served: tuple[Path, Remote], tmp_path: Path) -> None:
    base, remote = served
    bare = bare_remote(base / "data.git")
    url = remote("data.git")
    with GitStore.init(tmp_path / "a") as a:
        c1 = commit(a, None, {"a": b"1"}, 10)
        c2 = commit(a, c1, {"a": b"2"}, 20)
        assert a.push(url, "main", c1, None).ok
        # expected_old None, but the branch exists
        stale = a.push(url, "main", c2, None)
        assert (stale.status, stale.remote_old) == (PushStatus.STALE, c1)
        assert remote_head(bare) == c1
        # the remote moved on from what we expected
        assert a.push(url, "main", c2, c1).ok
        c3 = commit(a, c2, {"a": b"3"}, 30)
        late = a.push(url, "main", c3, c1)
        assert (late.status, late.remote_old) == (PushStatus.STALE, c2)
        assert remote_head(bare) == c2
        git_fsck(bare)


def test_a_non_fast_forward_is_never_forced(tmp_path: Path) -> None:
    bare = bare_remote(tmp_path / "remote.git")
    with GitStore.init(tmp_path / "a") as a:
        c1 = commit(a, None, {"a": b"1"}, 10)
        c2 = commit(a, c1, {"a": b"2"}, 20)
        assert a.push(str(bare), "main", c2, None).ok
        sibling = a.create_commit(
            parent=c1, changes={"a": b"other"}, message="s\n", author=AUTHOR, timestamp=30
        )
        assert sibling is not None
        # expected_old is the remote's true value, but the new commit does not descend from it
        refused = a.push(str(bare), "main", sibling, c2)
        assert refused.status is PushStatus.NON_FAST_FORWARD
        assert "refusing to rewrite" in refused.message
        assert not refused.ok
        # an expected value this store has never seen cannot be an ancestor either
        unknown = a.push(str(bare), "main", c2, "0" * 40)
        assert unknown.status is PushStatus.NON_FAST_FORWARD
        assert remote_head(bare) == c2
        # and git agrees the remote history is intact
        assert git("--git-dir", bare, "rev-list", "main").split() == [c2, c1]


def test_a_hook_refusal_is_reported(tmp_path: Path) -> None:
    bare = bare_remote(tmp_path / "remote.git")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)
    with GitStore.init(tmp_path / "a") as a, git_daemon(tmp_path) as url:
        c1 = commit(a, None, {"a": b"1"}, 10)
        result = a.push(f"{url}/remote.git", "main", c1, None)
        assert result.status is PushStatus.REJECTED
        assert result.message
        assert remote_head(bare) is None


@pytest.mark.parametrize(
    "location, why",
    [
        ("git://127.0.0.1:{closed}/data.git", "cannot reach it"),
        ("http://127.0.0.1:{closed}/data.git", "cannot reach it"),
        ("{tmp}/missing.git", "not a git repository"),
        ("{tmp}/not-a-repo", "not a git repository"),
    ],
)
def test_unreachable_remotes_raise_a_clear_error(tmp_path: Path, location: str, why: str) -> None:
    (tmp_path / "not-a-repo").mkdir()
    url = location.format(closed=free_port(), tmp=tmp_path)
    with GitStore.init(tmp_path / "a") as a:
        c1 = commit(a, None, {"a": b"1"}, 10)
        with pytest.raises(RemoteError, match=why) as fetch_error:
            a.fetch(url, "main")
        assert url in str(fetch_error.value)
        with pytest.raises(RemoteError, match=why):
            a.push(url, "main", c1, None)


def test_a_daemon_that_does_not_export_the_repository(tmp_path: Path) -> None:
    with GitStore.init(tmp_path / "a") as a, git_daemon(tmp_path) as url:
        with pytest.raises(RemoteError, match="remote git://") as error:
            a.fetch(f"{url}/nothing-here.git", "main")
        assert "nothing-here.git" in str(error.value)


def test_bad_arguments(tmp_path: Path) -> None:
    bare = bare_remote(tmp_path / "remote.git")
    with GitStore.init(tmp_path / "a") as a:
        c1 = commit(a, None, {"a": b"1"}, 10)
        with pytest.raises(GitStoreError, match="invalid branch"):
            a.push(str(bare), "bad..name", c1, None)
        with pytest.raises(GitStoreError, match="invalid branch"):
            a.fetch(str(bare), "a b")
        with pytest.raises(UnknownRevisionError):
            a.push(str(bare), "main", "f" * 40, None)
        with pytest.raises(RemoteError, match="empty remote"):
            a.fetch(" ", "main")
        assert remote_head(bare) is None


def test_create_commit_moves_no_ref_and_update_ref_is_compare_and_swap(tmp_path: Path) -> None:
    with GitStore.init(tmp_path / "a") as a:
        c1 = commit(a, None, {"d/a": b"1"}, 10)
        c2 = a.create_commit(
            parent=c1, changes={"d/b": b"2"}, message="m\n", author=AUTHOR, timestamp=20
        )
        assert c2 is not None
        assert a.resolve(MAIN) == c1
        assert (
            a.create_commit(
                parent=c1, changes={"d/a": b"1"}, message="m\n", author=AUTHOR, timestamp=20
            )
            is None
        )  # no change, no commit
        with pytest.raises(UnknownRevisionError):
            a.create_commit(parent="e" * 40, changes={}, message="m", author=AUTHOR, timestamp=1)
        with pytest.raises(RefMovedError):
            a.update_ref(MAIN, c2, c1)
        a.update_ref(MAIN, c1, c2)
        assert a.resolve(MAIN) == c2
        with pytest.raises(UnknownRevisionError):
            a.update_ref(MAIN, c2, "d" * 40)
        with pytest.raises(GitStoreError, match="invalid ref"):
            a.update_ref("main", c2, c1)
        a.update_ref("refs/heads/side", None, c1)
        assert git("--git-dir", a.git_dir, "rev-parse", "side").strip() == c1
        git_fsck(a.path)


def test_merge_base_and_is_ancestor(tmp_path: Path) -> None:
    with GitStore.init(tmp_path / "a") as a, GitStore.init(tmp_path / "other") as other:
        c1 = commit(a, None, {"a": b"1"}, 10)
        c2 = commit(a, c1, {"a": b"2"}, 20)
        c3 = commit(a, c2, {"a": b"3"}, 30)
        side = a.create_commit(
            parent=c2, changes={"b": b"x"}, message="s\n", author=AUTHOR, timestamp=25
        )
        assert side is not None
        assert a.merge_base(c3, side) == c2
        assert a.merge_base(c1, c3) == c1
        assert a.is_ancestor(c1, c3) and a.is_ancestor(c3, c3)
        assert not a.is_ancestor(c3, c1) and not a.is_ancestor(side, c3)
        assert git("--git-dir", a.git_dir, "merge-base", c3, side).strip() == c2
        unrelated = commit(other, None, {"z": b"z"}, 5)
        other.push(str(a.path), "other", unrelated, None)
        assert a.merge_base(c3, unrelated) is None
        assert not a.is_ancestor(unrelated, c3)
