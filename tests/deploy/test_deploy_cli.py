"""The deploy, rollback, cleanup, verify and builds commands, locally and against real S3."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner, Result

from curator.build import synthetic
from curator.build.manifest import MANIFEST_NAME, read_manifest
from curator.cli._context import Settings
from curator.cli.deploy_cmds import builds, cleanup, deploy, rollback, verify
from curator.deploy.s3 import S3Bucket
from curator.storage.local import LocalStorage, make_build_id

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NAMES = synthetic.package_names(20, 2, seed=11)
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
_labels = itertools.count()


@click.group()
@click.option("--storage", type=click.Path(path_type=Path))
@click.pass_context
def cli(ctx: click.Context, storage: Path | None) -> None:
    """Stands in for the curator group: its context object is a Settings."""
    ctx.obj = Settings(repo=None, prefix=None, ref=None, verbose=0, quiet=True, storage=storage)


for command in (deploy, rollback, cleanup, verify, builds):
    cli.add_command(command)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add(storage: LocalStorage, minutes: int) -> str:
    label = f"cli-{next(_labels)}"
    build_id = make_build_id(synthetic.fake_commit(label), T0 + dt.timedelta(minutes=minutes))
    with storage.building(build_id) as tmp:
        synthetic.write(tmp, NAMES, label=label)
    return build_id


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def test_deploy_promotes_the_newest_valid_build(storage: LocalStorage) -> None:
    a, b = add(storage, 0), add(storage, 1)
    s = str(storage.root)
    result = run("--storage", s, "deploy")
    assert result.exit_code == 0, result.stdout
    assert f"promoted {b}" in result.stdout
    assert storage.current() == b

    assert run("--storage", s, "deploy", a).exit_code == 0
    assert storage.current() == a

    victim = sorted((storage.builds_dir / b / "p2" / "wp-plugin").iterdir())[0]
    victim.write_bytes(b"[]")
    result = run("--storage", s, "deploy", b)
    assert result.exit_code == 1
    assert victim.name in result.stderr
    assert storage.current() == a
    assert run("--storage", s, "deploy").exit_code == 0  # skips the invalid newest
    assert storage.current() == a

    result = run("--storage", s, "deploy", "20990101T000000Z-000000000000")
    assert result.exit_code == 2
    assert "no build" in result.stderr


def test_storage_option_on_the_command_and_empty_storage(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(deploy, ["--storage", str(tmp_path / "empty")])
    assert result.exit_code == 5
    assert "no valid build" in result.stderr
    result = CliRunner().invoke(deploy, ["--storage", str(tmp_path / "none")])
    assert result.exit_code == 5
    assert f"storage directory {tmp_path / 'none'} does not exist" in result.stderr


def test_rollback_and_cleanup(storage: LocalStorage) -> None:
    ids = [add(storage, i) for i in range(4)]
    s = str(storage.root)
    for build_id in ids[1:3]:
        assert run("--storage", s, "deploy", build_id).exit_code == 0
    result = run("--storage", s, "rollback")
    assert result.exit_code == 0
    assert f"current is now {ids[1]}" in result.stdout
    assert run("--storage", s, "rollback").exit_code == 5  # nothing before ids[1]
    assert run("--storage", s, "rollback", ids[2]).exit_code == 0
    result = run("--storage", s, "cleanup", "--keep", "0")
    assert result.exit_code == 0
    assert result.stdout.split() == ["removed", ids[0], "removed", ids[3]]
    assert storage.build_ids() == ids[1:3]
    result = run("--storage", s, "builds")
    assert result.stdout.splitlines()[1].startswith(f"* {ids[2]}")


def test_verify_local_builds_and_directories(storage: LocalStorage, tmp_path: Path) -> None:
    a = add(storage, 0)
    s = str(storage.root)
    assert run("--storage", s, "verify").exit_code == 2  # nothing promoted yet
    run("--storage", s, "deploy")
    result = run("--storage", s, "verify")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"ok: {storage.builds_dir / a} matches")

    path = storage.builds_dir / a
    other = tmp_path / "other"
    synthetic.write(other, NAMES[1:], label="other")
    result = run("verify", "--dir", str(path), "--manifest", str(other / MANIFEST_NAME))
    assert result.exit_code == 1
    assert f"p2/{NAMES[0]}.json: not in the manifest" in result.stdout
    assert "manifest.json: names commit" in result.stdout

    (path / "list.json").write_bytes(b"{}")
    result = run("--storage", s, "verify", "--build", a)
    assert result.exit_code == 1
    assert result.stdout.startswith("list.json: size ")
    assert "1 mismatch" in result.stderr or "mismatch(es)" in result.stderr

    assert run("verify", "--build", a, "--dir", str(path)).exit_code == 2


def test_deploy_and_verify_a_bucket(
    storage: LocalStorage,
    s3_client: S3Client,
    bucket: S3Bucket,
    s3_env: dict[str, str],
) -> None:
    add(storage, 0)
    b = add(storage, 1)
    s = str(storage.root)
    url = f"s3://{bucket.bucket}/{bucket.prefix}"
    run("--storage", s, "deploy")

    result = run("--storage", s, "deploy", "--to", url, "--dry-run")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("would upload 48 of 48 files")
    assert bucket.listing() == {}

    result = run("--storage", s, "deploy", "--to", url, "--grace-hours", "1")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("uploaded 48 of 48 files")
    assert "listed the bucket" in result.stdout  # a first deploy lists the prefix
    assert bucket.get(MANIFEST_NAME) == (storage.builds_dir / b / MANIFEST_NAME).read_bytes()

    result = run("--storage", s, "deploy", "--to", url)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("uploaded 0 of 48 files")
    assert "no listing needed" in result.stdout
    result = run("--storage", s, "deploy", "--to", url, "--rescan", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["scanned"] is True
    assert run("--storage", s, "deploy", "--rescan").exit_code == 2  # needs --to

    result = run("verify", "--bucket", url, "--endpoint-url", s3_env["CURATOR_S3_ENDPOINT"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert read_manifest(storage.builds_dir / b).commit in result.stdout

    s3_client.put_object(Bucket=bucket.bucket, Key=bucket.key("list.json"), Body=b"{}")
    result = run("verify", "--bucket", url)
    assert result.exit_code == 1
    assert result.stdout.startswith("list.json: size is 2")

    assert run("deploy", "--to", "not-a-url").exit_code == 2
    result = run("--storage", s, "deploy", "--to", "s3://no-such-bucket-cli/x")
    assert result.exit_code == 5
    assert "no-such-bucket-cli" in result.stderr
