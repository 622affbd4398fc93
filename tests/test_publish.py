"""Publishing sync runs (curator.publish, `curator push`): fast-forwards, the push race (two
curators, one remote: both runs land, in order, nothing lost), re-applying onto a moved
remote with the state merged, real conflicts, giving up, and failure paths. Remotes are real
bare repositories, reached by path or through a `git daemon`; the git CLI cross-checks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import orjson
import pytest

from curator import canonical
from curator.build.seed import record_from_line
from curator.datarepo import DataRepo
from curator.gitstore import GitStore, RemoteError
from curator.layout import STATE_FILE, PackageType, package_path
from curator.models import PackageRecord, SyncCursor, SyncState
from curator.publish import (
    PublishError,
    PushAttempt,
    PushConflictError,
    PushGaveUpError,
    PushReport,
    merge_cursor,
    merge_state,
    push_runs,
    resolve_remote,
)
from curator.records import Change, encode
from curator.runlog import format_message
from curator.sync import DEFAULT_AUTHOR
from tests.conftest import REPO_ROOT, T0, RepoFactory, curator_cli, git_fsck
from tests.git_remotes import bare_remote, free_port, git, git_daemon, strict_receiver

PREFIX = "registry-data/"
SAMPLE = REPO_ROOT / "curator" / "replay" / "sample"
TS = int(T0.timestamp())
PLUGIN, THEME = PackageType.PLUGIN, PackageType.THEME


# -- helpers ---------------------------------------------------------------------------------


def _lines(kind: PackageType) -> dict[str, dict[str, Any]]:
    path = SAMPLE / f"{kind.plural}.jsonl"
    return {row["slug"]: row for row in map(orjson.loads, path.read_bytes().splitlines())}


LINES = {kind: _lines(kind) for kind in PackageType}


def record(kind: PackageType, slug: str, revision: int | None = None) -> PackageRecord:
    found = record_from_line(kind, LINES[kind][slug], revision=revision)
    assert found is not None
    return found


def state(
    plugin: tuple[int | None, list[str]], theme: tuple[int | None, list[str]] = (None, [])
) -> SyncState:
    return SyncState(
        plugin=SyncCursor(revision=plugin[0], pending=sorted(plugin[1])),
        theme=SyncCursor(revision=theme[0], pending=sorted(theme[1])),
    )


def sync_run(
    repo: DataRepo, records: list[PackageRecord], new_state: SyncState, run_id: str, ts: int
) -> str:
    """One commit shaped as a sync run makes it: package files, the cursors, the trailers."""
    changes: dict[str, bytes | None] = {package_path(r.type, r.slug): encode(r) for r in records}
    changes[STATE_FILE] = canonical.dumps(new_state.model_dump(mode="json"))
    message = format_message(
        counts=Counter({Change.ADDED: len(records)}),
        sources=[f"test run {run_id}"],
        failures=[],
        run_id=run_id,
        version="test",
        types=["plugin", "theme"],
    )
    sha = repo.commit(
        parent=repo.head(), changes=changes, message=message, author=DEFAULT_AUTHOR, timestamp=ts
    )
    assert sha is not None
    return sha


def clone(remote: Path, target: Path) -> DataRepo:
    git("clone", "-q", "--bare", remote, target)
    return DataRepo(GitStore.open(target), PREFIX)


def show(repo: Path, rev: str, rel: str) -> bytes:
    """File content at ``rev`` as git sees it."""
    return subprocess.run(
        ["git", "--git-dir", str(repo), "cat-file", "blob", f"{rev}:{PREFIX}{rel}"],
        capture_output=True,
        check=True,
    ).stdout


def first_parent_runs(repo: Path) -> list[str]:
    """Run ids along main's first-parent history, newest first ("-" for other commits)."""
    out = git(
        "--git-dir",
        repo,
        "log",
        "--first-parent",
        "--format=%(trailers:key=Curator-Run-Id,valueonly,separator=)|",
        "main",
    )
    return [entry.strip() or "-" for entry in out.split("|")[:-1]]


def head(repo: Path) -> str:
    return git("--git-dir", repo, "rev-parse", "main").strip()


BASE_STATE = state((100, ["pend-a", "pend-b"]))


@pytest.fixture
def remote(new_data_repo: RepoFactory) -> DataRepo:
    """The shared remote: a data repository with one sync run on top of init."""
    repo = new_data_repo("remote", prefix=PREFIX)
    strict_receiver(repo.store.path)
    sync_run(
        repo,
        [record(PLUGIN, s) for s in ("akismet", "hello-dolly", "classic-editor")],
        BASE_STATE,
        "run-base",
        TS + 100,
    )
    return repo


@pytest.fixture
def clones(remote: DataRepo, tmp_path: Path) -> Iterator[tuple[DataRepo, DataRepo]]:
    a, b = (
        clone(remote.store.path, tmp_path / "a.git"),
        clone(remote.store.path, tmp_path / "b.git"),
    )
    yield a, b
    for repo in (a, b):
        repo.store.close()
        git_fsck(repo.store.path)


# Curator A: two new plugins, an update, the plugin cursor to r120 (pend-a done, fail-a new).
A_RECORDS = [record(PLUGIN, "contact-form-7"), record(PLUGIN, "voucher-press")]
A_UPDATE = record(PLUGIN, "akismet", revision=120)
A_STATE = state((120, ["pend-b", "fail-a"]))
# Curator B: other plugins, a theme, another update; plugin cursor r130, theme cursor r40.
B_RECORDS = [record(PLUGIN, "fleet-tracker"), record(THEME, "harbor-lite")]
B_UPDATE = record(PLUGIN, "hello-dolly", revision=130)
B_STATE = state((130, ["pend-a", "fail-b"]), (40, ["quillpress"]))
MERGED_STATE = state((130, ["fail-a", "fail-b"]), (40, ["quillpress"]))


def make_runs(a: DataRepo, b: DataRepo) -> tuple[str, str]:
    run_a = sync_run(a, [*A_RECORDS, A_UPDATE], A_STATE, "run-a", TS + 200)
    run_b = sync_run(b, [*B_RECORDS, B_UPDATE], B_STATE, "run-b", TS + 300)
    return run_a, run_b


def assert_nothing_lost(remote: Path) -> None:
    """Every package file of both runs is on the remote's head, and the state is merged."""
    for rec in [*A_RECORDS, A_UPDATE, *B_RECORDS, B_UPDATE, record(PLUGIN, "classic-editor")]:
        assert show(remote, "main", package_path(rec.type, rec.slug)) == encode(rec)
    merged = SyncState.model_validate(canonical.loads(show(remote, "main", STATE_FILE)))
    assert merged == MERGED_STATE
    git_fsck(remote)


def race(url: str, repos: tuple[DataRepo, DataRepo], **options: Any) -> list[PushReport]:
    """Both curators fetch the same remote head, then push at the same moment."""
    barrier = threading.Barrier(len(repos), timeout=60)

    def attempt(info: PushAttempt) -> None:
        if info.number == 1:
            barrier.wait()

    with ThreadPoolExecutor(len(repos)) as pool:
        futures = [
            pool.submit(push_runs, repo, url, on_attempt=attempt, backoff=0.01, **options)
            for repo in repos
        ]
        return [f.result(timeout=120) for f in futures]


# -- the push race ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["path", "git-daemon"])
def test_push_race_both_runs_land_in_order_nothing_lost(
    transport: str,
    remote: DataRepo,
    clones: tuple[DataRepo, DataRepo],
    tmp_path: Path,
) -> None:
    a, b = clones
    run_a, _run_b = make_runs(a, b)
    base = remote.head()
    bare = remote.store.path
    server = git_daemon(tmp_path) if transport == "git-daemon" else nullcontext("")
    with server as prefix:
        url = f"{prefix}/remote" if prefix else str(bare)
        reports = race(url, (a, b))

        winner, loser = sorted(reports, key=lambda r: r.attempts)
        assert (winner.status, winner.attempts, winner.reapplied) == ("pushed", 1, False)
        assert (loser.status, loser.reapplied, loser.runs) == ("pushed", True, 1)
        assert loser.attempts >= 2
        assert winner.remote_before == loser.remote_before == base
        first, second = ("run-a", "run-b") if winner.local_before == run_a else ("run-b", "run-a")
        # both runs are on the remote, in push order, on top of the base run
        assert first_parent_runs(bare) == [second, first, "run-base", "-"]
        assert head(bare) == loser.remote_after == loser.local_after
        assert_nothing_lost(bare)
        # the re-applied run kept its message, trailers, author and time; only its parent moved
        original = a if loser.local_before == run_a else b
        before = next(original.store.log(loser.local_before, max_count=1))
        after = next(original.store.log(head(bare), max_count=1))
        assert (after.message, after.author, after.timestamp) == (
            before.message,
            before.author,
            before.timestamp,
        )
        assert after.parents == (winner.remote_after,)
        # the winner is now behind: pushing again fast-forwards it, then nothing is left to do
        winner_repo = a if winner.local_before == run_a else b
        again = push_runs(winner_repo, url)
        assert (again.status, again.local_after, again.attempts) == (
            "fast-forwarded",
            head(bare),
            0,
        )
        assert push_runs(winner_repo, url).status == "up-to-date"
        assert push_runs(original, url).status == "up-to-date"
    assert first_parent_runs(bare) == [second, first, "run-base", "-"]


def test_push_race_between_two_cli_processes(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo], tmp_path: Path
) -> None:
    a, b = clones
    make_runs(a, b)
    bare = remote.store.path
    with git_daemon(tmp_path) as prefix:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "curator",
                    "--repo",
                    str(repo.store.path),
                    "--prefix",
                    PREFIX,
                    "push",
                    "--remote",
                    f"{prefix}/remote",
                    "--json",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for repo in (a, b)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out)["status"] == "pushed"
    assert sorted(first_parent_runs(bare)[:2]) == ["run-a", "run-b"]
    assert first_parent_runs(bare)[2:] == ["run-base", "-"]
    assert_nothing_lost(bare)


# -- re-applying onto a moved remote ---------------------------------------------------------


def test_fast_forward_push_moves_nothing_locally(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, _b = clones
    run_a = sync_run(a, A_RECORDS, A_STATE, "run-a", TS + 200)
    report = push_runs(a, str(remote.store.path))
    assert (report.status, report.runs, report.reapplied, report.attempts) == (
        "pushed",
        1,
        False,
        1,
    )
    assert head(remote.store.path) == run_a == a.head()


def test_a_package_both_sides_changed_differently_is_a_conflict(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, b = clones
    url = str(remote.store.path)
    run_a = sync_run(a, [record(PLUGIN, "akismet", revision=120)], A_STATE, "run-a", TS + 200)
    run_b = sync_run(
        b,
        [record(PLUGIN, "akismet", revision=130), *B_RECORDS],
        B_STATE,
        "run-b",
        TS + 300,
    )
    assert push_runs(a, url).status == "pushed"
    with pytest.raises(PushConflictError) as error:
        push_runs(b, url)
    path = f"{PREFIX}{package_path(PLUGIN, 'akismet')}"
    assert error.value.paths == [path]
    assert path in str(error.value) and "conflict" in str(error.value)
    # neither side moved
    assert head(remote.store.path) == run_a
    assert b.head() == run_b
    # the CLI gives up the same way, with exit status 3 (default remote: the clone's origin)
    result = curator_cli("--repo", b.store.path, "--prefix", PREFIX, "push")
    assert result.returncode == 3, result.stderr
    assert "conflict" in result.stderr and path in result.stderr
    assert head(remote.store.path) == run_a
    assert b.head() == run_b


def test_identical_bytes_on_both_sides_are_no_conflict(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, b = clones
    url = str(remote.store.path)
    same = record(PLUGIN, "akismet", revision=125)
    sync_run(a, [same, *A_RECORDS], A_STATE, "run-a", TS + 200)
    sync_run(b, [same, *B_RECORDS], B_STATE, "run-b", TS + 300)
    assert push_runs(a, url).status == "pushed"
    report = push_runs(b, url)
    assert (report.status, report.reapplied) == ("pushed", True)
    bare = remote.store.path
    assert show(bare, "main", package_path(PLUGIN, "akismet")) == encode(same)
    # B's re-applied run no longer touches the file the remote already had
    changed = git("--git-dir", bare, "diff", "--name-only", "main~1", "main").split()
    assert f"{PREFIX}{package_path(PLUGIN, 'akismet')}" not in changed
    assert f"{PREFIX}{package_path(THEME, 'harbor-lite')}" in changed
    assert first_parent_runs(bare)[:3] == ["run-b", "run-a", "run-base"]


def test_several_local_runs_are_reapplied_in_order(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, b = clones
    url = str(remote.store.path)
    sync_run(a, A_RECORDS, A_STATE, "run-a", TS + 200)
    sync_run(b, B_RECORDS, B_STATE, "run-b1", TS + 300)
    later = state((140, ["fail-b"]), (40, []))
    sync_run(b, [B_UPDATE], later, "run-b2", TS + 400)
    assert push_runs(a, url).status == "pushed"
    report = push_runs(b, url)
    assert (report.runs, report.reapplied) == (2, True)
    bare = remote.store.path
    assert first_parent_runs(bare) == ["run-b2", "run-b1", "run-a", "run-base", "-"]
    final = SyncState.model_validate(canonical.loads(show(bare, "main", STATE_FILE)))
    # run-b2 resolved quillpress and pend-a (pending at its parent); fail-a came from run-a
    assert final == state((140, ["fail-a", "fail-b"]), (40, []))
    git_fsck(bare)


def test_runs_already_on_the_remote_are_not_applied_twice(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    """A push that landed but whose local ref update was lost (a crash) is recognised by its
    run id, even after the remote changed the same file again."""
    a, b = clones
    url = str(remote.store.path)
    sync_run(a, A_RECORDS, A_STATE, "run-a", TS + 200)
    run_b = sync_run(b, [A_UPDATE, *B_RECORDS], B_STATE, "run-b", TS + 300)
    push_runs(a, url)
    pushed = push_runs(b, url)
    assert pushed.reapplied
    b.store.update_ref(b.ref, pushed.local_after, run_b)  # as if the local update never happened
    c = clone(remote.store.path, remote.store.path.parent / "c.git")
    newer = record(PLUGIN, "akismet", revision=999)
    sync_run(c, [newer], A_STATE, "run-c", TS + 500)
    push_runs(c, url)
    report = push_runs(b, url)
    assert (report.status, report.skipped) == ("fast-forwarded", [run_b])
    assert b.head() == head(remote.store.path)
    assert show(remote.store.path, "main", package_path(PLUGIN, "akismet")) == encode(newer)
    assert first_parent_runs(remote.store.path)[:3] == ["run-c", "run-b", "run-a"]
    c.store.close()


def test_gives_up_cleanly_when_the_remote_keeps_moving(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, _b = clones
    run_a = sync_run(a, A_RECORDS, A_STATE, "run-a", TS + 200)
    url = str(remote.store.path)
    sleeps: list[float] = []

    def competitor(info: PushAttempt) -> None:
        # another curator lands a run between our fetch and our push, every time
        sync_run(
            remote,
            [record(PLUGIN, "karaoke-embed", revision=info.number)],
            state((150 + info.number, [])),
            f"run-other-{info.number}",
            TS + 1000 + info.number,
        )

    with pytest.raises(PushGaveUpError) as error:
        push_runs(a, url, retries=2, on_attempt=competitor, sleep=sleeps.append)
    assert error.value.attempts == 3
    assert "stale" in str(error.value)
    assert len(sleeps) == 2 and 0.1 <= sleeps[0] <= 0.3 and 0.2 <= sleeps[1] <= 0.6
    assert a.head() == run_a
    assert first_parent_runs(remote.store.path)[:3] == [
        "run-other-3",
        "run-other-2",
        "run-other-1",
    ]


def test_local_branch_moving_during_the_push_is_left_alone(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, b = clones
    url = str(remote.store.path)
    sync_run(a, A_RECORDS, A_STATE, "run-a", TS + 200)
    sync_run(b, B_RECORDS, B_STATE, "run-b", TS + 300)
    push_runs(a, url)
    moved: list[str] = []

    def local_sync(info: PushAttempt) -> None:
        moved.append(sync_run(b, [B_UPDATE], B_STATE, "run-b2", TS + 400))

    report = push_runs(b, url, on_attempt=local_sync)
    assert report.status == "pushed"
    assert report.local_after == moved[0] == b.head()
    assert report.warnings and "could not follow" in report.warnings[0]
    # the next push re-applies only run-b2 (run-b is recognised by its run id)
    follow = push_runs(b, url)
    assert (follow.runs, follow.skipped) == (1, [report.local_before])
    assert first_parent_runs(remote.store.path)[:3] == ["run-b2", "run-b", "run-a"]


def test_first_push_to_an_empty_remote_carries_the_whole_history(
    clones: tuple[DataRepo, DataRepo], tmp_path: Path
) -> None:
    a, _b = clones
    empty = bare_remote(tmp_path / "empty.git")
    report = push_runs(a, str(empty))
    assert (report.status, report.runs, report.remote_before) == ("pushed", 2, None)
    assert head(empty) == a.head()
    git_fsck(empty)


# -- failure paths ---------------------------------------------------------------------------


def test_unrelated_histories_are_refused(
    new_data_repo: RepoFactory, remote: DataRepo, tmp_path: Path
) -> None:
    other = new_data_repo("other", prefix=PREFIX, plugins=["akismet"])  # another init commit
    sync_run(other, A_RECORDS, A_STATE, "run-x", TS + 50)
    before = head(remote.store.path)
    with pytest.raises(PublishError, match="share no history"):
        push_runs(other, str(remote.store.path))
    assert head(remote.store.path) == before
    result = curator_cli("--repo", other.store.path, "push", "--remote", remote.store.path)
    assert result.returncode == 5, result.stderr


def test_unreachable_remote(clones: tuple[DataRepo, DataRepo], tmp_path: Path) -> None:
    a, _b = clones
    url = f"git://127.0.0.1:{free_port()}/remote"
    with pytest.raises(RemoteError, match="cannot reach"):
        push_runs(a, url)
    result = curator_cli("--repo", a.store.path, "--prefix", PREFIX, "push", "--remote", url)
    assert result.returncode == 4
    assert "cannot reach" in result.stderr and url in result.stderr
    missing = curator_cli("--repo", a.store.path, "push", "--remote", tmp_path / "nope")
    assert missing.returncode == 4 and "not a git repository" in missing.stderr


def test_remote_resolution(remote: DataRepo, clones: tuple[DataRepo, DataRepo]) -> None:
    a, _b = clones
    origin = str(remote.store.path)
    assert resolve_remote(a.store, None) == origin  # git clone wrote remote.origin.url
    assert resolve_remote(a.store, "origin") == origin
    assert resolve_remote(a.store, "/some/where.git") == "/some/where.git"
    a.store.set_config("curator", "remote", "git://example.invalid/data")
    assert resolve_remote(a.store, None) == "git://example.invalid/data"
    a.store.set_config("remote.mirror", "url", "ssh://mirror.invalid/data")
    a.store.set_config("curator", "remote", "mirror")
    assert resolve_remote(a.store, None) == "ssh://mirror.invalid/data"
    # the remote repository itself has no origin: a usage error
    result = curator_cli("--repo", remote.store.path, "push")
    assert result.returncode == 2
    assert "no remote" in result.stderr


def test_cli_reports_what_it_pushed(remote: DataRepo, clones: tuple[DataRepo, DataRepo]) -> None:
    a, b = clones
    run_a, _run_b = make_runs(a, b)
    pushed = curator_cli("--repo", a.store.path, "--prefix", PREFIX, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert "Pushed 1 commit(s)" in pushed.stdout and run_a[:12] in pushed.stdout
    second = curator_cli("--repo", b.store.path, "--prefix", PREFIX, "push", "--json")
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert (data["status"], data["reapplied"], data["remote_before"]) == ("pushed", True, run_a)
    again = curator_cli("--repo", b.store.path, "--prefix", PREFIX, "push")
    assert again.returncode == 0 and "Nothing to push" in again.stdout
    bad = curator_cli("--repo", b.store.path, "push", "--retries", "-1")
    assert bad.returncode == 2
    assert_nothing_lost(remote.store.path)


def test_nothing_to_push_from_an_empty_branch(tmp_path: Path) -> None:
    store = GitStore.init(tmp_path / "empty.git")
    with pytest.raises(PublishError, match="no commits"):
        push_runs(DataRepo(store, PREFIX), str(tmp_path / "x"))
    store.close()


# -- the state merge (pure) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "base, ours, theirs, expected",
    [
        # the newer revision wins; pending: union minus what either side resolved
        ((100, ["a", "b"]), (120, ["b", "x"]), (130, ["a", "y"]), (130, ["x", "y"])),
        # one side never synced this type
        ((None, []), (None, []), (50, ["t"]), (50, ["t"])),
        ((None, []), (70, []), (None, []), (70, [])),
        # a slug newly failed on one side but fetched by the other stays pending (safe)
        ((10, []), (20, ["z"]), (15, []), (20, ["z"])),
        # both resolved the same slug; both added the same one
        ((10, ["a"]), (20, ["n"]), (20, ["n"]), (20, ["n"])),
        # nothing in common but the base
        ((10, ["a", "b", "c"]), (11, ["a", "b", "c"]), (12, ["c"]), (12, ["c"])),
    ],
)
def test_merge_cursor(
    base: tuple[int | None, list[str]],
    ours: tuple[int | None, list[str]],
    theirs: tuple[int | None, list[str]],
    expected: tuple[int | None, list[str]],
) -> None:
    def cursor(c: tuple[int | None, list[str]]) -> SyncCursor:
        return SyncCursor(revision=c[0], pending=c[1])

    merged = merge_cursor(cursor(base), cursor(ours), cursor(theirs))
    assert merged == cursor(expected)
    # symmetric: who pushed first does not matter
    assert merge_cursor(cursor(base), cursor(theirs), cursor(ours)) == merged


def test_merge_state_merges_each_type() -> None:
    assert merge_state(BASE_STATE, A_STATE, B_STATE) == MERGED_STATE
    assert merge_state(BASE_STATE, B_STATE, A_STATE) == MERGED_STATE
    assert merge_state(BASE_STATE, BASE_STATE, BASE_STATE) == BASE_STATE


def test_unparseable_state_on_one_side_is_a_conflict(
    remote: DataRepo, clones: tuple[DataRepo, DataRepo]
) -> None:
    a, b = clones
    url = str(remote.store.path)
    sync_run(a, A_RECORDS, A_STATE, "run-a", TS + 200)
    push_runs(a, url)
    broken = b.commit(
        parent=b.head(),
        changes={STATE_FILE: b"{not json\n"},
        message="broken\n",
        author=DEFAULT_AUTHOR,
        timestamp=TS + 300,
    )
    with pytest.raises(PushConflictError) as error:
        push_runs(b, url)
    assert error.value.paths == [f"{PREFIX}{STATE_FILE}"]
    assert b.head() == broken
