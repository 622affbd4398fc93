"""The search index a build writes (``search.sqlite``): one row per listed package, versions
as Composer sees them, overrides in effect, and incremental builds that carry it over."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from curator import canonical
from curator.build.builder import PreviousBuild, build
from curator.build.manifest import read_manifest, validate_build
from curator.build.search_index import SEARCH_INDEX_NAME, read_search_rows
from curator.build.seed import commit_records, record_from_line
from curator.datarepo import DataRepo
from curator.layout import PackageType, override_path
from server.search import composer_versions
from tests.build.conftest import assert_same_tree, record
from tests.conftest import RepoFactory

P = PackageType.PLUGIN


@pytest.fixture
def repo(new_data_repo: RepoFactory, sample_lines: list[tuple[PackageType, bytes]]) -> DataRepo:
    data = new_data_repo()
    records = [record_from_line(kind, line) for kind, line in sample_lines]
    commit_records(data, [r for r in records if r is not None])
    return data


def listed(directory: Path) -> list[str]:
    names: list[str] = orjson.loads((directory / "list.json").read_bytes())["packageNames"]
    return names


def test_the_index_holds_every_listed_package_with_its_composer_versions(
    repo: DataRepo, tmp_path: Path
) -> None:
    result = build(repo, None, None, tmp_path / "b", full=True)
    rows = read_search_rows(result.path / SEARCH_INDEX_NAME)
    assert [r.name for r in rows] == listed(result.path)
    assert SEARCH_INDEX_NAME in read_manifest(result.path).files
    assert validate_build(result.path) == []
    akismet = next(r for r in rows if r.name == "wp-plugin/akismet")
    p2 = orjson.loads((result.path / "p2/wp-plugin/akismet.json").read_bytes())
    served = [v["version"] for v in p2["packages"]["wp-plugin/akismet"]]
    # the server shows the versions Composer reads, expanded from the minified p2 files
    versions = composer_versions(result.path, "wp-plugin/akismet")
    assert [v["version"] for v in versions] == [*served, "dev-trunk"]
    assert all(v["require"]["composer/installers"] for v in versions)
    assert versions[0]["version_normalized"] and "time" in versions[0]
    assert akismet.version == served[0] and akismet.wporg_url.endswith("/plugins/akismet/")
    themes = [r for r in rows if r.type == "theme"]
    assert themes and all(r.name.startswith("wp-theme/") for r in themes)


def test_overrides_and_abandonment_show_in_the_index(repo: DataRepo, tmp_path: Path) -> None:
    override = {
        "reason": "moved to a fork",
        "author": "trustee-anna",
        "date": "2026-11-01",
        "replacement": "wp-plugin/classic-editor",
        "versions": {"5.3.2": {"yanked": True, "reason": "broken release"}},
    }
    commit_records(repo, [], extra={override_path(P, "akismet"): canonical.dumps(override)})
    result = build(repo, None, None, tmp_path / "b", full=True)
    row = next(r for r in read_search_rows(result.path / SEARCH_INDEX_NAME) if r.slug == "akismet")
    assert row.abandoned == "wp-plugin/classic-editor"
    effect = json.loads(row.overrides_json)
    assert {"scope": "package", "field": "replacement wp-plugin/classic-editor"}.items() <= effect[
        0
    ].items()
    assert effect[1]["field"] == "yanked" and effect[1]["reason"] == "broken release"
    assert "5.3.2" not in [v["version"] for v in composer_versions(result.path, row.name)]


def test_incremental_builds_carry_the_index_over_exactly(repo: DataRepo, tmp_path: Path) -> None:
    first = build(repo, None, None, tmp_path / "first", full=True)
    commit_records(repo, [record("brand-new-plugin"), record("akismet", revision=99)])
    second = build(
        repo, None, None, tmp_path / "second", previous=PreviousBuild(first.path, first.commit)
    )
    assert second.incremental
    names = [r.name for r in read_search_rows(second.path / SEARCH_INDEX_NAME)]
    assert "wp-plugin/brand-new-plugin" in names and names == listed(second.path)
    assert_same_tree(second.path, build(repo, None, None, tmp_path / "full", full=True).path)


def test_a_previous_build_without_a_readable_index_means_a_full_build(
    repo: DataRepo, tmp_path: Path
) -> None:
    first = build(repo, None, None, tmp_path / "first", full=True)
    commit_records(repo, [record("brand-new-plugin")])
    index = first.path / SEARCH_INDEX_NAME
    index.chmod(0o644)
    index.write_bytes(b"not a database")
    second = build(
        repo, None, None, tmp_path / "second", previous=PreviousBuild(first.path, first.commit)
    )
    assert not second.incremental
    assert "search index cannot be read" in (second.full_reason or "")
    assert validate_build(second.path) == []
