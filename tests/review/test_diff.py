"""`diff_commits`: what Composer users would see change between two commits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from curator import canonical
from curator.build.builder import build
from curator.build.overrides import OverrideError
from curator.build.seed import commit_records, mutate
from curator.datarepo import DataRepo
from curator.layout import REGISTRY_FILE, package_path
from curator.models import Closure, PackageStatus, RegistryConfig
from curator.models.config import Vendors
from curator.replay import ReplayServer, ReplayState
from curator.review.diff import Change, DiffResult, LinkChange, PackageDiff, diff_commits
from curator.review.diff import render_text as text
from tests.build.conftest import record
from tests.conftest import RepoFactory, sync_once
from tests.review.conftest import P, T, override_bytes, plugin_override, theme, write

URL = "https://downloads.wordpress.org/plugin/example.{}.zip"


def diff(repo: DataRepo, base: str, head: str | None = None) -> DiffResult:
    result = diff_commits(repo, base, head or repo.head() or "")
    json.dumps(result.to_json())  # always serialisable
    return result


def one(result: DiffResult) -> PackageDiff:
    [package] = result.packages
    return package


def test_a_php_bound_override_names_the_package_and_versions(repo: DataRepo) -> None:
    base = repo.head()
    assert base is not None
    over = override_bytes(
        reason="5.x needs PHP 8.1",
        versions={"1.2.0": {"require": {"php": ">=8.1"}}, "1.1.0": {"require": {"php": ">=8.0"}}},
    )
    head = write(repo, {plugin_override(): over})
    result = diff(repo, base, head)
    package = one(result)
    assert (package.name, package.files, package.package) == (
        "wp-plugin/example",
        ["override"],
        "changed",
    )
    assert package.links == [
        LinkChange("require", "php", ">=7.4", ">=8.1", ["1.2.0"]),
        LinkChange("require", "php", None, ">=8.0", ["1.1.0"]),
    ]
    assert not (package.added or package.removed or package.yanked or package.abandoned)
    assert text(result) == (
        f"### Composer changes `{base[:12]}` → `{head[:12]}`\n"
        "\n"
        "1 package changes for Composer users (1 record or override file(s) changed).\n"
        "\n"
        "#### `wp-plugin/example` (override changed)\n"
        "- require `php`: `>=7.4` → `>=8.1` on `1.2.0`\n"
        "- require `php`: (none) → `>=8.0` on `1.1.0`\n"
    )
    assert result.to_json()["packages"][0]["links"] == [
        {"kind": "require", "target": "php", "old": ">=7.4", "new": ">=8.1", "versions": ["1.2.0"]},
        {"kind": "require", "target": "php", "old": None, "new": ">=8.0", "versions": ["1.1.0"]},
    ]


def test_a_package_level_bound_groups_the_versions_newest_first(repo: DataRepo) -> None:
    base = repo.head() or ""
    write(repo, {plugin_override(): override_bytes(require={"php": ">=8.0"})})
    links = one(diff(repo, base)).links
    assert links == [
        LinkChange("require", "php", ">=7.4", ">=8.0", ["dev-trunk", "1.2.0"]),
        LinkChange("require", "php", None, ">=8.0", ["1.1.0", "1.0.0"]),
    ]


def test_versions_added_by_a_sync_commit(repo: DataRepo) -> None:
    base = repo.head() or ""
    changes = mutate(repo, 1.0, seed=0)
    head = commit_records(repo, [], extra=changes, message="sync: 2 updated\n")
    result = diff(repo, base, head)
    assert [p.name for p in result.packages] == ["wp-plugin/example", "wp-plugin/other"]
    for package in result.packages:
        assert package.added == ["1.2.0.1"] and package.files == ["record"]
        assert not package.removed
        # the current release moved: its php requirement follows it
        assert LinkChange("require", "php", ">=7.4", None, ["1.2.0"]) in package.links
        assert "dev-trunk" not in package.dist_changed
    assert "- versions added: `1.2.0.1`" in text(result)


def test_yank_and_unyank(repo: DataRepo) -> None:
    base = repo.head() or ""
    over = override_bytes(versions={"1.1.0": {"yanked": True}, "trunk": {"yanked": True}})
    yanked = write(repo, {plugin_override(): over})
    package = one(diff(repo, base, yanked))
    assert package.yanked == ["dev-trunk", "1.1.0"] and package.removed == []
    assert "- yanked: `dev-trunk`, `1.1.0`" in text(diff(repo, base, yanked))
    back = write(repo, {plugin_override(): None})
    package = one(diff(repo, yanked, back))
    assert package.unyanked == ["dev-trunk", "1.1.0"] and package.added == []
    assert diff(repo, base, back).packages == []


def test_abandoned_by_override(repo: DataRepo) -> None:
    base = repo.head() or ""
    write(repo, {plugin_override(): override_bytes(replacement="wp-plugin/other")})
    result = diff(repo, base)
    assert one(result).abandoned == Change(False, "wp-plugin/other")
    assert "- abandoned: no → yes, use `wp-plugin/other`" in text(result)
    assert one(result).to_json()["abandoned"] == {"old": False, "new": "wp-plugin/other"}


def test_closed_for_a_security_issue(repo: DataRepo) -> None:
    base = repo.head() or ""
    closure = Closure(date="2026-10-01", reason="security-issue", permanent=False)
    closed = record("example", status=PackageStatus.CLOSED, closure=closure)
    write(repo, {}, [closed])
    result = diff(repo, base)
    package = one(result)
    assert package.status == Change("open", "closed")
    assert package.abandoned == Change(False, True)
    assert package.advisory == Change(False, True)
    assert not package.removed  # closed packages keep their versions
    body = text(result)
    assert "- status: open → closed" in body and "- security advisory: added" in body


def test_blocked_lists_every_version_removed(repo: DataRepo) -> None:
    base = repo.head() or ""
    write(repo, {plugin_override(): override_bytes(blocked=True, reason="malware")})
    package = one(diff(repo, base))
    assert package.blocked == Change(False, True)
    assert package.removed == ["dev-trunk", "1.2.0", "1.1.0", "1.0.0"]
    assert "- blocked: no → yes (no versions served)" in text(diff(repo, base))


def test_packages_added_and_removed(repo: DataRepo) -> None:
    base = repo.head() or ""
    write(repo, {package_path(P, "other"): None}, [record("brand-new")])
    result = diff(repo, base)
    assert [(p.name, p.package) for p in result.packages] == [
        ("wp-plugin/brand-new", "added"),
        ("wp-plugin/other", "removed"),
    ]
    added, removed = result.packages
    assert added.added == ["dev-trunk", "1.2.0", "1.1.0", "1.0.0"] and added.status == Change(
        None, "open"
    )
    assert removed.removed == ["dev-trunk", "1.2.0", "1.1.0", "1.0.0"]
    assert "#### `wp-plugin/brand-new` (new package, record changed)" in text(result)


def test_metadata_downloads_and_invisible_changes(repo: DataRepo) -> None:
    base = repo.head() or ""
    moved = {
        "1.0.0": "https://downloads.wordpress.org/plugin/example.1.0.0-moved.zip",
        "1.1.0": URL.format("1.1.0"),
        "1.2.0": URL.format("1.2.0"),
        "trunk": "https://downloads.wordpress.org/plugin/example.zip",
    }
    write(
        repo,
        {},
        [
            record("example", short_description="Now different.", versions=moved),
            record("other", active_installs=900),  # not part of the Composer metadata
        ],
    )
    result = diff(repo, base)
    package = one(result)
    assert package.metadata == ["description"] and package.dist_changed == ["1.0.0"]
    assert result.unchanged == 1 and result.files_changed == 2
    body = text(result)
    assert "- download changed: `1.0.0`" in body and "- metadata changed: description" in body
    assert "1 package(s) without a visible effect" in body


def test_themes(repo: DataRepo) -> None:
    base = repo.head() or ""
    newer = theme().model_copy(
        update={
            "info": theme().info.model_copy(  # type: ignore[union-attr]
                update={
                    "versions": {
                        "1.0": "https://downloads.wordpress.org/theme/twentyx.1.0.zip",
                        "1.1": "https://downloads.wordpress.org/theme/twentyx.1.1.zip",
                    },
                    "version": "1.1",
                }
            )
        }
    )
    write(repo, {}, [newer])
    package = one(diff(repo, base))
    assert (package.name, package.type, package.added) == ("wp-theme/twentyx", T, ["1.1"])


def test_the_text_can_be_limited_to_some_packages(repo: DataRepo) -> None:
    base = repo.head() or ""
    write(repo, {plugin_override(s): override_bytes(abandoned=True) for s in ("example", "other")})
    result = diff(repo, base)
    short = text(result, max_packages=1)
    assert "`wp-plugin/example`" in short and "`wp-plugin/other`" not in short
    assert short.endswith("… and 1 more package(s) (see `curator diff --json`).\n")
    assert text(result, max_packages=2) == text(result)


def test_nothing_changed(repo: DataRepo) -> None:
    head = repo.head() or ""
    result = diff(repo, head, head)
    assert result.packages == [] and result.files_changed == 0
    assert "No Composer-visible changes (0 record or override file(s) changed)." in text(result)


def test_a_configuration_change_is_flagged(repo: DataRepo) -> None:
    base = repo.head() or ""
    config = RegistryConfig(vendors=Vendors(plugin="wpp", theme="wpt"))
    write(repo, {REGISTRY_FILE: canonical.dumps(config.model_dump(mode="json"))})
    result = diff(repo, base)
    assert result.config_changed and result.packages == []
    assert "`registry.json` changed" in text(result)


def test_files_that_are_not_overrides_are_listed(repo: DataRepo, tmp_path: Path) -> None:
    """As the build sees them: an override file whose name is no slug fails it; other files
    under overrides/ (not .json, nested, elsewhere) are skipped."""
    base = repo.head() or ""
    write(
        repo,
        {
            "overrides/plugins/Bad <i>Name.json": override_bytes(),
            "overrides/plugins/Bad <b>Name</b>.json": override_bytes(),  # nested: b>.json
            "overrides/README.md": b"how to write an override\n",
        },
    )
    result = diff(repo, base)
    assert result.invalid_paths == ["overrides/plugins/Bad <i>Name.json"]
    assert result.ignored_paths == [
        "overrides/README.md",
        "overrides/plugins/Bad <b>Name</b>.json",
    ]
    shown = text(result)
    assert "invalid names (the build fails on them" in shown
    assert "`overrides/plugins/Bad <i>Name.json`" in shown
    assert "not override files (ignored by the build): `overrides/README.md`" in shown
    # what the build does with the same commit
    with pytest.raises(OverrideError, match="not a valid slug"):
        build(repo, None, None, tmp_path / "out")


def test_a_side_that_cannot_be_rendered_is_reported(repo: DataRepo) -> None:
    base = repo.head() or ""
    bad = write(repo, {plugin_override(): override_bytes(require={"php": ">>7`<img>"})})
    result = diff(repo, base, bad)
    package = one(result)
    assert package.errors and package.links == []
    assert package.errors[0].startswith(f"cannot render at B ({bad[:12]}): overrides/plugins/")
    assert "require.php" in package.errors[0]
    line = next(x for x in text(result).splitlines() if x.startswith("- ⚠️"))
    assert line.count("`") == 2  # the backtick inside was neutralised


def test_a_hostile_name_does_not_hang_the_diff(repo: DataRepo) -> None:
    base = repo.head() or ""
    hostile = "a" * 40 + "/" + "b" * 40 + "-"
    write(repo, {plugin_override(): override_bytes(conflict={hostile: "*"})})
    start = time.perf_counter()
    package = one(diff(repo, base))
    assert time.perf_counter() - start < 2
    assert "not a Composer package name" in package.errors[0]


def test_a_prefixed_repository_and_short_revisions(new_data_repo: RepoFactory) -> None:
    data = new_data_repo(prefix="registry-data/")
    base = commit_records(data, [record("example")])
    write(data, {plugin_override(): override_bytes(abandoned=True)})
    result = diff_commits(data, base[:8], "main")
    assert result.base == base and one(result).abandoned == Change(False, True)


def test_json_format(repo: DataRepo) -> None:
    base = repo.head() or ""
    write(repo, {plugin_override(): override_bytes(versions={"1.0.0": {"yanked": True}})})
    doc: dict[str, Any] = json.loads(json.dumps(diff(repo, base).to_json()))
    assert sorted(doc) == [
        "base",
        "config_changed",
        "files_changed",
        "format",
        "head",
        "ignored_paths",
        "invalid_paths",
        "packages",
        "unchanged",
    ]
    assert doc["format"] == 1
    [package] = doc["packages"]
    assert sorted(package) == [
        "abandoned",
        "advisory",
        "blocked",
        "errors",
        "files",
        "links",
        "metadata",
        "name",
        "package",
        "slug",
        "status",
        "type",
        "versions",
    ]
    assert package["versions"] == {
        "added": [],
        "removed": [],
        "yanked": ["1.0.0"],
        "unyanked": [],
        "dist_changed": [],
    }


# --- a real sync run -----------------------------------------------------------------------


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


def test_a_real_sync_run_shows_its_releases_and_closures(
    new_data_repo: RepoFactory, replay: ReplayServer
) -> None:
    data = new_data_repo()
    first = sync_once(data, replay.base_url).commit
    assert first is not None
    released = replay.state.mutate(20, seed=4, kind="plugin")["changed"]
    closed = next(s for s in sorted(replay.state.plugins) if s not in released)
    replay.state.apply_changes([{"type": "plugin", "slug": closed, "action": "close"}])
    second = sync_once(data, replay.base_url).commit
    assert second is not None
    result = diff_commits(data, first, second)
    by_slug = {p.slug: p for p in result.packages}
    assert set(released) | {closed} == set(by_slug)
    for slug in released:
        assert len(by_slug[slug].added) == 1, by_slug[slug]
    assert by_slug[closed].status == Change("open", "closed")
    assert by_slug[closed].abandoned == Change(False, True)
