"""The builder on real git data repositories: reproducible, pinned to one commit, incremental
builds identical to full ones, failures that leave nothing behind, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import curator.build.builder as builder
from curator import canonical
from curator.build.builder import BuildResult, PreviousBuild, build
from curator.build.manifest import BUILDER, Manifest, read_manifest, validate_build
from curator.build.overrides import OverrideError
from curator.build.render import ConfigError
from curator.build.seed import commit_records, record_from_line
from curator.cli._context import Settings
from curator.cli.build_cmd import build as build_cli
from curator.datarepo import DataError, DataRepo
from curator.layout import REGISTRY_FILE, PackageType, override_path, package_path
from curator.models import RegistryConfig
from curator.records import encode
from curator.storage.local import LocalStorage
from tests.build.conftest import assert_same_tree, record, tree_files
from tests.conftest import RepoFactory

P = PackageType.PLUGIN
GOOD_OVERRIDE = {"reason": "php 8 breaks it", "author": "trustee", "date": "2026-11-01"}


def seed(repo: DataRepo, lines: list[tuple[PackageType, bytes]]) -> str:
    records = [record_from_line(kind, line) for kind, line in lines]
    return commit_records(repo, [r for r in records if r is not None])


def override_bytes(**fields: Any) -> bytes:
    return canonical.dumps({**GOOD_OVERRIDE, **fields})


def p2_doc(directory: Path, name: str, dev: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(
        (directory / "p2" / f"{name}{'~dev' if dev else ''}.json").read_bytes()
    )
    return data


def names(directory: Path) -> list[str]:
    listed: list[str] = orjson.loads((directory / "list.json").read_bytes())["packageNames"]
    return listed


@pytest.fixture
def repo(new_data_repo: RepoFactory, sample_lines: list[tuple[PackageType, bytes]]) -> DataRepo:
    data = new_data_repo()
    seed(data, sample_lines)
    return data


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def full_build(repo: DataRepo, commit: str | None, where: Path) -> BuildResult:
    return build(repo, commit, None, where, full=True)


# --- full builds ---------------------------------------------------------------------------


def test_a_full_build_is_a_valid_static_repository(repo: DataRepo, storage: LocalStorage) -> None:
    result = build(repo, None, storage, None)
    assert not result.incremental and result.build_id is not None
    assert result.path == storage.build_path(result.build_id)
    assert validate_build(result.path) == []
    manifest = read_manifest(result.path)
    commit = next(repo.store.log(repo.head(), max_count=1))
    assert manifest.commit == repo.head() == result.commit
    assert manifest.tree == commit.tree
    assert manifest.builder == BUILDER
    when = dt.datetime.fromtimestamp(commit.timestamp, dt.UTC)
    assert manifest.time == when.strftime("%Y-%m-%dT%H:%M:%SZ") == result.time
    assert result.build_id == f"{when:%Y%m%dT%H%M%SZ}-{repo.head()[:12]}"  # type: ignore[index]
    counts = manifest.counts
    assert counts == result.counts
    assert counts["packages"] == len(names(result.path)) == counts["plugins"] + counts["themes"]
    assert counts["themes"] == 5 and counts["plugins"] == 24  # 26 plugins, 2 closed unseen
    assert counts["files"] == len(manifest.files) == 2 * 31 + 4  # + the 4 root files
    assert counts["skipped_versions"] == len(
        orjson.loads((result.path / "report.json").read_bytes())["skipped_versions"]
    )
    # the manifest is the canonical encoding of the model
    assert (result.path / "manifest.json").read_bytes() == Manifest.model_validate(
        manifest.model_dump()
    ).to_bytes()
    assert storage.promote(result.build_id).valid


def test_two_builds_of_one_commit_are_byte_identical(
    repo: DataRepo, storage: LocalStorage, tmp_path: Path
) -> None:
    a = build(repo, None, storage, None)
    b = full_build(repo, None, tmp_path / "b")
    assert_same_tree(a.path, b.path)
    again = build(repo, None, storage, None)
    assert again.existing and again.path == a.path and again.counts == a.counts


def test_a_build_reads_only_its_commit(repo: DataRepo, tmp_path: Path) -> None:
    old = repo.head()
    commit_records(repo, [record("brand-new")])
    at_old = full_build(repo, old, tmp_path / "old")
    at_new = full_build(repo, None, tmp_path / "new")
    assert "wp-plugin/brand-new" not in names(at_old.path)
    assert "wp-plugin/brand-new" in names(at_new.path)
    assert at_old.commit == old


def test_a_data_tree_under_a_prefix_builds_the_same(
    new_data_repo: RepoFactory,
    sample_lines: list[tuple[PackageType, bytes]],
    repo: DataRepo,
    tmp_path: Path,
) -> None:
    prefixed = new_data_repo("prefixed", prefix="registry-data/")
    seed(prefixed, sample_lines)
    a = full_build(repo, None, tmp_path / "a")
    b = full_build(prefixed, None, tmp_path / "b")
    fa, fb = tree_files(a.path), tree_files(b.path)
    fa.pop("manifest.json"), fb.pop("manifest.json")
    fa.pop("report.json"), fb.pop("report.json")  # names the prefix it read
    assert fa == fb


# --- incremental builds --------------------------------------------------------------------


def change_a_bit_of_everything(repo: DataRepo) -> set[str]:
    """One commit that adds, changes and deletes records and adds an override."""
    akismet = record("akismet", version="5.4.0", versions={
        "5.3.2": "https://downloads.wordpress.org/plugin/akismet.5.3.2.zip",
        "5.4.0": "https://downloads.wordpress.org/plugin/akismet.5.4.0.zip",
    })  # fmt: skip
    commit_records(
        repo,
        [akismet, record("fresh-plugin")],
        extra={
            package_path(P, "karaoke-embed"): None,
            override_path(P, "hello-dolly"): override_bytes(require={"php": ">=8.0"}),
        },
    )
    return {"wp-plugin/akismet", "wp-plugin/fresh-plugin", "wp-plugin/hello-dolly"}


def test_an_incremental_build_equals_a_full_build(
    repo: DataRepo, storage: LocalStorage, tmp_path: Path
) -> None:
    first = build(repo, None, storage, None)
    change_a_bit_of_everything(repo)
    second = build(repo, None, storage, None)
    assert second.incremental and second.previous == first.commit
    assert second.rendered == 3  # akismet, fresh-plugin, hello-dolly (karaoke-embed is gone)
    assert second.reused == first.counts["files"] - 4 - 2 * 3
    full = full_build(repo, None, tmp_path / "full")
    assert_same_tree(second.path, full.path)
    assert second.counts == full.counts
    listed = names(second.path)
    assert "wp-plugin/karaoke-embed" not in listed and "wp-plugin/fresh-plugin" in listed
    assert not (second.path / "p2/wp-plugin/karaoke-embed.json").exists()
    trunk = p2_doc(second.path, "wp-plugin/hello-dolly", dev=True)["packages"]
    assert trunk["wp-plugin/hello-dolly"][0]["require"]["php"] == ">=8.0"
    assert validate_build(second.path) == []


def test_linking_in_a_separate_process_gives_the_same_build(
    repo: DataRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder, "LINKER_MIN", 1)
    first = full_build(repo, None, tmp_path / "first")
    change_a_bit_of_everything(repo)
    previous = PreviousBuild(first.path, first.commit)
    second = build(repo, None, None, tmp_path / "second", previous=previous)
    assert second.incremental and "link" in second.timings
    assert_same_tree(second.path, full_build(repo, None, tmp_path / "full").path)
    # a file missing from the previous build: the linker fails, a full build follows
    commit_records(repo, [record("yet-another")])
    (first.path / "p2/wp-plugin/classic-editor.json").unlink()
    third = build(repo, None, None, tmp_path / "third", previous=previous)
    assert not third.incremental and "cannot link" in (third.full_reason or "")
    assert "No such file" in (third.full_reason or "")
    assert validate_build(third.path) == []


def test_incremental_builds_never_write_into_the_previous_build(
    repo: DataRepo, storage: LocalStorage
) -> None:
    first = build(repo, None, storage, None)
    before = tree_files(first.path)
    change_a_bit_of_everything(repo)
    second = build(repo, None, storage, None)
    assert tree_files(first.path) == before and validate_build(first.path) == []
    changed = second.path / "p2/wp-plugin/akismet.json"
    kept = second.path / "p2/wp-plugin/classic-editor.json"
    assert changed.stat().st_nlink == 1
    assert kept.stat().st_ino == (first.path / "p2/wp-plugin/classic-editor.json").stat().st_ino
    for path in ("packages.json", "list.json", "report.json", "manifest.json"):
        assert (second.path / path).stat().st_nlink == 1


def test_chained_incremental_builds_stay_identical_to_full_ones(
    repo: DataRepo, storage: LocalStorage, tmp_path: Path
) -> None:
    build(repo, None, storage, None)
    for step in range(3):
        commit_records(repo, [record(f"step-{step}"), record("example", revision=step)])
        if step == 1:
            commit_records(repo, [], extra={override_path(P, "example"): override_bytes()})
        if step == 2:
            commit_records(repo, [], extra={override_path(P, "example"): None})
        result = build(repo, None, storage, None)
        assert result.incremental
        assert_same_tree(result.path, full_build(repo, None, tmp_path / f"full-{step}").path)


def test_a_registry_change_rebuilds_everything(
    repo: DataRepo, storage: LocalStorage, tmp_path: Path
) -> None:
    build(repo, None, storage, None)
    config = RegistryConfig(public_url="https://composer.example.org")
    commit_records(repo, [], extra={REGISTRY_FILE: canonical.dumps(config.model_dump(mode="json"))})
    result = build(repo, None, storage, None)
    assert not result.incremental and result.full_reason == "registry.json changed"
    packages = orjson.loads((result.path / "packages.json").read_bytes())
    assert packages["metadata-url"] == "https://composer.example.org/p2/%package%.json"
    assert_same_tree(result.path, full_build(repo, None, tmp_path / "full").path)


def test_an_unusable_previous_build_falls_back_to_a_full_build(
    repo: DataRepo, tmp_path: Path
) -> None:
    first = full_build(repo, None, tmp_path / "first")
    commit_records(repo, [record("another")])
    wrong = build(repo, None, None, tmp_path / "a", previous=PreviousBuild(first.path, "0" * 40))
    assert not wrong.incremental and "another commit" in (wrong.full_reason or "")
    (tmp_path / "broken").mkdir()
    broken = build(
        repo, None, None, tmp_path / "b", previous=PreviousBuild(tmp_path / "broken", "0" * 40)
    )
    assert not broken.incremental and "cannot be read" in (broken.full_reason or "")
    good = build(repo, None, None, tmp_path / "c", previous=PreviousBuild(first.path, first.commit))
    assert good.incremental
    assert_same_tree(good.path, wrong.path)


def test_an_unknown_previous_commit_falls_back(
    repo: DataRepo, new_data_repo: RepoFactory, tmp_path: Path
) -> None:
    other = new_data_repo("other")
    commit_records(other, [record("only-here")])
    foreign = full_build(other, None, tmp_path / "foreign")
    result = build(
        repo, None, None, tmp_path / "x", previous=PreviousBuild(foreign.path, foreign.commit)
    )
    assert not result.incremental and "cannot diff" in (result.full_reason or "")


# --- failures ------------------------------------------------------------------------------


def leftovers(storage: LocalStorage) -> list[str]:
    if not storage.builds_dir.exists():
        return []
    return sorted(os.listdir(storage.builds_dir))


def test_a_bad_override_fails_the_build_and_leaves_nothing(
    repo: DataRepo, storage: LocalStorage, tmp_path: Path
) -> None:
    bad = override_bytes(versions={"5.3.2": {"require": {"php": ">>7"}}})
    commit_records(repo, [], extra={override_path(P, "akismet"): bad})
    with pytest.raises(OverrideError) as info:
        build(repo, None, storage, None)
    assert str(info.value) == (
        'overrides/plugins/akismet.json: versions."5.3.2".require.php: invalid constraint ">>7"'
    )
    assert leftovers(storage) == []
    with pytest.raises(OverrideError):
        build(repo, None, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_bad_override_fails_an_incremental_build_too(
    repo: DataRepo, storage: LocalStorage
) -> None:
    first = build(repo, None, storage, None)
    commit_records(repo, [], extra={override_path(P, "akismet"): b'{"reason": "x"}'})
    with pytest.raises(OverrideError, match=r"overrides/plugins/akismet.json: author: Field"):
        build(repo, None, storage, None)
    assert leftovers(storage) == [first.build_id]


def test_a_badly_named_override_file_is_an_error(repo: DataRepo, tmp_path: Path) -> None:
    commit_records(repo, [], extra={"overrides/plugins/Bad Name.json": override_bytes()})
    with pytest.raises(OverrideError, match="not a valid slug"):
        full_build(repo, None, tmp_path / "x")


def test_an_invalid_record_names_its_file(repo: DataRepo, tmp_path: Path) -> None:
    commit_records(repo, [], extra={package_path(P, "broken"): b'{"slug": "broken"}'})
    with pytest.raises(DataError, match=r"^packages/plugins/br/broken.json: "):
        full_build(repo, None, tmp_path / "x")
    wrong = encode(record("other-slug"))
    commit_records(repo, [], extra={package_path(P, "broken"): wrong})
    with pytest.raises(DataError, match="its path says plugin 'broken'"):
        full_build(repo, None, tmp_path / "y")


def test_an_unusable_registry_fails(repo: DataRepo, tmp_path: Path) -> None:
    config = RegistryConfig(public_url="not a url")
    commit_records(repo, [], extra={REGISTRY_FILE: canonical.dumps(config.model_dump(mode="json"))})
    with pytest.raises(ConfigError, match="public_url"):
        full_build(repo, None, tmp_path / "x")


def test_out_must_be_new_or_empty(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        full_build(repo, None, tmp_path / "full")
    (tmp_path / "empty").mkdir()
    assert validate_build(full_build(repo, None, tmp_path / "empty").path) == []


def test_orphan_overrides_are_reported_until_their_package_appears(
    repo: DataRepo, storage: LocalStorage, tmp_path: Path
) -> None:
    commit_records(repo, [], extra={override_path(P, "later"): override_bytes(abandoned=True)})
    first = build(repo, None, storage, None)
    notes = orjson.loads((first.path / "report.json").read_bytes())["notes"]
    assert any(n["package"] == "wp-plugin/later" and n["field"] == "override" for n in notes)
    commit_records(repo, [record("later")])
    second = build(repo, None, storage, None)
    assert second.incremental
    entries = p2_doc(second.path, "wp-plugin/later")["packages"]["wp-plugin/later"]
    assert entries[0]["abandoned"] is True
    assert_same_tree(second.path, full_build(repo, None, tmp_path / "full").path)


# --- worker processes ----------------------------------------------------------------------


def test_worker_processes_give_the_same_bytes(
    repo: DataRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = full_build(repo, None, tmp_path / "alone")
    monkeypatch.setattr(builder, "PARALLEL_MIN", 1)
    monkeypatch.setattr(builder, "_workers", lambda: 3)
    shared = full_build(repo, None, tmp_path / "shared")
    assert_same_tree(alone.path, shared.path)
    bad = override_bytes(versions={"9.9": {}})
    commit_records(repo, [], extra={override_path(P, "akismet"): bad})
    with pytest.raises(OverrideError, match=r'versions."9.9": no such version'):
        full_build(repo, None, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_progress_counts_up_to_every_package(
    repo: DataRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``progress(rendered, total)`` climbs to the total, in-process, across worker processes
    (their stdout lines added up) and in an incremental build (the changed packages)."""
    monkeypatch.setattr(builder, "PROGRESS_EVERY", 2)

    def watch(out: Path, **kwargs: Any) -> tuple[Any, list[tuple[int, int]]]:
        seen: list[tuple[int, int]] = []
        lock = threading.Lock()

        def progress(done: int, total: int) -> None:
            with lock:
                seen.append((done, total))

        return build(repo, None, None, out, progress=progress, **kwargs), seen

    alone, seen = watch(tmp_path / "alone")
    total = seen[-1][1]
    assert seen[-1] == (total, total) and total >= alone.rendered > 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 2

    monkeypatch.setattr(builder, "PARALLEL_MIN", 1)
    monkeypatch.setattr(builder, "_workers", lambda: 3)
    shared, seen = watch(tmp_path / "shared")
    assert seen[-1] == (total, total) and len(seen) > 2  # every worker's lines, summed
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert_same_tree(alone.path, shared.path)

    commit_records(repo, [record("progress-one"), record("progress-two")])
    later, seen = watch(tmp_path / "later", previous=PreviousBuild(alone.path, alone.commit))
    assert later.incremental and seen[-1] == (2, 2)


# --- the command ---------------------------------------------------------------------------


def run_cli(repo: DataRepo, storage: Path, *args: str) -> Any:
    settings = Settings(
        repo=repo.store.path, prefix=repo.prefix, ref=None, verbose=0, quiet=False, storage=storage
    )
    return CliRunner().invoke(build_cli, list(args), obj=settings, catch_exceptions=False)


def test_the_build_command(repo: DataRepo, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    first = run_cli(repo, storage)
    assert first.exit_code == 0, first.output
    assert "full" in first.output and "skipped  " in first.output
    commit_records(repo, [record("cli-added")])
    second = run_cli(repo, storage, "--json")
    assert second.exit_code == 0, second.output
    data = json.loads(second.output)
    assert data["incremental"] is True and data["rendered"] == 1
    assert data["commit"] == repo.head() and data["skipped_versions"] >= 1
    assert {"build_id", "counts", "seconds", "path"} <= set(data)
    out = run_cli(repo, storage, "--out", str(tmp_path / "out"), "--commit", data["commit"][:12])
    assert out.exit_code == 0, out.output
    assert validate_build(tmp_path / "out") == []


def test_the_build_command_exits_5_naming_the_override(repo: DataRepo, tmp_path: Path) -> None:
    bad = override_bytes(require={"php": ">>7"})
    commit_records(repo, [], extra={override_path(P, "akismet"): bad})
    result = run_cli(repo, tmp_path / "storage")
    assert result.exit_code == 5
    assert 'overrides/plugins/akismet.json: require.php: invalid constraint ">>7"' in (
        result.output
    )
    assert not (tmp_path / "storage" / "repository" / "builds").exists() or not os.listdir(
        tmp_path / "storage" / "repository" / "builds"
    )
