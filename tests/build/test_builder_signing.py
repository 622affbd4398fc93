"""Signed builds: the builder writes manifest.json.sig after the manifest when given a key;
signed builds stay valid, byte-reproducible and incremental (a previous build's signature is
never reused), and `curator build` takes the key from the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.build.builder import build
from curator.build.manifest import MANIFEST_NAME, SIGNATURE_NAME, validate_build
from curator.build.seed import commit_records, record_from_line
from curator.cli._app import cli
from curator.datarepo import DataRepo
from curator.layout import PackageType
from curator.signing import KEY_ENV, KEY_FILE_ENV, SigningKey, generate_key, verify_manifest
from curator.storage.local import LocalStorage
from tests.build.conftest import assert_same_tree, record
from tests.conftest import RepoFactory


@pytest.fixture
def repo(new_data_repo: RepoFactory, sample_lines: list[tuple[PackageType, bytes]]) -> DataRepo:
    data = new_data_repo()
    records = [record_from_line(kind, line) for kind, line in sample_lines]
    commit_records(data, [r for r in records if r is not None])
    return data


@pytest.fixture
def key() -> SigningKey:
    return generate_key()


def signed_ok(directory: Path, key: SigningKey) -> None:
    manifest = (directory / MANIFEST_NAME).read_bytes()
    sig = (directory / SIGNATURE_NAME).read_bytes()
    assert verify_manifest(manifest, sig, [key.public.pinned]) == key.public
    assert validate_build(directory) == []


def test_a_signed_build_is_valid_and_reproducible(
    repo: DataRepo, key: SigningKey, tmp_path: Path
) -> None:
    a = build(repo, None, None, tmp_path / "a", full=True, signer=key)
    b = build(repo, None, None, tmp_path / "b", full=True, signer=key)
    signed_ok(a.path, key)
    assert_same_tree(a.path, b.path)  # signature included: Ed25519 is deterministic
    unsigned = build(repo, None, None, tmp_path / "c", full=True)
    assert not (unsigned.path / SIGNATURE_NAME).exists()
    assert (unsigned.path / MANIFEST_NAME).read_bytes() == (a.path / MANIFEST_NAME).read_bytes()


def test_incremental_builds_sign_afresh_and_never_reuse_a_signature(
    repo: DataRepo, key: SigningKey, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "storage")
    first = build(repo, None, storage, None, signer=key)
    signed_ok(first.path, key)
    commit_records(repo, [record("brand-new")])
    second = build(repo, None, storage, None, signer=key)
    assert second.incremental and second.reused > 0
    signed_ok(second.path, key)
    sig1, sig2 = first.path / SIGNATURE_NAME, second.path / SIGNATURE_NAME
    assert sig1.stat().st_ino != sig2.stat().st_ino  # written, not linked
    assert sig1.read_bytes() != sig2.read_bytes()
    full = build(repo, None, None, tmp_path / "full", full=True, signer=key)
    assert_same_tree(second.path, full.path)

    # without a key the next build has no signature, not the previous one's
    commit_records(repo, [record("another-one")])
    third = build(repo, None, storage, None)
    assert third.incremental
    assert not (third.path / SIGNATURE_NAME).exists()
    assert validate_build(third.path) == []
    # building it again with a key signs the existing build
    again = build(repo, None, storage, None, signer=key)
    assert again.existing
    signed_ok(third.path, key)


def test_a_listed_signature_or_a_stray_file_still_fails_validation(
    repo: DataRepo, key: SigningKey, tmp_path: Path
) -> None:
    result = build(repo, None, None, tmp_path / "a", full=True, signer=key)
    (result.path / "manifest.json.sig.bak").write_bytes(b"x")
    assert validate_build(result.path) == [
        "manifest.json.sig.bak: present but not listed in manifest.json"
    ]


def test_build_cli_signs_with_the_key_from_the_environment(
    repo: DataRepo, key: SigningKey, tmp_path: Path
) -> None:
    runner = CliRunner()
    base = ["--repo", str(repo.store.path)]
    result = runner.invoke(
        cli,
        [*base, "build", "--out", str(tmp_path / "signed")],
        env={KEY_ENV: key.private_text()},
    )
    assert result.exit_code == 0, result.output
    assert f"signed   manifest.json.sig (key {key.key_id})" in result.output
    signed_ok(tmp_path / "signed", key)

    result = runner.invoke(
        cli, [*base, "build", "--out", str(tmp_path / "plain")], env={KEY_ENV: ""}
    )
    assert result.exit_code == 0, result.output
    assert "signed   no (CURATOR_SIGNING_KEY / CURATOR_SIGNING_KEY_FILE not set)" in result.output
    assert not (tmp_path / "plain" / SIGNATURE_NAME).exists()

    key_file = tmp_path / "key"
    key_file.write_text(key.private_text())
    result = runner.invoke(
        cli,
        [*base, "build", "--json", "--out", str(tmp_path / "file")],
        env={KEY_FILE_ENV: str(key_file), KEY_ENV: ""},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["signed_by"] == key.key_id
    signed_ok(tmp_path / "file", key)


def test_build_cli_refuses_a_malformed_key_before_building(repo: DataRepo, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--repo", str(repo.store.path), "build", "--out", str(tmp_path / "out")],
        env={KEY_ENV: "c2hvcnQ="},
    )
    assert result.exit_code == 2
    assert "CURATOR_SIGNING_KEY: 5 bytes after base64 decoding" in result.output
    assert not (tmp_path / "out").exists()
