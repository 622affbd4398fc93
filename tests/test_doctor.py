"""``curator doctor``: a healthy installation passes; each broken part is named with a fix, and
any failure exits 5 (warnings alone exit 0)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from curator import canonical
from curator.cli import cli
from curator.datarepo import MAX_PACKS, DataRepo
from curator.doctor import (
    Check,
    Status,
    check_deploy,
    check_repository,
    check_storage,
    overall,
)
from curator.layout import REGISTRY_FILE, STATE_FILE
from curator.replay import ReplayServer, ReplayState
from curator.storage.local import LocalStorage
from server.runtime.engine import default_url, make_engine
from server.runtime.migrate import downgrade


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


class Install:
    """A registry installation: data repository, storage with a promoted build, database."""

    def __init__(self, root: Path, replay: ReplayServer) -> None:
        self.data = root / "data"
        self.storage = root / "storage"
        self.run(
            "init", str(self.data), "--prefix", "", "--upstream", replay.base_url,
            "--notify-batch", "https://registry.example.org/downloads",
        )  # fmt: skip
        self.run("-q", "pipeline")
        self.run("telemetry", "migrate")

    def run(self, *args: str, code: int = 0) -> str:
        base = ["--repo", str(self.data), "--storage", str(self.storage)]
        result = CliRunner().invoke(cli, [*base, *args], env={"CURATOR_DEPLOY_TO": ""})
        assert result.exit_code == code, result.output
        return result.output

    def doctor(self, *args: str, code: int = 0) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.run("doctor", "--json", *args, code=code))
        report["by_name"] = {f"{c['area']} {c['name']}": c for c in report["checks"]}
        return report

    @property
    def build(self) -> Path:
        path = LocalStorage(self.storage).current_path()
        assert path is not None
        return path

    def commit(self, changes: dict[str, bytes | None]) -> None:
        repo = DataRepo.open(self.data)
        try:
            repo.commit(
                parent=repo.head(),
                changes=changes,
                message="test: edit\n",
                author="t <t@example.org>",
                timestamp=int(time.time()),
            )
        finally:
            repo.store.close()


@pytest.fixture
def install(tmp_path: Path, replay: ReplayServer) -> Install:
    return Install(tmp_path, replay)


def failed(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: c for k, c in report["by_name"].items() if c["status"] == "fail"}


def test_a_healthy_installation_passes(install: Install) -> None:
    report = install.doctor()
    assert report["status"] == "ok", [c for c in report["checks"] if c["status"] != "ok"]
    names = set(report["by_name"])
    assert {
        "configuration registry.json", "repository open", "repository objects",
        "repository prefix", "repository state", "repository packs", "repository last sync",
        "storage directory", "storage current", "storage current build", "storage disk",
        "database connect", "database migrations", "database journal", "deploy target",
    } <= names  # fmt: skip
    assert all(c["fix"] is None for c in report["checks"])
    assert "29 packages" in report["by_name"]["storage current build"]["detail"]
    full = install.doctor("--full")["by_name"]["storage current build"]
    assert full["status"] == "ok" and "every file hashed" in full["detail"]
    text = install.run("doctor")
    assert text.splitlines()[-1].startswith("ok: ") and "0 failures" in text


def test_a_missing_current_symlink_fails(install: Install) -> None:
    (install.storage / "repository" / "current").unlink()
    report = install.doctor(code=5)
    assert report["status"] == "fail"
    current = failed(report)["storage current"]
    assert "current` symlink is missing" in current["detail"]
    assert "curator pipeline" in current["fix"]
    text = install.run("doctor", code=5)
    assert "FAIL  storage current" in text and "fix: run `curator pipeline`" in text


def test_current_pointing_at_a_missing_build_fails(install: Install) -> None:
    build = install.build
    build.rename(build.with_name("gone"))
    current = failed(install.doctor(code=5))["storage current"]
    assert f"{build.name}, which is missing" in current["detail"]
    assert "curator rollback" in current["fix"]


def test_a_corrupted_manifest_fails(install: Install) -> None:
    (install.build / "manifest.json").write_text('{"format": 1, "commit": ')
    found = failed(install.doctor(code=5))["storage current build"]
    assert "manifest.json is not JSON" in found["detail"] and "curator rollback" in found["fix"]


def test_a_changed_root_file_fails_and_a_changed_p2_file_needs_full(install: Install) -> None:
    p2 = next((install.build / "p2" / "wp-plugin").glob("*.json"))
    os.chmod(p2, 0o644)
    p2.write_text("{}")
    assert install.doctor()["status"] == "ok"  # cheap: root files only
    found = failed(install.doctor("--full", code=5))["storage current build"]
    assert f"p2/wp-plugin/{p2.name}" in found["detail"]
    packages = install.build / "packages.json"
    os.chmod(packages, 0o644)
    packages.write_text('{"packages": []}')
    found = failed(install.doctor(code=5))["storage current build"]
    assert "packages.json: content differs from manifest.json" in found["detail"]


def test_a_database_behind_the_migrations_fails(install: Install) -> None:
    engine = make_engine(default_url(install.storage))
    downgrade(engine, "0001")
    engine.dispose()
    found = failed(install.doctor(code=5))["database migrations"]
    assert "behind the newest" in found["detail"]
    assert "curator telemetry migrate" in found["fix"]
    install.run("telemetry", "migrate")
    assert install.doctor()["status"] == "ok"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "registry.json"),
        (b'{"vendors": {"plugin": "wp", "theme": "wp"}}\n', "vendors must differ"),
        (b'{"upstream": {"api": "ftp://example.org"}}\n', "upstream URLs"),
        (b'{"surprise": 1}\n', "surprise"),
    ],
)
def test_a_bad_registry_json_fails(install: Install, content: bytes, message: str) -> None:
    install.commit({REGISTRY_FILE: content})
    found = failed(install.doctor(code=5))["configuration registry.json"]
    assert message in found["detail"] and "correct registry.json" in found["fix"]


def test_a_bad_state_file_fails(install: Install) -> None:
    install.commit({STATE_FILE: b'{"plugin": {"revision": "yesterday"}}\n'})
    found = failed(install.doctor(code=5))["repository state"]
    assert "state/sync.json" in found["detail"] and "earlier commit" in found["fix"]


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as an ordinary user: as root, with the effective uid of ``nobody`` (root
    may write anywhere, an unwritable directory needs an ordinary user)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_unwritable_storage_fails() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        os.chmod(scratch, 0o755)  # traversable by the unprivileged user
        storage = Path(scratch) / "storage"
        storage.mkdir(mode=0o555)
        try:
            with unprivileged():
                checks = {c.name: c for c in check_storage(storage)}
        finally:
            os.chmod(storage, 0o755)
    directory = checks["directory"]
    assert directory.status is Status.FAIL and "is not writable" in directory.detail
    assert directory.fix is not None and "ReadWritePaths" in directory.fix


def test_storage_that_is_missing_or_not_a_directory_fails(tmp_path: Path) -> None:
    (missing,) = check_storage(tmp_path / "nowhere")
    assert missing.status is Status.FAIL and "does not exist" in missing.detail
    (tmp_path / "file").write_text("x")
    (not_dir,) = check_storage(tmp_path / "file")
    assert not_dir.status is Status.FAIL and "not a directory" in not_dir.detail


def test_little_free_disk_space_fails_or_warns(install: Install) -> None:
    huge = 1 << 60
    disk = {c.name: c for c in check_storage(install.storage, free_fail=huge)}["disk"]
    assert disk.status is Status.FAIL and "curator cleanup" in str(disk.fix)
    disk = {c.name: c for c in check_storage(install.storage, free_warn=huge)}["disk"]
    assert disk.status is Status.WARN


def test_old_data_and_an_old_sync_are_warnings(install: Install) -> None:
    later = time.time() + 3 * 86400
    repo = {c.name: c for c in check_repository(install.data, None, None, now=lambda: later)}
    assert repo["last sync"].status is Status.WARN and "3.0 days ago" in repo["last sync"].detail
    assert "curator-pipeline" in str(repo["last sync"].fix)
    storage = {c.name: c for c in check_storage(install.storage, now=lambda: later)}
    assert storage["current build"].status is Status.WARN


def test_warnings_alone_exit_zero(install: Install) -> None:
    install.commit({REGISTRY_FILE: b"{}\n"})  # valid, but Composer reports no installs
    report = install.doctor()
    assert report["status"] == "warn"
    config = report["by_name"]["configuration registry.json"]
    assert config["status"] == "warn" and "notify_batch" in config["fix"]


def test_a_missing_or_wrong_repository_fails(tmp_path: Path, install: Install) -> None:
    (found,) = check_repository(tmp_path / "nowhere", None, None)
    assert found.status is Status.FAIL and found.name == "open"
    assert "curator init" in str(found.fix)
    checks = {c.name: c for c in check_repository(install.data, "registry-data/", None)}
    assert checks["prefix"].status is Status.FAIL and "--prefix" in str(checks["prefix"].fix)
    (head,) = check_repository(install.data, None, "refs/heads/nope")
    assert head.status is Status.FAIL and head.name == "head"


def test_many_packs_are_a_warning(install: Install) -> None:
    for n in range(MAX_PACKS + 1):
        install.commit({f"packages/plugins/zz/zz-{n}.json": None, "notes.txt": f"{n}\n".encode()})
    packs = {c.name: c for c in check_repository(install.data, None, None)}["packs"]
    assert packs.status is Status.WARN and "repack" in str(packs.fix)


def test_no_sync_run_yet_is_a_warning(tmp_path: Path, replay: ReplayServer) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "d"), "--prefix", ""])
    assert result.exit_code == 0, result.output
    last = {c.name: c for c in check_repository(tmp_path / "d", None, None)}["last sync"]
    assert last.status is Status.WARN and "no sync run" in last.detail


# --- deploy settings -----------------------------------------------------------------------


def deploy(target: str | None, env: dict[str, str], endpoint: str | None = None) -> list[Check]:
    return check_deploy(target, endpoint, {"HOME": "/nonexistent", **env})


def test_deploy_settings() -> None:
    creds = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}
    assert [c.status for c in deploy(None, {})] == [Status.OK]
    good = deploy("s3://my-bucket/registry", creds, "https://acct.r2.cloudflarestorage.com")
    assert overall(good) is Status.OK and "AKIA..." in good[-1].detail
    assert "secret" not in json.dumps([c.to_json() for c in good])
    (bad,) = deploy("my-bucket/registry", creds)
    assert bad.status is Status.FAIL and "s3://BUCKET/PREFIX" in str(bad.fix)
    (bad,) = deploy("s3://Bad_Bucket/x", creds)
    assert bad.status is Status.FAIL
    endpoint = deploy("s3://b-1/x", creds, "r2.example.org")[-1]
    assert endpoint.name == "endpoint" and endpoint.status is Status.FAIL
    half = deploy("s3://b-1/x", {"AWS_ACCESS_KEY_ID": "AKIA"})[-1]
    assert half.status is Status.FAIL and "AWS_SECRET_ACCESS_KEY is not set" in half.detail
    none = deploy("s3://b-1/x", {})[-1]
    assert none.status is Status.FAIL and "no S3 credentials" in none.detail


def test_deploy_credentials_from_a_profile(tmp_path: Path) -> None:
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = x\naws_secret_access_key = y\n")
    found = deploy("s3://b-1/x", {"AWS_SHARED_CREDENTIALS_FILE": str(shared)})[-1]
    assert found.status is Status.OK and "profile" in found.detail


def test_the_cli_checks_the_deploy_target_from_the_environment(install: Install) -> None:
    base = ["--repo", str(install.data), "--storage", str(install.storage)]
    env = {"CURATOR_DEPLOY_TO": "not-a-url", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    result = CliRunner().invoke(cli, [*base, "doctor", "--json"], env=env)
    assert result.exit_code == 5
    report = json.loads(result.output)
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["target"]


def test_doctor_changes_nothing(install: Install) -> None:
    before = sorted(
        (str(p.relative_to(install.storage)), p.stat().st_mtime_ns)
        for p in install.storage.rglob("*")
        if p.is_file() and "-wal" not in p.name and "-shm" not in p.name
    )
    repo = DataRepo.open(install.data)
    head = repo.head()
    repo.store.close()
    install.doctor("--full")
    after = sorted(
        (str(p.relative_to(install.storage)), p.stat().st_mtime_ns)
        for p in install.storage.rglob("*")
        if p.is_file() and "-wal" not in p.name and "-shm" not in p.name
    )
    assert after == before
    repo = DataRepo.open(install.data)
    assert repo.head() == head
    repo.store.close()
    assert canonical.loads((install.build / "manifest.json").read_bytes())["commit"] == head
