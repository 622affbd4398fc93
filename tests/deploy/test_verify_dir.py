"""verify_directory: a deployed directory compared file by file with a manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

from curator.build import synthetic
from curator.build.manifest import MANIFEST_NAME, write_manifest
from curator.deploy.verify import Mismatch, Problem, verify_directory

NAMES = synthetic.package_names(30, 3, seed=5)


def test_an_identical_directory_verifies(tmp_path: Path) -> None:
    manifest = synthetic.write(tmp_path / "b", NAMES)
    assert verify_directory(tmp_path / "b", manifest) == []
    # A copy elsewhere (a mirror's deploy directory) verifies against the same manifest.
    shutil.copytree(tmp_path / "b", tmp_path / "mirror")
    assert verify_directory(tmp_path / "mirror", manifest) == []


def test_every_difference_is_named(tmp_path: Path) -> None:
    directory = tmp_path / "b"
    manifest = synthetic.write(directory, NAMES)
    p2 = sorted(p for p in manifest.files if p.startswith("p2/"))
    (directory / p2[0]).unlink()
    (directory / p2[1]).write_bytes(b"{}")
    data = bytearray((directory / p2[2]).read_bytes())
    data[-2] = ord("Q")
    (directory / p2[2]).write_bytes(bytes(data))
    (directory / "p2" / "wp-theme" / "zzz-extra.json").write_bytes(b"{}")
    found = verify_directory(directory, manifest)
    assert [(m.path, m.problem) for m in found] == [
        (p2[0], Problem.MISSING),
        (p2[1], Problem.SIZE),
        (p2[2], Problem.SHA256),
        ("p2/wp-theme/zzz-extra.json", Problem.EXTRA),
    ]
    assert str(found[1]) == f"{p2[1]}: size is 2, expected {manifest.files[p2[1]].size}"


def test_the_deployed_manifest_must_name_the_same_commit(tmp_path: Path) -> None:
    directory = tmp_path / "b"
    manifest = synthetic.write(directory, NAMES)
    write_manifest(directory, manifest.model_copy(update={"commit": "e" * 40}))
    assert [str(m) for m in verify_directory(directory, manifest)] == [
        f"manifest.json: names commit {'e' * 40}, expected {manifest.commit}"
    ]
    (directory / MANIFEST_NAME).unlink()
    assert verify_directory(directory, manifest) == [Mismatch(MANIFEST_NAME, Problem.MISSING)]
    # A rebuild by another builder version still verifies: files and commit agree.
    write_manifest(directory, manifest.model_copy(update={"builder": "curator 9.9"}))
    assert verify_directory(directory, manifest) == []
    assert verify_directory(tmp_path / "nope", manifest)[0].problem is Problem.MISSING
