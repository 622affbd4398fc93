"""The real corpus (12,227 WordPress.org plugin records) through the replay into a fresh data
repository: one commit, every oddity preserved, no-op and 1% incremental runs."""

from __future__ import annotations

import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from curator.datarepo import DataRepo, create
from curator.layout import STATE_FILE, PackageType, package_path
from curator.models import RegistryConfig
from curator.records import Change
from curator.sync import DEFAULT_AUTHOR
from curator.upstream.fields import KEPT_FIELDS
from tests.conftest import T0, Clock, ReplayProcess, git, git_fsck, sync_once

P = PackageType.PLUGIN
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw_records(corpus_path: Path) -> dict[str, dict[str, Any]]:
    with lzma.open(corpus_path) as fh:
        return {r["slug"]: r for r in map(orjson.loads, fh)}


@pytest.fixture(scope="module")
def replay(corpus_path: Path) -> Iterator[ReplayProcess]:
    server = ReplayProcess("--corpus", corpus_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def imported(
    tmp_path_factory: pytest.TempPathFactory, replay: ReplayProcess
) -> Iterator[tuple[DataRepo, Any, Clock]]:
    path = tmp_path_factory.mktemp("corpus") / "data"
    repo = create(path, RegistryConfig(), prefix="", author=DEFAULT_AUTHOR, timestamp=0)
    clock = Clock(T0)
    report = sync_once(repo, replay.base_url, types=(P,), clock=clock)
    yield repo, report, clock
    git_fsck(path)


def test_the_whole_corpus_is_one_commit_of_12227_files(
    imported: tuple[DataRepo, Any, Clock], raw_records: dict[str, dict[str, Any]]
) -> None:
    repo, report, _ = imported
    assert report.ok, report.failures[:5]
    assert report.counts[Change.ADDED] == len(raw_records) == 12227
    commits = list(repo.store.log())
    assert len(commits) == 2 and commits[0].sha == report.commit
    files = git("-C", repo.store.path, "ls-tree", "-r", "--name-only", report.commit).split()
    assert len([f for f in files if f.startswith("packages/plugins/")]) == 12227
    assert len(list(repo.store.path.glob("objects/pack/*.pack"))) == 2  # init + one sync run


def _as_served(raw: dict[str, Any], base: str) -> dict[str, Any]:
    """What the replay serves: download URLs point at the replay, all else is verbatim."""

    def url(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(WPORG_DOWNLOADS):
            return f"{base}/downloads/" + value[len(WPORG_DOWNLOADS) :]
        return value

    served = dict(raw)
    served["download_link"] = url(raw["download_link"])
    if isinstance(raw["versions"], dict):
        served["versions"] = {k: url(v) for k, v in raw["versions"].items()}
    return served


WPORG_DOWNLOADS = "https://downloads.wordpress.org/"


def test_every_record_oddity_is_preserved_verbatim(
    imported: tuple[DataRepo, Any, Clock],
    raw_records: dict[str, dict[str, Any]],
    replay: ReplayProcess,
) -> None:
    repo, _, _ = imported
    view = repo.view()
    kept = KEPT_FIELDS[P]
    seen = {"versions_list": 0, "cr_key": 0, "requires_false": 0, "tags_list": 0, "entity": 0}
    for slug, raw in raw_records.items():
        stored = orjson.loads(view.read(package_path(P, slug)) or b"null")
        served = _as_served(raw, replay.base_url)
        expected = {k: served[k] for k in kept if k in served}
        assert stored["info"] == expected, slug
        # the same values with the same JSON types (false stays false, [] stays [])
        assert orjson.dumps(stored["info"], option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            expected, option=orjson.OPT_SORT_KEYS
        ), slug
        seen["versions_list"] += raw["versions"] == []
        seen["cr_key"] += any("\r" in k for k in raw["versions"])
        seen["requires_false"] += raw["requires_php"] is False
        seen["tags_list"] += raw["tags"] == []
        seen["entity"] += "&#" in raw["name"]
    # the oddities listed in ../shared/corpus/README.md are really in there
    assert seen["versions_list"] == 1887 and seen["requires_false"] == 3837
    assert seen["tags_list"] == 138 and seen["cr_key"] > 0 and seen["entity"] > 2000


def test_a_second_run_with_nothing_changed_makes_no_commit(
    imported: tuple[DataRepo, Any, Clock], replay: ReplayProcess
) -> None:
    repo, report, clock = imported
    again = sync_once(repo, replay.base_url, types=(P,), clock=clock)
    assert again.commit is None and again.changed_paths == []
    assert repo.head() == report.commit


def test_one_percent_changed_commits_exactly_those_files(
    imported: tuple[DataRepo, Any, Clock], replay: ReplayProcess
) -> None:
    repo, _, clock = imported
    before = repo.head()
    changed = replay.control("mutate", {"percent": 1, "seed": 7, "type": "plugin"})["changed"]
    assert len(changed) == 122
    report = sync_once(repo, replay.base_url, types=(P,), clock=clock)
    assert report.ok and report.commit is not None
    expected = {package_path(P, s) for s in changed}
    # the data files of exactly those packages, plus the cursor that covers them
    assert set(report.changed_paths) == expected | {STATE_FILE}
    diff = git("-C", repo.store.path, "diff", "--name-only", before, report.commit).split()
    assert set(diff) == expected | {STATE_FILE}
    assert report.counts[Change.UPDATED] == 122
    state = repo.view().state()
    assert state.plugin.revision == replay.control("state")["revisions"]["plugin"]
