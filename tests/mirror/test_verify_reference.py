"""`curator verify --against`'s reference: the storage's build of the commit when it validates
and names this commit, tree, time and builder (no rebuild then), else a rebuild in a
temporary directory, the output saying why; `--rebuild` always rebuilds. Real git
repositories, real builds into a real storage, the CLI end to end."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from curator import canonical
from curator.build.builder import build
from curator.build.manifest import BUILDER, MANIFEST_NAME, FileCache, read_manifest
from curator.cli._app import cli
from curator.datarepo import DataRepo
from curator.signing import KEY_ENV
from curator.storage.local import LocalStorage
from tests.conftest import RepoFactory
from tests.mirror.conftest import History, seed_history


@dataclass(frozen=True)
class Setup:
    repo: DataRepo
    history: History
    storage: LocalStorage
    stored: str  # id of the stored (incremental) build of history.new
    published: Path  # a full build of history.new, as a registry publishes it
    state: Path

    def verify(self, *extra: str | Path, storage: Path | None = None) -> Result:
        args = [
            "--repo", self.repo.store.path, "verify", "--against", self.published,
            "--state", self.state, "--storage", storage or self.storage.root, *extra,
        ]  # fmt: skip
        return CliRunner().invoke(cli, [str(a) for a in args], env={KEY_ENV: ""})

    def verify_json(
        self, *extra: str | Path, storage: Path | None = None
    ) -> tuple[int, dict[str, Any]]:
        result = self.verify("--json", *extra, storage=storage)
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def setup(new_data_repo: RepoFactory, tmp_path: Path) -> Setup:
    repo = new_data_repo("data.git")
    history = seed_history(repo, None)
    storage = LocalStorage(tmp_path / "storage")
    build(repo, history.old, storage, None)
    stored = build(repo, history.new, storage, None)  # incremental from the old build
    assert stored.incremental and stored.build_id is not None
    published = build(repo, history.new, None, tmp_path / "published", full=True)
    return Setup(repo, history, storage, stored.build_id, published.path, tmp_path / "s.json")


def _p2_file(root: Path, index: int = 3) -> tuple[Path, str]:
    path = sorted((root / "p2" / "wp-plugin").glob("*.json"))[index]
    return path, path.relative_to(root).as_posix()


def _tamper(path: Path) -> None:
    """Change one byte in place (same size)."""
    data = path.read_bytes()
    assert b'"version"' in data
    path.write_bytes(data.replace(b'"version"', b'"versiom"', 1))


def _build_dir_entries(storage: LocalStorage) -> list[str]:
    return sorted(p.name for p in storage.builds_dir.iterdir())


def test_a_valid_stored_build_is_the_reference(setup: Setup) -> None:
    before = _build_dir_entries(setup.storage)
    result = setup.verify()
    assert result.exit_code == 0, result.output
    new = setup.history.new
    assert f"reference: build {setup.stored} of commit {new} (validated)" in result.output
    assert "rebuilt" not in result.output and "not using" not in result.output
    files = len(read_manifest(setup.published).files)
    assert f"every file ({files} of {files} files) identical" in result.output
    assert setup.storage.validated_path.is_file()  # validated with the storage's cache

    # A tampered published p2 file is named, still against the stored build.
    victim, rel = _p2_file(setup.published)
    expected = read_manifest(setup.published).files[rel].sha256
    _tamper(victim)
    result = setup.verify()
    assert result.exit_code == 5, result.output
    assert f"reference: build {setup.stored} of commit {new} (validated)" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("p2/")]
    assert len(lines) == 1 and lines[0].startswith(f"{rel}: sha256 is ")
    assert lines[0].endswith(f", expected {expected}")

    code, data = setup.verify_json()
    assert code == 5
    assert data["reference"] == {
        "kind": "build",
        "build": setup.stored,
        "validated": True,
        "forced": False,
        "untrusted": None,
        "seconds": data["reference"]["seconds"],
    }
    assert [(m["path"], m["problem"]) for m in data["mismatches"]] == [(rel, "sha256")]
    assert data["ok"] is False and data["commit"] == new
    # nothing was built: no new build, no temporary build directory in the storage
    assert _build_dir_entries(setup.storage) == before


def test_a_tampered_stored_build_is_not_trusted(setup: Setup) -> None:
    before = _build_dir_entries(setup.storage)
    stored_path = setup.storage.build_path(setup.stored)
    victim, rel = _p2_file(stored_path, 5)
    # built a minute ago (as a real build is), so the tampering below changes its mtime even
    # where timestamps are coarse; the cache keys files by (device, inode, size, mtime)
    built = victim.stat().st_mtime_ns - 60 * 10**9
    os.utime(victim, ns=(built, built))
    assert setup.verify().exit_code == 0  # validated once: its files are in the cache now
    cached = len(FileCache.load(setup.storage.validated_path))
    assert cached == len(read_manifest(stored_path).files)
    _tamper(victim)  # in place: same inode, same size
    result = setup.verify()
    assert result.exit_code == 0, result.output  # the published build is right
    assert f"reference: not using build {setup.stored}: it fails validation: {rel}" in (
        result.output
    )
    assert f"reference: rebuilt commit {setup.history.new} in " in result.output
    assert "(validated)" not in result.output

    # ... and the rebuild still names a tampered published file (the same one)
    _tamper(setup.published / rel)
    code, data = setup.verify_json()
    assert code == 5
    assert data["reference"]["kind"] == "rebuild" and data["reference"]["build"] is None
    assert data["reference"]["untrusted"]["build"] == setup.stored
    assert data["reference"]["untrusted"]["reason"].startswith(f"it fails validation: {rel}")
    assert [(m["path"], m["problem"]) for m in data["mismatches"]] == [(rel, "sha256")]
    # nothing was built in the storage, and the tampered build was left as it is
    assert _build_dir_entries(setup.storage) == before
    problems = setup.storage.validate(setup.stored)
    assert len(problems) == 1 and problems[0].startswith(f"{rel}: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [("builder", "curator 0.0.0-other"), ("tree", "0" * 40), ("time", "2001-01-01T00:00:00Z")],
)
def test_a_stored_build_another_build_would_not_give_is_not_trusted(
    setup: Setup, field: str, value: str
) -> None:
    """A stored build whose manifest names another tree, time or builder version (its
    files still validate: the manifest does not list itself) is not what a rebuild gives."""
    path = setup.storage.build_path(setup.stored) / MANIFEST_NAME
    manifest = canonical.loads(path.read_bytes())
    expected = manifest[field]
    assert field != "builder" or expected == BUILDER
    manifest[field] = value
    path.write_bytes(canonical.dumps(manifest))
    assert not setup.storage.validate(setup.stored)  # it validates
    result = setup.verify()
    assert result.exit_code == 0, result.output
    assert (
        f"reference: not using build {setup.stored}: its manifest names {field} {value!r}, "
        f"a rebuild gives {expected!r}"
    ) in result.output
    assert f"reference: rebuilt commit {setup.history.new} in " in result.output


def test_rebuild_forces_a_rebuild(setup: Setup) -> None:
    result = setup.verify("--rebuild")
    assert result.exit_code == 0, result.output
    assert f"reference: rebuilt commit {setup.history.new} (--rebuild) in " in result.output
    assert "not using" not in result.output and "(validated)" not in result.output
    code, data = setup.verify_json("--rebuild")
    assert code == 0 and data["ok"] is True
    assert data["reference"]["kind"] == "rebuild" and data["reference"]["forced"] is True
    assert data["reference"]["untrusted"] is None
    files = len(read_manifest(setup.published).files)
    assert data["checked"] == data["total"] == files
    result = CliRunner().invoke(cli, ["verify", "--rebuild"])
    assert result.exit_code == 2 and "need --against" in result.output


def test_without_a_stored_build_of_the_commit_it_rebuilds(setup: Setup, tmp_path: Path) -> None:
    # A storage with the old commit's build only, and a storage directory that does not exist.
    only_old = LocalStorage(tmp_path / "only-old")
    build(setup.repo, setup.history.old, only_old, None)
    for storage in (only_old.root, tmp_path / "no-storage"):
        result = setup.verify(storage=storage)
        assert result.exit_code == 0, result.output
        assert f"reference: rebuilt commit {setup.history.new} in " in result.output
        assert "not using" not in result.output and "(validated)" not in result.output
        code, data = setup.verify_json(storage=storage)
        assert code == 0 and data["reference"]["kind"] == "rebuild"
        assert data["reference"]["untrusted"] is None and data["reference"]["forced"] is False
    assert len(only_old.build_ids()) == 1  # the rebuild went to a temporary directory
    assert not (tmp_path / "no-storage").exists()  # verify creates no storage


def test_a_stored_manifest_in_another_encoding_is_not_trusted(setup: Setup) -> None:
    """Same content, other bytes: not what a rebuild writes (the published manifest is
    compared byte for byte)."""
    path = setup.storage.build_path(setup.stored) / MANIFEST_NAME
    path.write_bytes(json.dumps(canonical.loads(path.read_bytes())).encode())
    assert not setup.storage.validate(setup.stored)
    code, data = setup.verify_json()
    assert code == 0 and data["ok"] is True
    assert data["reference"]["kind"] == "rebuild"
    assert data["reference"]["untrusted"] == {
        "build": setup.stored,
        "reason": f"its {MANIFEST_NAME} is not canonically encoded",
    }
