"""`curator ci ...` as the workflows run it: exit codes, usage errors, the comment command
against a local fake of GitHub, and the CODEOWNERS generator in a real checkout."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from curator import canonical
from curator.cli import cli
from curator.datarepo import DataRepo
from tests.conftest import RepoFactory
from tests.review.fake_github import TOKEN, FakeGitHub
from tests.review.pr_helpers import OTHER, TRUSTEE, make_registry, open_pr, override, trustees_data

CF7 = "overrides/plugins/contact-form-7.json"
REPO = "wp-composer/registry"


@pytest.fixture
def registry(new_data_repo: RepoFactory) -> DataRepo:
    return make_registry(new_data_repo)


def run(repo: DataRepo | Path, *args: str, env: dict[str, str] | None = None) -> Result:
    path = repo.store.path if isinstance(repo, DataRepo) else repo
    result = CliRunner().invoke(cli, ["--repo", str(path), *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_ci_lists_its_commands() -> None:
    result = CliRunner().invoke(cli, ["ci", "--help"])
    assert result.exit_code == 0
    for name in ("check-pr", "preview", "comment", "codeowners"):
        assert name in result.stdout


def test_check_pr_bad_revisions_and_unrelated_histories_exit_2(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    result = run(registry, "ci", "check-pr", "--base", base, "--head", "nope", "--author", "x")
    assert result.exit_code == 2 and "--head: " in result.stderr
    orphan = DataRepo(registry.store, registry.prefix, "refs/heads/orphan").commit(
        parent=None, changes={"a": b"x"}, message="x\n", author="a <a@b>", timestamp=1
    )
    assert orphan is not None
    result = run(registry, "ci", "check-pr", "--base", base, "--head", orphan, "--author", "x")
    assert result.exit_code == 2 and "share no history" in result.stderr


def test_check_pr_with_an_invalid_trustees_file_at_the_base_exits_5(registry: DataRepo) -> None:
    base = open_pr(registry, {"trustees.json": b'{"bot": 1}\n'}, branch="b")
    head = open_pr(registry, {CF7: override()}, base=base, branch="h")
    result = run(registry, "ci", "check-pr", "--base", base, "--head", head, "--author", TRUSTEE)
    assert result.exit_code == 5
    assert "trustees.json: bot: Input should be" in result.stderr


def test_preview_prints_the_comment(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    head = open_pr(registry, {CF7: override(abandoned=True)})
    result = run(registry, "ci", "preview", "--base", base, "--head", head, "--author", OTHER)
    assert result.exit_code == 0  # the preview is printed whatever the check found
    assert result.stdout.startswith("<!-- curator-preview -->\n## Curator preview\n")
    assert "❌ **1 problem**" in result.stdout
    assert "- abandoned: no → yes" in result.stdout


def test_comment_takes_author_base_and_head_from_the_pull_request(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    head = open_pr(registry, {CF7: override(require={"php": ">=8.1"})})
    env = {"GITHUB_TOKEN": TOKEN}
    with FakeGitHub(REPO) as github:
        github.add_pull(5, OTHER, base, head)
        args = ["ci", "comment", "--repo", REPO, "--pr", "5", "--api-url", github.api_url]
        result = run(registry, *args, env=env)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("created the preview comment on #5 https://")
        (comment,) = github.pulls[5].comments
        assert "❌ **1 problem**" in comment["body"]
        assert f"Author `{OTHER}` (not a trustee)" in comment["body"]

        # the author pushes a new head: the second run updates the same comment
        newer = open_pr(registry, {CF7: override(require={"php": ">=8.2"})}, branch="pr2")
        github.pulls[5].head_sha = newer
        github.requests.clear()
        result = run(registry, *args, env=env)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("updated the preview comment on #5")
        (comment,) = github.pulls[5].comments
        assert "`>=8.2`" in comment["body"] and newer in comment["body"]
        assert [m for m, _p in github.calls()].count("PATCH") == 1

        # a run for an older head posts nothing
        result = run(registry, *args, "--head", head, env=env)
        assert result.exit_code == 0
        assert "skipped the preview comment on #5: the pull request's head is" in result.stdout


def test_comment_needs_a_token_and_a_reachable_github(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    args = ["ci", "comment", "--repo", REPO, "--pr", "5", "--api-url"]
    result = run(registry, *args, "http://127.0.0.1:9", env={"GITHUB_TOKEN": ""})
    assert result.exit_code == 2 and "GITHUB_TOKEN is not set" in result.stderr
    result = run(registry, "ci", "comment", "--repo", "x", "--pr", "5", env={"GITHUB_TOKEN": TOKEN})
    assert result.exit_code == 2 and "not a GitHub repository name" in result.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(registry, *args, f"http://127.0.0.1:{port}", env={"GITHUB_TOKEN": TOKEN})
    assert result.exit_code == 4 and "cannot reach GitHub" in result.stderr
    with FakeGitHub(REPO) as github:
        result = run(registry, *args, github.api_url, env={"GITHUB_TOKEN": "wrong"})
        assert result.exit_code == 4
        assert "GitHub answered 401: Bad credentials" in result.stderr


def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "registry-data").mkdir()
    (root / "registry-data" / "trustees.json").write_bytes(
        canonical.dumps(trustees_data("alice", "bob"))
    )
    return root


def test_codeowners_writes_both_files_and_checks_them(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    result = run(root, "ci", "codeowners", "--check")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "stale: registry-data/CODEOWNERS",
        "stale: .github/CODEOWNERS",
        "run `curator ci codeowners` and commit the result",
    ]
    result = run(root, "ci", "codeowners")
    assert result.exit_code == 0
    assert result.stdout == "wrote registry-data/CODEOWNERS\nwrote .github/CODEOWNERS\n"
    assert "/registry-data/overrides/ @alice @bob\n" in (root / ".github/CODEOWNERS").read_text()
    assert "/overrides/ @alice @bob\n" in (root / "registry-data/CODEOWNERS").read_text()
    result = run(root, "ci", "codeowners", "--check")
    assert result.exit_code == 0, result.output
    # a hand edit is caught
    with (root / ".github/CODEOWNERS").open("a") as f:
        f.write("/registry-data/packages/ @mallory\n")
    result = run(root, "ci", "codeowners", "--check")
    assert result.exit_code == 1 and "stale: .github/CODEOWNERS" in result.stderr


def test_codeowners_with_a_bad_or_missing_trustees_file_exits_5(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    (root / "registry-data" / "trustees.json").write_text(json.dumps({"trustees": []}))
    result = run(root, "ci", "codeowners")
    assert result.exit_code == 5
    assert result.stderr == "registry-data/trustees.json: bot: required field is missing\n"
    (root / "registry-data" / "trustees.json").unlink()
    result = run(root, "ci", "codeowners")
    assert result.exit_code == 5 and "cannot read" in result.stderr


def test_codeowners_needs_a_checkout(registry: DataRepo) -> None:
    result = run(registry, "ci", "codeowners")
    assert result.exit_code == 2 and "bare repository" in result.stderr
