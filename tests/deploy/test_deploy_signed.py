"""Signed builds on deploy targets: manifest.json.sig goes up last, right after manifest.json
(only when it changed), a signature of another manifest is never published, and the
verifiers of deployed copies do not mistake it for an extra file."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from curator.build import synthetic
from curator.build.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    file_entry,
    validate_build,
)
from curator.deploy import plan
from curator.deploy.plan import FileKind, Phase, plan_uploads
from curator.deploy.s3 import DeployError, S3Bucket, deploy_build
from curator.deploy.verify import verify_bucket, verify_directory
from curator.signing import generate_key, sign_build, verify_manifest

NAMES = synthetic.package_names(20, 2, seed=11)
KEY = generate_key()


def signed_build(directory: Path, label: str) -> Manifest:
    manifest = synthetic.write(directory, NAMES, label=label)
    sign_build(directory, KEY)
    return manifest


def test_the_signature_is_its_own_last_phase() -> None:
    assert plan.file_kind(SIGNATURE_NAME) is FileKind.SIGNATURE
    assert plan.phase(SIGNATURE_NAME) is Phase.SIGNATURE
    assert max(Phase) == Phase.SIGNATURE
    policy = plan.policy(SIGNATURE_NAME)
    assert policy.content_type == "application/json"
    assert "must-revalidate" in policy.cache_control
    new = {
        "p2/a.json": file_entry(b"a"),
        MANIFEST_NAME: file_entry(b"m"),
        SIGNATURE_NAME: file_entry(b"s"),
    }
    assert plan_uploads(new, None).uploads == ["p2/a.json", MANIFEST_NAME, SIGNATURE_NAME]


def test_a_signed_build_deploys_its_signature_last(bucket: S3Bucket, tmp_path: Path) -> None:
    m1 = signed_build(tmp_path / "b1", "one")
    assert validate_build(tmp_path / "b1") == []
    order: list[str] = []
    lock = threading.Lock()

    def record(path: str, size: int) -> None:
        with lock:
            order.append(path)

    report = deploy_build(tmp_path / "b1", bucket, on_upload=record)
    assert report.files == len(m1.files) + 2
    assert order[-2:] == [MANIFEST_NAME, SIGNATURE_NAME]
    sig = bucket.get(SIGNATURE_NAME)
    manifest = bucket.get(MANIFEST_NAME)
    assert sig == (tmp_path / "b1" / SIGNATURE_NAME).read_bytes()
    assert manifest is not None and verify_manifest(manifest, sig, [KEY.public.pinned])
    head = bucket.head(SIGNATURE_NAME)
    assert head is not None and head["ContentType"] == "application/json"
    assert verify_bucket(bucket, m1) == []  # the signature is not an "extra" object

    again = deploy_build(tmp_path / "b1", bucket)
    assert again.uploaded == 0  # the deployed signature was read back: unchanged

    m2 = signed_build(tmp_path / "b2", "two")
    order.clear()
    deploy_build(tmp_path / "b2", bucket, on_upload=record)
    assert order[-2:] == [MANIFEST_NAME, SIGNATURE_NAME]
    assert bucket.get(SIGNATURE_NAME) == (tmp_path / "b2" / SIGNATURE_NAME).read_bytes()
    assert verify_bucket(bucket, m2) == []


def test_a_stale_signature_is_never_published(bucket: S3Bucket, tmp_path: Path) -> None:
    signed_build(tmp_path / "b1", "one")
    synthetic.write(tmp_path / "b2", NAMES, label="two")
    shutil.copy(tmp_path / "b1" / SIGNATURE_NAME, tmp_path / "b2" / SIGNATURE_NAME)
    with pytest.raises(DeployError, match="signs another manifest"):
        deploy_build(tmp_path / "b2", bucket)
    (tmp_path / "b2" / SIGNATURE_NAME).write_bytes(b"garbage")
    with pytest.raises(DeployError, match="not JSON"):
        deploy_build(tmp_path / "b2", bucket)
    assert bucket.listing() == {}  # nothing was uploaded


def test_a_deployed_directory_with_a_signature_verifies(tmp_path: Path) -> None:
    manifest = signed_build(tmp_path / "b", "one")
    assert verify_directory(tmp_path / "b", manifest) == []
