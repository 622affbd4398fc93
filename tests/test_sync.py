"""Sync runs end to end on the shipped sample corpus: real replay server, real git repository."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from curator import canonical
from curator.datarepo import DataRepo
from curator.gitstore import RefMovedError
from curator.layout import STATE_FILE, PackageType, package_path
from curator.models import PackageStatus, UpstreamConfig
from curator.records import Change
from curator.replay import ReplayServer, ReplayState
from curator.sync import SyncOptions, SyncRunner
from curator.upstream import WporgClient
from tests.conftest import Clock, RepoFactory, git, sync_once

P, T = PackageType.PLUGIN, PackageType.THEME


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


def stored(repo: DataRepo, kind: PackageType) -> dict[str, str]:
    return dict(repo.view().records(kind))


def test_first_sync_records_every_package_in_one_commit(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    init = repo.head()
    report = sync_once(repo, replay.base_url)
    assert report.ok, report.failures
    assert report.commit is not None and report.parent == init
    assert [c.sha for c in repo.store.log()] == [report.commit, init]
    assert set(stored(repo, P)) == set(replay.state.plugins)
    assert set(stored(repo, T)) == set(replay.state.themes)
    view = repo.view()
    state = view.state()
    assert state.plugin.revision == replay.state.revisions["plugin"]
    assert state.theme.revision == replay.state.revisions["theme"]
    assert state.plugin.pending == [] and state.theme.pending == []
    closed = [s for s, r in replay.state.plugins.items() if r.get("error") == "closed"]
    assert closed, "the sample corpus has closed plugins"
    for slug in closed:
        record = view.record(P, slug)
        assert record is not None and record.status is PackageStatus.CLOSED
        assert record.closure is not None and record.closure.date
    total = len(replay.state.plugins) + len(replay.state.themes)
    assert sum(report.counts.values()) == total
    # the git CLI sees the run, its trailers and every file
    subject = git("-C", repo.store.path, "log", "-1", "--format=%s")
    assert subject.startswith(f"sync: {total - len(closed)} added")
    trailers = git("-C", repo.store.path, "log", "-1", "--format=%(trailers:only)")
    assert f"Curator-Run-Id: {report.run_id}" in trailers
    files = git("-C", repo.store.path, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert len([f for f in files if f.startswith("packages/")]) == total


def test_a_second_sync_with_nothing_changed_makes_no_commit(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    first = sync_once(repo, replay.base_url)
    second = sync_once(repo, replay.base_url)
    assert second.commit is None and second.changed_paths == []
    third = sync_once(repo, replay.base_url, full=True)  # refetch everything: same bytes
    assert third.commit is None and third.counts[Change.UNCHANGED] == sum(first.counts.values())
    assert repo.head() == first.commit


def test_upstream_changes_commit_exactly_the_changed_files(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    first = sync_once(repo, replay.base_url)
    changed_plugins = replay.state.mutate(30, seed=3, kind="plugin")["changed"]
    changed_themes = replay.state.mutate(50, seed=3, kind="theme")["changed"]
    report = sync_once(repo, replay.base_url)
    assert report.commit is not None and report.ok
    expected = {package_path(P, s) for s in changed_plugins}
    expected |= {package_path(T, s) for s in changed_themes}
    assert set(report.changed_paths) == expected | {STATE_FILE}
    diff = repo.store.changed_paths(first.commit, report.commit)
    assert {p for p, _ in diff} == expected | {STATE_FILE}
    cli_diff = git("-C", repo.store.path, "diff", "--name-only", first.commit, report.commit)
    assert set(cli_diff.split()) == expected | {STATE_FILE}
    assert report.counts[Change.UPDATED] == len(expected)
    # a new tag got a first-seen time; older tags have none
    view = repo.view()
    for slug in changed_plugins:
        record = view.record(P, slug)
        assert record is not None and record.info is not None
        assert record.first_seen, slug
        assert record.revision is not None


def test_closing_a_plugin_keeps_its_versions(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    sync_once(repo, replay.base_url)
    slug = next(
        s
        for s, r in sorted(replay.state.plugins.items())
        if isinstance(r.get("versions"), dict) and r["versions"]
    )
    before = repo.view().record(P, slug)
    assert before is not None and before.info is not None
    replay.state.apply_changes([{"type": "plugin", "slug": slug, "action": "close"}])
    report = sync_once(repo, replay.base_url)
    assert report.counts[Change.CLOSED] == 1
    after = repo.view().record(P, slug)
    assert after is not None and after.status is PackageStatus.CLOSED
    assert after.info == before.info
    assert after.closure is not None and after.closure.date is not None


def test_limit_defers_the_rest_to_the_next_run(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    report = sync_once(repo, replay.base_url, types=(P,), limit=5)
    assert sum(report.counts.values()) == 5 and report.deferred == len(replay.state.plugins) - 5
    assert len(repo.view().state().plugin.pending) == report.deferred
    sync_once(repo, replay.base_url, types=(P,))
    assert set(stored(repo, P)) == set(replay.state.plugins)
    assert repo.view().state().plugin.pending == []


def test_named_slugs_sync_only_those_and_keep_the_cursor(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    slugs = sorted(replay.state.plugins)[:2]
    report = sync_once(repo, replay.base_url, types=(P,), slugs=tuple(slugs))
    assert set(stored(repo, P)) == set(slugs)
    assert repo.view().state().plugin.revision is None
    assert report.changed_paths == sorted(package_path(P, s) for s in slugs)


def test_fixed_slug_list_without_svn(new_data_repo: RepoFactory, replay: ReplayServer) -> None:
    plugin = sorted(replay.state.plugins)[0]
    theme = sorted(replay.state.themes)[0]
    repo = new_data_repo(svn=False, plugins=[plugin], themes=[theme])
    sync_once(repo, replay.base_url)
    assert set(stored(repo, P)) == {plugin} and set(stored(repo, T)) == {theme}


def test_dry_run_commits_nothing(new_data_repo: RepoFactory, replay: ReplayServer) -> None:
    repo = new_data_repo()
    head = repo.head()
    report = sync_once(repo, replay.base_url, dry_run=True)
    assert report.commit is None and report.changed_paths and repo.head() == head


def test_registry_data_prefix(new_data_repo: RepoFactory, replay: ReplayServer) -> None:
    repo = new_data_repo(prefix="registry-data/")
    sync_once(repo, replay.base_url, types=(T,))
    files = git("-C", repo.store.path, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "registry-data/registry.json" in files
    assert all(f.startswith("registry-data/") for f in files)
    assert set(stored(repo, T)) == set(replay.state.themes)


def test_two_concurrent_runs_one_commits_the_other_fails_cleanly(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    sync_once(repo, replay.base_url)
    base = repo.head()
    replay.state.mutate(40, seed=9, kind="plugin")
    other = DataRepo.open(repo.store.path)

    async def both() -> list[object]:
        async def one(target: DataRepo, types: tuple[PackageType, ...]) -> object:
            async with WporgClient(UpstreamConfig.from_base(replay.base_url)) as client:
                runner = SyncRunner(target, client, clock=Clock())
                return await runner.run(SyncOptions(types=types))

        return await asyncio.gather(one(repo, (P,)), one(other, (P, T)), return_exceptions=True)

    results = asyncio.run(both())
    errors = [r for r in results if isinstance(r, RefMovedError)]
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(errors) == 1 and len(winners) == 1, results
    assert "nothing was committed" in str(errors[0])
    head = repo.head()
    assert head is not None and head == winners[0].commit  # type: ignore[attr-defined]
    assert [c.sha for c in repo.store.log()][1] == base
    # the loser reruns and completes: nothing lost
    rerun = sync_once(repo, replay.base_url)
    assert rerun.ok
    assert {s: r for s, r in stored(repo, P).items()}.keys() == set(replay.state.plugins)


def test_invalid_stored_record_is_reported_and_left_alone(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    repo = new_data_repo()
    sync_once(repo, replay.base_url, types=(P,))
    slug = sorted(replay.state.plugins)[0]
    rel = package_path(P, slug)
    broken = canonical.dumps({"schema_version": 99})
    repo.commit(
        parent=repo.head(), changes={rel: broken}, message="break\n", author="t <t@t>", timestamp=1
    )
    report = sync_once(repo, replay.base_url, types=(P,), slugs=(slug,))
    assert [(k, s) for k, s, _ in report.failures] == [(P, slug)]
    assert repo.view().read(rel) == broken


def test_packs_are_consolidated_once_there_are_too_many(new_data_repo: RepoFactory) -> None:
    from curator.datarepo import maintain

    repo = new_data_repo()
    for n in range(6):
        repo.commit(
            parent=repo.head(),
            changes={f"packages/plugins/aa/aa{n}.json": b"{}\n"},
            message=f"m{n}\n",
            author="t <t@t>",
            timestamp=n + 1,
        )
    assert repo.store.pack_count() == 7
    assert maintain(repo, max_packs=10) is None
    left = maintain(repo, max_packs=5)
    assert left is not None and left < 7
    assert repo.view().read("packages/plugins/aa/aa5.json") == b"{}\n"
