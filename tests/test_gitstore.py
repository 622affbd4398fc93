"""curator.gitstore against real repositories, cross-checked with the git CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from curator import _gitpack
from curator.gitstore import (
    GitStore,
    GitStoreError,
    InvalidPathError,
    NotARepositoryError,
    RefLockedError,
    RefMovedError,
    UnknownRevisionError,
    blob_id,
    parse_trailers,
)
from curator.runlog import format_message

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")

REF = "refs/heads/main"
AUTHOR = "Curator Bot <bot@example.org>"
ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.org",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.org",
}


def git(repo: GitStore | Path, *args: str, input: bytes | None = None) -> str:
    git_dir = repo.git_dir if isinstance(repo, GitStore) else repo
    result = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        input=input,
        capture_output=True,
        env=GIT_ENV,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def fsck(store: GitStore) -> None:
    git(store, "fsck", "--strict", "--no-dangling")


def commit(
    store: GitStore,
    changes: Mapping[str, bytes | None],
    *,
    parent: str | None = None,
    message: str = "sync",
    timestamp: int = 1_700_000_000,
    ref: str = REF,
) -> str | None:
    return store.commit(
        ref=ref,
        parent=parent,
        changes=changes,
        message=message,
        author=AUTHOR,
        timestamp=timestamp,
    )


def pack_files(store: GitStore) -> list[str]:
    return sorted(p.name for p in (store.git_dir / "objects" / "pack").iterdir())


def loose_objects(store: GitStore) -> list[Path]:
    objects = store.git_dir / "objects"
    return [p for p in objects.iterdir() if len(p.name) == 2 and p.is_dir() and any(p.iterdir())]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GitStore]:
    with GitStore.init(tmp_path / "data.git") as s:
        yield s


# -- ids, init, open, discover -----------------------------------------------------------


def test_blob_id_matches_git_hash_object(tmp_path: Path) -> None:
    for data in (b"", b"hello\n", "é\n".encode(), bytes(range(256)) * 20):
        out = subprocess.run(
            ["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True
        )
        assert blob_id(data) == out.stdout.decode().strip()


@pytest.mark.parametrize("bare", [True, False])
def test_init_open_discover(tmp_path: Path, bare: bool) -> None:
    path = tmp_path / "repo"
    with GitStore.init(path, bare=bare, branch="trunk") as created:
        assert created.bare is bare
        assert created.head_ref() == "refs/heads/trunk"
        assert created.resolve() is None
        assert created.resolve("trunk") is None
        git_dir = created.git_dir
    assert git_dir == (path if bare else path / ".git")
    assert git(git_dir, "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    assert git(git_dir, "rev-parse", "--is-bare-repository").strip() == str(bare).lower()

    with GitStore.open(path) as opened:
        assert opened.path == path
        assert opened.head_ref() == "refs/heads/trunk"

    nested = (path / "a" / "b") if not bare else (path / "refs" / "heads")
    nested.mkdir(parents=True, exist_ok=True)
    with GitStore.discover(nested) as found:
        assert found.git_dir.resolve() == git_dir.resolve()

    with pytest.raises(GitStoreError, match="already holds a git repository"):
        GitStore.init(path, bare=bare)


def test_open_and_discover_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(NotARepositoryError, match="is not a git repository") as info:
        GitStore.open(tmp_path)
    assert info.value.path == tmp_path
    with pytest.raises(NotARepositoryError):
        GitStore.discover(tmp_path / "nowhere")
    assert issubclass(NotARepositoryError, GitStoreError)


def test_git_cli_repository_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "w"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=GIT_ENV)
    (path / "f.txt").write_text("from git\n")
    subprocess.run(["git", "-C", str(path), "add", "."], check=True, env=GIT_ENV)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "c"], check=True, env=GIT_ENV)
    with GitStore.open(path) as s:
        head = s.resolve()
        assert head is not None
        assert s.snapshot(head).read("f.txt") == b"from git\n"
        new = commit(s, {"g.txt": b"from curator\n"}, parent=head)
        assert new is not None
    out = subprocess.run(["git", "-C", str(path), "log", "--format=%H"], capture_output=True)
    assert out.stdout.decode().split() == [new, head]


# -- commit and read back ----------------------------------------------------------------


FILES = {
    "registry-data/registry.json": b'{\n  "schema": 1\n}\n',
    "registry-data/packages/plugins/ak/akismet.json": b'{\n  "slug": "akismet"\n}\n',
    "registry-data/packages/plugins/ak/akismet-extra.json": b"{}\n",
    "registry-data/packages/themes/tw/twentytwenty.json": '{"name": "é"}\n'.encode(),
    "registry-data/state/sync.json": b"{}\n",
}


def test_commit_and_read_back(store: GitStore) -> None:
    sha = commit(store, dict(FILES))
    assert sha is not None
    assert store.resolve() == sha == store.resolve(REF) == store.resolve("main")
    snap = store.snapshot(sha)
    assert snap.commit == sha
    assert snap.tree == git(store, "rev-parse", f"{sha}^{{tree}}").strip()
    for path, data in FILES.items():
        assert snap.read(path) == data
        assert snap.blob_id(path) == blob_id(data)
        assert git(store, "cat-file", "-p", f"{sha}:{path}").encode() == data
    assert snap.read("registry-data/packages") is None  # a directory
    assert snap.read("registry-data/missing.json") is None
    assert snap.blob_id("registry-data/registry.json/x") is None
    assert snap.list_dir("") == {"registry-data": (0o40000, snap.list_dir("")["registry-data"][1])}
    shard = snap.list_dir("registry-data/packages/plugins/ak")
    assert sorted(shard) == ["akismet-extra.json", "akismet.json"]
    assert shard["akismet.json"] == (
        0o100644,
        blob_id(FILES["registry-data/packages/plugins/ak/akismet.json"]),
    )
    assert snap.list_dir("registry-data/nope") == {}
    assert snap.list_dir("registry-data/registry.json") == {}
    walked = list(snap.walk("registry-data/packages"))
    assert walked == sorted((p, blob_id(d)) for p, d in FILES.items() if "/packages/" in p)
    assert [p for p, _ in snap.walk("")] == sorted(FILES)
    assert list(snap.walk("registry-data/packages/")) == walked
    assert list(snap.walk("nope")) == []
    ls = git(store, "ls-tree", "-r", "--format=%(path) %(objectname)", sha).split("\n")
    assert [tuple(line.split(" ")) for line in ls if line] == list(snap.walk(""))
    assert git(store, "log", "--format=%H").split() == [sha]
    assert git(store, "log", "--format=%an <%ae>|%cn <%ce>|%at|%ct").strip() == (
        f"{AUTHOR}|{AUTHOR}|1700000000|1700000000"
    )
    fsck(store)


def test_second_commit_changes_only_what_it_names(store: GitStore) -> None:
    first = commit(store, dict(FILES))
    change = {"registry-data/state/sync.json": b'{"rev": 2}\n'}
    second = commit(store, change, parent=first, timestamp=1_700_000_100)
    assert first is not None and second is not None and second != first
    snap = store.snapshot(second)
    assert snap.read("registry-data/state/sync.json") == b'{"rev": 2}\n'
    assert snap.read("registry-data/registry.json") == FILES["registry-data/registry.json"]
    old = store.snapshot(first)
    assert old.list_dir("registry-data")["packages"] == snap.list_dir("registry-data")["packages"]
    assert git(store, "log", "--format=%H %P").split() == [second, first, first]
    fsck(store)


def test_noop_commit_returns_none_and_writes_nothing(store: GitStore) -> None:
    first = commit(store, dict(FILES))
    before = pack_files(store)
    assert commit(store, dict(FILES), parent=first) is None
    assert commit(store, {}, parent=first) is None
    assert commit(store, {"never/existed.json": None}, parent=first) is None
    assert pack_files(store) == before
    assert store.resolve() == first
    with GitStore.init(store.path.parent / "empty.git") as empty:
        assert commit(empty, {}) is None
        assert commit(empty, {"a": None}) is None
        assert empty.resolve() is None
        assert pack_files(empty) == []


def test_deletions_remove_empty_directories(store: GitStore) -> None:
    first = commit(store, dict(FILES))
    second = commit(
        store,
        {
            "registry-data/packages/themes/tw/twentytwenty.json": None,
            "registry-data/packages/plugins/ak/akismet.json": None,
        },
        parent=first,
    )
    assert second is not None
    snap = store.snapshot(second)
    assert snap.list_dir("registry-data/packages") == {
        "plugins": snap.list_dir("registry-data/packages")["plugins"]
    }
    assert list(snap.list_dir("registry-data/packages/plugins/ak")) == ["akismet-extra.json"]
    assert git(store, "ls-tree", "--name-only", f"{second}:registry-data/packages").split() == [
        "plugins"
    ]
    third = commit(store, {p: None for p in FILES}, parent=second)
    assert third is not None
    assert store.snapshot(third).tree == _gitpack.EMPTY_TREE
    assert store.snapshot(third).list_dir("") == {}
    fsck(store)


def test_file_directory_conflicts_are_rejected(store: GitStore) -> None:
    first = commit(store, {"a/b.json": b"1"})
    with pytest.raises(InvalidPathError, match="is a file"):
        commit(store, {"a/b.json/c": b"2"}, parent=first)
    with pytest.raises(InvalidPathError, match="is a directory"):
        commit(store, {"a": b"2"}, parent=first)
    with pytest.raises(InvalidPathError, match="is a directory"):
        commit(store, {"a": None}, parent=first)
    with pytest.raises(InvalidPathError, match="in this change set"):
        commit(store, {"x/y": b"1", "x/y/z": b"2"}, parent=first)
    with pytest.raises(InvalidPathError, match="in this change set"):
        commit(store, {"x/y/z": b"2", "x/y": b"1"}, parent=first)
    assert store.resolve() == first


@pytest.mark.parametrize(
    "path", ["", "/a", "a//b", "a/", "../a", "a/../b", "a/./b", ".", "a\0b", ".git/x", "a/.GIT"]
)
def test_bad_paths_are_rejected(store: GitStore, path: str) -> None:
    with pytest.raises(InvalidPathError) as info:
        commit(store, {path: b"x"})
    assert isinstance(info.value, GitStoreError)
    assert store.resolve() is None
    assert pack_files(store) == []


def test_bad_commit_arguments(store: GitStore) -> None:
    with pytest.raises(GitStoreError, match="invalid ref"):
        commit(store, {"a": b"1"}, ref="main")
    with pytest.raises(GitStoreError, match="invalid ref"):
        commit(store, {"a": b"1"}, ref="refs/heads/a..b")
    with pytest.raises(GitStoreError, match="invalid author"):
        store.commit(
            ref=REF, parent=None, changes={"a": b"1"}, message="m", author="x", timestamp=1
        )
    with pytest.raises(TypeError):
        commit(store, {"a": "text"})  # type: ignore[dict-item]


# -- one pack per commit, determinism ----------------------------------------------------


def test_each_commit_is_one_pack_and_no_loose_objects(store: GitStore) -> None:
    parent = None
    for i in range(3):
        changes = {f"d/{i % 2}/f{j}.json": f"{i}-{j}\n".encode() for j in range(20)}
        parent = commit(store, changes, parent=parent, timestamp=1_700_000_000 + i)
        names = pack_files(store)
        assert len([n for n in names if n.endswith(".pack")]) == i + 1
        assert len([n for n in names if n.endswith(".idx")]) == i + 1
        assert all(n.startswith("pack-") for n in names)
    assert loose_objects(store) == []
    assert not [p for p in (store.git_dir / "objects").iterdir() if p.name.startswith("tmp")]
    assert git(store, "count-objects", "-v").splitlines()[0] == "count: 0"
    for idx in (store.git_dir / "objects" / "pack").glob("*.idx"):
        git(store, "verify-pack", str(idx))
    fsck(store)


def test_pack_entries_of_every_size_read_back_in_git(store: GitStore) -> None:
    """The pack writer's size varint and per-type compression (stored trees) as git reads them."""
    sizes = [0, 1, 15, 16, 127, 128, 2047, 2048, 262_143, 262_144, 3_000_000]
    files = {f"s/{n:08d}.bin": bytes((i * 7 + n) % 251 for i in range(n)) for n in sizes}
    big_tree = {f"t/{i:05d}.json": b"%d\n" % i for i in range(3000)}  # a ~100 KB tree
    sha = commit(store, {**files, **big_tree})
    for idx in (store.git_dir / "objects" / "pack").glob("*.idx"):
        git(store, "verify-pack", "-v", str(idx))
    for path, data in files.items():
        blob = git(store, "rev-parse", f"{sha}:{path}").strip()
        assert int(git(store, "cat-file", "-s", blob)) == len(data)
        assert store.snapshot(sha).read(path) == data
    assert len(git(store, "ls-tree", f"{sha}:t").splitlines()) == 3000
    fsck(store)


def test_commit_sha_is_deterministic(tmp_path: Path) -> None:
    shas = []
    for name in ("one.git", "two.git"):
        with GitStore.init(tmp_path / name) as s:
            first = commit(s, dict(FILES), message="first\n\nCurator-Run-Id: x\n")
            second = commit(s, {"registry-data/x.json": b"1"}, parent=first, timestamp=5)
            shas.append((first, second))
    assert shas[0] == shas[1]
    with GitStore.init(tmp_path / "three.git") as s:
        other = commit(s, dict(FILES), message="first\n\nCurator-Run-Id: x\n", timestamp=1)
        assert other != shas[0][0]
    with GitStore.init(tmp_path / "four.git") as s:
        sha = s.commit(
            ref=REF,
            parent=None,
            changes={"a": b"1"},
            message="m",
            author=AUTHOR,
            timestamp=1_700_000_000,
            tz_offset=-(5 * 3600 + 30 * 60),
        )
        assert git(s, "log", "--format=%ad", "--date=raw").strip() == "1700000000 -0530"
        info = next(s.log())
        assert (info.sha, info.tz_offset, info.timestamp) == (sha, -19800, 1_700_000_000)


# -- compare-and-swap, crashes -----------------------------------------------------------


def test_two_writers_from_same_parent(store: GitStore) -> None:
    base = commit(store, dict(FILES))
    with GitStore.open(store.path) as other:
        mine = commit(store, {"registry-data/a.json": b"mine"}, parent=base, timestamp=10)
        with pytest.raises(RefMovedError) as info:
            commit(other, {"registry-data/a.json": b"theirs"}, parent=base, timestamp=11)
    err = info.value
    assert (err.ref, err.expected, err.actual) == (REF, base, mine)
    assert str(err) == (
        f"ref {REF} moved from {base} to {mine} while this run was in progress; "
        "nothing was committed"
    )
    assert store.resolve() == mine
    assert git(store, "rev-parse", REF).strip() == mine
    with pytest.raises(RefMovedError, match=r"moved from \(none\)"):
        commit(store, {"b": b"1"}, parent=None)
    fsck(store)


def test_ref_update_failure_after_pack_is_written(store: GitStore) -> None:
    """A held ref lock (another writer, or a crash) makes the update fail after the pack."""
    base = commit(store, dict(FILES))
    lock = store.git_dir / "refs" / "heads" / "main.lock"
    lock.write_text("held by someone else\n")
    packs = pack_files(store)
    with pytest.raises(RefLockedError, match="locked by another writer"):
        commit(store, {"registry-data/new.json": b"1"}, parent=base)
    assert len(pack_files(store)) == len(packs) + 2  # the pack landed, unreferenced
    assert store.resolve() == base
    lock.unlink()
    assert git(store, "rev-parse", REF).strip() == base
    fsck(store)
    again = commit(store, {"registry-data/new.json": b"1"}, parent=base)
    assert again is not None and store.resolve() == again
    fsck(store)


_WRITER = """
import sys
from pathlib import Path
from curator.gitstore import GitStore

store = GitStore.open(Path(sys.argv[1]))
i = int(sys.argv[2])
while True:
    parent = store.resolve("refs/heads/main")
    changes = {f"d/{j % 40}/{i}-{j}.json": b"x" * 2000 + b"%d %d" % (i, j) for j in range(400)}
    store.commit(ref="refs/heads/main", parent=parent, changes=changes, message=f"run {i}",
                 author="Bot <bot@x>", timestamp=1_700_000_000 + i)
    print(i, flush=True)
    i += 1
"""


def test_killed_writer_leaves_a_consistent_repository(store: GitStore) -> None:
    commit(store, {"seed": b"0"})
    for start, delay in enumerate((0.0, 0.01, 0.03, 0.05, 0.08, 0.13)):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(store.git_dir), str(start * 1000)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one commit went through
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        fsck(store)
        with GitStore.open(store.git_dir) as fresh:
            head = fresh.resolve()
            assert head is not None
            assert [c.sha for c in fresh.log()] == git(store, "log", "--format=%H").split()
            assert fresh.snapshot(head).read("seed") == b"0"
        pack_dir = store.git_dir / "objects" / "pack"
        for idx in pack_dir.glob("*.idx"):
            assert idx.with_suffix(".pack").exists()
        assert all(p.name.startswith("pack-") for p in pack_dir.iterdir())
    removed = _gitpack.remove_stale_temporaries(store.git_dir / "objects", older_than=-1)
    assert all(p.name.startswith(("tmp_", "pack-")) for p in removed)
    assert not [p for p in (store.git_dir / "objects").iterdir() if p.name.startswith("tmp_")]
    fsck(store)


# -- revisions, log, diffs ---------------------------------------------------------------


def test_resolve(store: GitStore) -> None:
    first = commit(store, {"a": b"1"})
    second = commit(store, {"a": b"2"}, parent=first)
    assert first is not None and second is not None
    git(store, "tag", "-a", "-m", "tagged", "v1", first)
    git(store, "tag", "light", first)
    assert store.resolve() == store.resolve("HEAD") == store.resolve("main") == second
    assert store.resolve("v1") == store.resolve("refs/tags/v1") == first
    assert store.resolve("light") == first
    assert store.resolve(second) == second
    assert store.resolve(first[:7]) == first
    if not second.startswith(first[:4]):
        assert store.resolve(first[:4].upper()) == first
    assert store.resolve("refs/heads/not-yet") is None  # an unborn branch
    for bad in ("nope", "refs/tags/nope", "0" * 40, "deadbeef", "a..b", "refs/heads/a..b", ""):
        with pytest.raises(UnknownRevisionError):
            store.resolve(bad)
    tree = store.snapshot(second).tree
    with pytest.raises(UnknownRevisionError, match="is a tree, not a commit"):
        store.resolve(tree)
    for not_a_commit in (tree, "HEAD", first[:8], "0" * 40):
        with pytest.raises(UnknownRevisionError):
            store.snapshot(not_a_commit)
    with pytest.raises(UnknownRevisionError):
        store.changed_paths(first, tree)


def test_log_with_trailers(store: GitStore) -> None:
    message = format_message(
        counts={},
        sources=["plugins: SVN r5"],
        failures=[("plugin/x", "HTTP 503")],
        run_id="run-1",
        version="0.1.0",
        types=["plugin"],
    )
    first = commit(store, {"a": b"1"}, message="init")
    second = commit(store, {"a": b"2"}, parent=first, message=message, timestamp=1_700_000_500)
    entries = list(store.log())
    assert [e.sha for e in entries] == [second, first]
    assert git(store, "log", "--format=%H").split() == [second, first]
    top = entries[0]
    assert top.parents == (first,)
    assert top.tree == store.snapshot(top.sha).tree
    assert top.author == AUTHOR
    assert top.timestamp == 1_700_000_500 and top.tz_offset == 0
    assert top.message == message
    assert top.subject == message.splitlines()[0]
    assert top.trailers["Curator-Run-Id"] == "run-1"
    assert top.trailers["Curator-Version"] == "0.1.0"
    assert "plugin/x" not in top.trailers
    git_trailers = git(store, "log", "-1", "--format=%(trailers:only,unfold)").strip()
    assert dict(line.split(": ", 1) for line in git_trailers.splitlines()) == top.trailers
    assert entries[1].message == "init\n" and entries[1].trailers == {}
    assert [e.sha for e in store.log(max_count=1)] == [second]
    assert [e.sha for e in store.log(first)] == [first]
    with pytest.raises(UnknownRevisionError):
        store.log("no-such-branch")
    with GitStore.init(store.path.parent / "unborn.git") as empty:
        assert list(empty.log()) == []


def test_parse_trailers() -> None:
    assert parse_trailers("Key: value\n") == {}  # the subject is never a trailer block
    assert parse_trailers("s\n\nbody\n\nA: 1\nB-C: two words\n") == {"A": "1", "B-C": "two words"}
    assert parse_trailers("s\n\nA: 1\nnot a trailer\n") == {}
    assert parse_trailers("s\n\nA: 1\n  continued\nA: 3\n") == {"A": "3"}
    assert parse_trailers("s\n\nA: long\n  value\n") == {"A": "long value"}


def test_changed_paths(store: GitStore) -> None:
    first = commit(store, dict(FILES))
    assert first is not None
    second = commit(
        store,
        {
            "registry-data/packages/plugins/ak/akismet.json": b"changed\n",
            "registry-data/packages/plugins/ak/akismet-extra.json": None,
            "registry-data/packages/plugins/ne/new.json": b"new\n",
            "registry-data/state/sync.json": b"[]\n",
            "elsewhere.txt": b"x",
        },
        parent=first,
    )
    assert second is not None
    assert store.changed_paths(first, second, "registry-data/packages") == [
        ("registry-data/packages/plugins/ak/akismet-extra.json", "D"),
        ("registry-data/packages/plugins/ak/akismet.json", "M"),
        ("registry-data/packages/plugins/ne/new.json", "A"),
    ]
    everything = store.changed_paths(first, second)
    cli = git(store, "diff", "--name-status", "--no-renames", first, second).splitlines()
    assert everything == sorted((p, s) for s, p in (line.split("\t") for line in cli))
    assert store.changed_paths(second, second) == []
    assert store.changed_paths(None, first, "registry-data/state/") == [
        ("registry-data/state/sync.json", "A")
    ]
    assert store.changed_paths(first, second, "nothing/here") == []
    third = commit(store, {"elsewhere.txt": None}, parent=second)
    fourth = commit(store, {"elsewhere.txt/inner": b"y"}, parent=third)  # file -> directory
    assert fourth is not None
    assert store.changed_paths(second, fourth) == [
        ("elsewhere.txt", "D"),
        ("elsewhere.txt/inner", "A"),
    ]
    assert store.changed_paths(fourth, second) == [
        ("elsewhere.txt", "A"),
        ("elsewhere.txt/inner", "D"),
    ]


def test_patched_trees_equal_trees_written_from_scratch(tmp_path: Path) -> None:
    """Updating existing files patches blob ids inside the raw tree (any tree size); the
    result must be the tree git itself would write for the same files, including names that
    are prefixes or suffixes of each other, a directory named like a file's needle, and the
    first entry of a tree."""
    base = {
        "s/a.json": b"1",
        "s/ba.json": b"2",
        "s/a.jsonx": b"3",
        "s/a.json.d/a.json": b"4",
        "s/b/x": b"5",
        "t/only.json": b"6",
    }
    updates: list[dict[str, bytes | None]] = [
        {"s/a.json": b"1b"},  # first entry; "ba.json" also contains the name
        {"s/ba.json": b"2b", "s/a.jsonx": b"3b"},
        {"s/a.json.d/a.json": b"4b", "t/only.json": b"6b"},
        {"s/a.json": b"1b"},  # same content again: no commit
        {"s/a.json": b"1c", "s/new.json": b"7"},  # a new name takes the general path
    ]
    with GitStore.init(tmp_path / "patched.git") as s:
        head = commit(s, base)
        files = dict(base)
        for i, change in enumerate(updates, start=1):
            new = commit(s, change, parent=head, timestamp=1_700_000_000 + i)
            files.update(change)  # type: ignore[arg-type]
            if new is None:
                assert all(files[p] == c for p, c in change.items())
                continue
            head = new
            with GitStore.init(tmp_path / f"scratch{i}.git") as fresh:
                scratch = commit(fresh, files)
                assert scratch is not None
                assert s.snapshot(head).tree == fresh.snapshot(scratch).tree
        assert head is not None
        listed = git(s, "ls-tree", "-r", head).splitlines()
        assert sorted(line.split("\t")[1] for line in listed) == sorted(files)
        fsck(s)


def test_commit_reads_only_trees_on_changed_paths(tmp_path: Path) -> None:
    """Cost follows the change: a small commit never reads the untouched shards."""
    path = tmp_path / "big.git"
    with GitStore.init(path) as s:
        files = {f"p/{i % 97:02d}/{i}.json": b"%d\n" % i for i in range(3000)}
        base = commit(s, files)
    with GitStore.open(path) as s:
        read: list[str] = []
        real_read = s._read_object

        def counting_read(sha: str, expected: int) -> bytes:
            read.append(sha)
            return real_read(sha, expected)

        s._read_object = counting_read  # type: ignore[method-assign]
        commit(s, {"p/05/new.json": b"n", "p/07/104.json": None}, parent=base)
        assert len(set(read)) == 1 + 4  # the parent commit; trees root, p, p/05, p/07
        head = s.resolve()
        assert head is not None
        s._trees.clear()
        assert s.changed_paths(base, head) == [("p/05/new.json", "A"), ("p/07/104.json", "D")]
        assert len(s._trees) == 2 * 4  # old and new: root, p, p/05, p/07 (not the 95 others)
        read.clear()
        commit(s, {"p/06/6.json": b"changed"}, parent=head)
        assert len(set(read)) == 1 + 3  # patched in place: root, p, p/06


# -- config and maintenance --------------------------------------------------------------


def test_config(store: GitStore) -> None:
    assert store.get_config("curator", "prefix") is None
    store.set_config("curator", "prefix", "registry-data/")
    assert store.get_config("curator", "prefix") == "registry-data/"
    assert git(store, "config", "curator.prefix").strip() == "registry-data/"
    git(store, "config", "curator.other", "from git")
    assert store.get_config("curator", "other") == "from git"
    store.set_config("curator", "prefix", "")
    assert store.get_config("curator", "prefix") == ""
    with GitStore.open(store.path) as again:
        assert again.get_config("curator", "other") == "from git"


@pytest.mark.parametrize(("use_git", "full"), [(True, False), (True, True), (False, True)])
def test_repack_consolidates_packs(store: GitStore, use_git: bool, full: bool) -> None:
    parent = commit(store, {f"big/{i}.json": b"%d" % i for i in range(200)})
    for i in range(6):
        changes = {f"d/{i}.json": b"%d" % i, "x": b"%d" % i}
        parent = commit(store, changes, parent=parent, timestamp=i + 1)
    assert store.pack_count() == 7
    left = store.repack(full=full, use_git=use_git)
    assert left == (1 if full else 2)  # geometric: the big first pack is left alone
    assert left == store.pack_count()
    assert parent is not None and store.resolve() == parent
    snap = store.snapshot(parent)
    assert [p for p, _ in snap.walk("d")] == [f"d/{i}.json" for i in range(6)]
    assert snap.read("x") == b"5" and snap.read("big/7.json") == b"7"
    after = commit(store, {"y": b"1"}, parent=parent)
    assert after is not None and store.snapshot(after).read("d/0.json") == b"0"
    assert loose_objects(store) == []
    fsck(store)


def test_reader_survives_a_concurrent_repack(store: GitStore) -> None:
    parent = None
    for i in range(4):
        parent = commit(store, {f"f{i}": b"%d" % i}, parent=parent, timestamp=i + 1)
    assert parent is not None
    snap = store.snapshot(parent)
    assert [snap.read(f"f{i}") for i in range(4)] == [b"0", b"1", b"2", b"3"]
    with GitStore.open(store.path) as maintainer:
        assert maintainer.repack() == 1  # removes the packs the first store has open
    store._trees.clear()
    assert [snap.read(f"f{i}") for i in range(4)] == [b"0", b"1", b"2", b"3"]
    after = commit(store, {"g": b"g"}, parent=parent)
    assert after is not None and store.snapshot(after).read("f0") == b"0"
    fsck(store)


@pytest.mark.parametrize("small_pack", [_gitpack.SMALL_PACK, 3])
def test_lookup_across_many_packs(
    store: GitStore, small_pack: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects are found whichever pack holds them: small packs by dict, large ones by probe."""
    monkeypatch.setattr(_gitpack, "SMALL_PACK", small_pack)
    parent = commit(store, {f"base/{i}": b"base %d" % i for i in range(10)})
    for i in range(25):
        parent = commit(store, {f"run/{i % 5}/{i}": b"run %d" % i}, parent=parent, timestamp=i)
    assert parent is not None and store.pack_count() == 26
    with GitStore.open(store.path) as fresh:
        snap = fresh.snapshot(parent)
        assert [snap.read(f"base/{i}") for i in range(10)] == [b"base %d" % i for i in range(10)]
        assert [snap.read(f"run/{i % 5}/{i}") for i in range(25)] == [
            b"run %d" % i for i in range(25)
        ]
        walked = dict(snap.walk(""))
        assert {p: fresh.snapshot(parent).blob_id(p) for p in walked} == walked
        assert [c.sha for c in fresh.log()] == git(store, "log", "--format=%H").split()
