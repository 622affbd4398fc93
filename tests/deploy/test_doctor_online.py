"""``curator doctor --online``: the deployed manifest is read from real S3 (seaweedfs) and
compared with the local current build; unreachable or empty targets are named."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

from curator.build import synthetic
from curator.build.manifest import read_manifest
from curator.deploy.s3 import S3Bucket, deploy_build
from curator.doctor import Status, check_deploy, local_commit
from curator.storage.local import LocalStorage, make_build_id

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def promoted(storage: LocalStorage, label: str) -> Path:
    build_id = make_build_id(synthetic.fake_commit(label), T0)
    with storage.building(build_id) as tmp:
        synthetic.write(tmp, synthetic.package_names(5, 1, seed=3), label=label)
    return storage.promote(build_id).path


def test_online_compares_the_deployed_manifest(
    bucket: S3Bucket, s3_env: dict[str, str], tmp_path: Path
) -> None:
    target = f"s3://{bucket.bucket}/{bucket.prefix}"
    endpoint = s3_env["CURATOR_S3_ENDPOINT"]
    storage = LocalStorage(tmp_path / "storage")
    build = promoted(storage, "one")

    def online() -> tuple[Status, str]:
        commit = local_commit(storage.root)
        found = check_deploy(target, endpoint, s3_env, online=True, local_commit=commit)[-1]
        assert found.name == "online"
        return found.status, found.detail

    status, detail = online()
    assert status is Status.WARN and "holds no manifest.json" in detail  # nothing deployed yet
    deploy_build(build, bucket)
    status, detail = online()
    assert status is Status.OK and read_manifest(build).commit[:12] in detail
    promoted(storage, "two")  # a newer local build, not deployed
    status, detail = online()
    assert status is Status.WARN and "the local current build is" in detail


def test_online_names_an_unreachable_endpoint(s3_env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    checks = check_deploy("s3://curator-test/x", f"http://127.0.0.1:{port}", s3_env, online=True)
    assert checks[-1].status is Status.FAIL and "cannot read the bucket" in checks[-1].detail
