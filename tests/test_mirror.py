"""The mirror, end to end (the must-show): a data repository served by a real `git daemon`
is cloned over the network; the mirror rebuilds a commit to a manifest byte-identical to the
original build's, signature valid; `curator verify --against http://...` passes on the
published build, names a tampered p2 file, refuses an older signed manifest after a newer one
was accepted, and refuses a wrong key or a missing signature when keys are pinned."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from curator.build.builder import build
from curator.build.manifest import MANIFEST_NAME, SIGNATURE_NAME, read_manifest
from curator.cli._app import cli
from curator.datarepo import DataRepo
from curator.signing import KEY_ENV, SigningKey, generate_key, verify_manifest
from tests.conftest import RepoFactory
from tests.git_remotes import git, git_daemon
from tests.mirror.conftest import History, seed_history, serve_directory


@pytest.fixture
def key() -> SigningKey:
    return generate_key()


@pytest.fixture
def origin(new_data_repo: RepoFactory, key: SigningKey) -> tuple[DataRepo, History]:
    repo = new_data_repo("served/data.git")
    return repo, seed_history(repo, key)


@pytest.fixture
def www(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP; the registry is published under /registry/."""
    root = tmp_path / "www"
    root.mkdir()
    with serve_directory(root) as url:
        yield root, f"{url}/registry/"


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env or {KEY_ENV: ""})


def publish(build_dir: Path, root: Path) -> Path:
    """Make ``build_dir`` what the server publishes under /registry/ (replacing it)."""
    target = root / "registry"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(build_dir, target)
    return target


def test_mirror_clone_rebuild_and_verify_over_the_network(
    origin: tuple[DataRepo, History],
    key: SigningKey,
    www: tuple[Path, str],
    tmp_path: Path,
) -> None:
    repo, history = origin
    root, url = www
    # The registry's own signed builds of both commits.
    orig_new = build(repo, history.new, None, tmp_path / "orig-new", full=True, signer=key)
    orig_old = build(repo, history.old, None, tmp_path / "orig-old", full=True, signer=key)

    # 1. Clone over the network from a real git daemon.
    mirror = tmp_path / "mirror.git"
    with git_daemon(tmp_path / "served") as daemon:
        result = run("mirror", "clone", f"{daemon}/data.git", mirror)
        assert result.exit_code == 0, result.output
    assert f"at {history.new}" in result.output and "data prefix ''" in result.output
    assert git("--git-dir", mirror, "rev-parse", "main").strip() == history.new
    assert git("--git-dir", mirror, "config", "curator.prefix").strip() == ""
    assert git("--git-dir", mirror, "config", "curator.remote").strip().startswith("git://")

    # 2. The mirror rebuilds the commit: the manifest is byte-identical, signature valid.
    result = run(
        "--repo", mirror, "build", "--commit", history.new, "--out", tmp_path / "rebuilt",
        env={KEY_ENV: key.private_text()},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rebuilt_manifest = (tmp_path / "rebuilt" / MANIFEST_NAME).read_bytes()
    assert rebuilt_manifest == (orig_new.path / MANIFEST_NAME).read_bytes()
    published_sig = (orig_new.path / SIGNATURE_NAME).read_bytes()
    assert verify_manifest(rebuilt_manifest, published_sig, [key.public.pinned]) == key.public
    assert (tmp_path / "rebuilt" / SIGNATURE_NAME).read_bytes() == published_sig

    # 3. verify --against the published build over HTTP passes (and is recorded).
    state = tmp_path / "verify.json"
    publish(orig_new.path, root)
    verify = ("--repo", mirror, "verify", "--against", url, "--state", state)
    result = run(*verify, "--commit", history.new)
    assert result.exit_code == 0, result.output
    assert f"signature  ok: key {key.key_id}" in result.output
    assert "rollback   ok: first manifest accepted" in result.output
    files = len(read_manifest(orig_new.path).files)
    assert f"every file ({files} of {files} files) identical" in result.output
    assert history.new in state.read_text()

    # 4. Tamper with one p2 file: verify names it (and only it).
    served = root / "registry"
    victim = sorted((served / "p2" / "wp-plugin").glob("*.json"))[3]
    rel = victim.relative_to(served).as_posix()
    expected = read_manifest(served).files[rel].sha256
    victim.write_bytes(victim.read_bytes().replace(b'"version"', b'"versiom"', 1))
    result = run(*verify)  # the commit defaults to the one the published manifest names
    assert result.exit_code == 5, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("p2/")]
    assert len(lines) == 1 and lines[0].startswith(f"{rel}: sha256 is ")
    assert lines[0].endswith(f", expected {expected}")
    assert "1 mismatch(es)" in result.output

    # 5. An older, validly signed manifest after the newer one was accepted: refused.
    publish(orig_old.path, root)
    old_time = read_manifest(orig_old.path).time
    new_time = read_manifest(orig_new.path).time
    result = run(*verify, "--commit", history.old)
    assert result.exit_code == 5, result.output
    assert "refused:" in result.output and "Refusing a rollback" in result.output
    assert f"commit {history.old} ({old_time})" in result.output
    assert f"commit {history.new} ({new_time})" in result.output
    assert history.new in state.read_text() and history.old not in state.read_text()
    result = run(*verify, "--commit", history.old, "--allow-rollback")
    assert result.exit_code == 0, result.output
    assert "rollback   ALLOWED" in result.output
    assert history.old not in state.read_text()  # never recorded

    # 6. A manifest signed with another key, or not signed at all: refused.
    other = generate_key()
    forged = build(repo, history.new, None, tmp_path / "forged", full=True, signer=other)
    publish(forged.path, root)
    result = run(*verify)
    assert result.exit_code == 5, result.output
    assert f"signed with key {other.key_id}, which registry.json does not pin" in result.output
    (served / SIGNATURE_NAME).unlink()
    result = run(*verify)
    assert result.exit_code == 5, result.output
    assert "manifest.json.sig is missing" in result.output
    assert "an unsigned manifest is refused" in result.output


def test_verify_against_a_directory_with_a_sample(
    origin: tuple[DataRepo, History], key: SigningKey, tmp_path: Path
) -> None:
    repo, history = origin
    published = build(repo, history.new, None, tmp_path / "pub", full=True, signer=key)
    state = tmp_path / "state.json"
    base = ("--repo", repo.store.path, "verify", "--against", published.path, "--state", state)
    result = run(*base, "--sample", "3")
    assert result.exit_code == 0, result.output
    assert "a sample (7 of" in result.output  # 4 root files + 3 p2 files
    # a stray file and a missing one in a published directory are named
    (published.path / "p2" / "stray.json").write_text("{}")
    missing = sorted(published.path.glob("p2/wp-theme/*.json"))[0]
    missing.unlink()
    result = run(*base)
    assert result.exit_code == 5, result.output
    rel = missing.relative_to(published.path).as_posix()
    assert f"{rel}: missing" in result.output
    assert "p2/stray.json: not in the manifest" in result.output


def test_verify_against_usage_errors(origin: tuple[DataRepo, History], tmp_path: Path) -> None:
    repo, _ = origin
    base = ("--repo", repo.store.path, "verify")
    result = run(*base, "--against", "ftp://example.org/")
    assert result.exit_code == 2 and "http(s):// URL or a directory" in result.output
    result = run(*base, "--against", tmp_path / "absent")
    assert result.exit_code == 2 and "not a directory" in result.output
    result = run(*base, "--against", tmp_path, "--dir", tmp_path)
    assert result.exit_code == 2 and "cannot be combined" in result.output
    result = run(*base, "--commit", "abc", "--dir", tmp_path)
    assert result.exit_code == 2 and "need --against" in result.output
    # nothing published there
    result = run(*base, "--against", tmp_path, "--state", tmp_path / "s.json")
    assert result.exit_code == 5 and "manifest.json is missing" in result.output
