"""A pull request from end to end, as the override workflow runs it: `curator ci check-pr`
and `curator ci comment` (against a local fake of GitHub's REST API) on real commits of a
data repository holding the shipped sample corpus.

(a) a trustee's override raising a PHP bound passes, and the comment names the package and
    the versions it changes; (b) the same change by a non-trustee is rejected; (c) a human
    change to packages/ is rejected; (d) an invalid override fails naming its file and field.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner, Result

from curator.build.seed import commit_records
from curator.cli import cli
from curator.datarepo import DataRepo
from curator.layout import PackageType, package_path
from curator.records import decode, encode
from curator.review.preview import MARKER
from tests.conftest import REPO_ROOT, RepoFactory
from tests.review.fake_github import TOKEN, FakeGitHub
from tests.review.pr_helpers import (
    BOT,
    OTHER,
    TRUSTEE,
    make_registry,
    open_pr,
    override,
)

CF7 = "overrides/plugins/contact-form-7.json"
RAISE_PHP = {CF7: override(require={"php": ">=8.1"})}


@pytest.fixture
def registry(new_data_repo: RepoFactory) -> DataRepo:
    return make_registry(new_data_repo)


def curator(repo: DataRepo, *args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, ["--repo", str(repo.store.path), *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def check_pr(repo: DataRepo, base: str, head: str, author: str) -> tuple[int, dict[str, object]]:
    result = curator(
        repo, "ci", "check-pr", "--base", base, "--head", head, "--author", author, "--json"
    )
    return result.exit_code, json.loads(result.stdout)


def test_a_trustee_raising_a_php_bound_passes_and_the_comment_names_package_and_versions(
    registry: DataRepo,
) -> None:
    base = registry.head()
    assert base is not None
    head = open_pr(registry, RAISE_PHP)

    code, report = check_pr(registry, base, head, TRUSTEE)
    assert code == 0, report
    assert report["ok"] is True and report["role"] == "trustee"
    assert report["changes"] == [
        {
            "path": f"registry-data/{CF7}",
            "status": "A",
            "rule": "overrides",
            "owner": "trustees",
            "allowed": True,
        }
    ]

    with FakeGitHub("wp-composer/registry") as github:
        github.add_pull(42, TRUSTEE, base, head)
        result = curator(
            registry,
            "ci",
            "comment",
            "--repo",
            "wp-composer/registry",
            "--pr",
            "42",
            "--base",
            base,
            "--head",
            head,
            "--api-url",
            github.api_url,
            env={"GITHUB_TOKEN": TOKEN},
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("created the preview comment on #42 ")
        posts = [r for r in github.requests if r.method == "POST"]
        assert len(posts) == 1
        body = posts[0].body["body"]

    assert body.startswith(MARKER)
    assert "✅ **Checks passed**" in body
    assert f"Author `{TRUSTEE}` (trustee)" in body
    # the package, the requirement and the versions whose bound changes, newest first
    assert "#### `wp-plugin/contact-form-7` (override changed)" in body
    line = next(x for x in body.splitlines() if x.startswith("- require `php`: `>=7.4` → "))
    assert line == ("- require `php`: `>=7.4` → `>=8.1` on `dev-trunk`, `5.9.3`"), line
    older = next(x for x in body.splitlines() if x.startswith("- require `php`: (none) → "))
    assert re.match(r"- require `php`: \(none\) → `>=8\.1` on `5\.9\.2`, `5\.9`, `5\.8\.7`", older)
    assert "1 package changes for Composer users" in body


def test_b_the_same_change_by_a_non_trustee_is_rejected(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    head = open_pr(registry, RAISE_PHP)
    code, report = check_pr(registry, base, head, OTHER)
    assert code == 5
    assert report["ok"] is False and report["role"] == "other"
    assert report["findings"] == [
        {
            "path": f"registry-data/{CF7}",
            "rule": "overrides",
            "field": None,
            "message": f'override files: only trustees may change this; "{OTHER}" is not '
            f"listed in trustees.json at the base commit {base[:12]}",
            "value": None,
        }
    ]
    # the bot may not change overrides either
    assert check_pr(registry, base, head, BOT)[0] == 5
    # text output: one line per finding, the verdict on stderr
    result = curator(registry, "ci", "check-pr", "--base", base, "--head", head, "--author", OTHER)
    assert result.exit_code == 5
    assert result.stdout.startswith(f"registry-data/{CF7}: override files: only trustees")
    assert result.stdout.rstrip().endswith("[overrides]")
    assert result.stderr.startswith("rejected: 1 finding: 1 data file(s) changed by mallory")


def test_c_a_human_change_to_packages_is_rejected(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    path = package_path(PackageType.PLUGIN, "akismet")
    raw = registry.view(base).read(path)
    assert raw is not None
    record = decode(raw)
    assert record.info is not None
    edited = record.model_copy(
        update={"info": record.info.model_copy(update={"requires_php": "8.2"})}
    )
    head = open_pr(
        registry, {path: encode(edited), "state/sync.json": b"{}\n"}, message="hand edit\n"
    )
    for author in (TRUSTEE, OTHER):
        code, report = check_pr(registry, base, head, author)
        assert code == 5
        rules = {(f["path"], f["rule"]) for f in report["findings"]}  # type: ignore[index,union-attr]
        assert rules == {
            (f"registry-data/{path}", "synced-data"),
            ("registry-data/state/sync.json", "sync-state"),
        }
        message = report["findings"][0]["message"]  # type: ignore[index]
        assert f"only the curator bot ({BOT}) changes this" in message
    # the curator's bot identity may (a sync run opened as a pull request)
    code, report = check_pr(registry, base, head, BOT)
    assert code == 0, report


def test_d_an_invalid_override_fails_naming_its_file_and_field(registry: DataRepo) -> None:
    base = registry.head()
    assert base is not None
    bad = override(versions={"5.9.3": {"require": {"php": ">=8.1 <<7"}}})
    head = open_pr(registry, {CF7: bad})
    code, report = check_pr(registry, base, head, TRUSTEE)
    assert code == 5
    assert report["findings"] == [
        {
            "path": f"registry-data/{CF7}",
            "rule": "validate",
            "field": 'versions."5.9.3".require.php',
            "message": "not a constraint Composer accepts",
            "value": '">=8.1 <<7"',
        }
    ]
    result = curator(
        registry, "ci", "check-pr", "--base", base, "--head", head, "--author", TRUSTEE
    )
    assert result.exit_code == 5
    assert result.stdout.splitlines()[0] == (
        f'registry-data/{CF7}: versions."5.9.3".require.php: not a constraint Composer accepts'
        ' [validate] (value: ">=8.1 <<7")'
    )
    # `curator validate` at the head agrees
    result = curator(registry, "validate", "--commit", head)
    assert result.exit_code == 5
    assert 'versions."5.9.3".require.php' in result.stdout


def test_sync_runs_that_reached_main_meanwhile_are_not_the_authors_changes(
    registry: DataRepo,
) -> None:
    branched = registry.head()
    assert branched is not None
    head = open_pr(registry, RAISE_PHP)
    # main moves on: a sync run changes a record after the pull request branched off
    path = package_path(PackageType.PLUGIN, "hello-dolly")
    raw = registry.view(branched).read(path)
    assert raw is not None
    record = decode(raw)
    commit_records(registry, [record.model_copy(update={"revision": 99999})])
    base = registry.head()
    assert base is not None and base != branched

    code, report = check_pr(registry, base, head, TRUSTEE)
    assert code == 0, report
    assert report["merge_base"] == branched
    assert [c["path"] for c in report["changes"]] == [f"registry-data/{CF7}"]  # type: ignore[index,union-attr]


def test_the_readme_example_override_passes(registry: DataRepo) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    guide = readme[readme.index("## Trustee guide") :]
    example = re.search(r"```json\n(.*?)```", guide, re.S)
    assert example is not None
    base = registry.head()
    assert base is not None
    head = open_pr(registry, {CF7: example[1].encode()})
    code, report = check_pr(registry, base, head, TRUSTEE)
    assert code == 0, report
    with FakeGitHub("wp-composer/registry") as github:
        github.add_pull(1, TRUSTEE, base, head)
        result = curator(
            registry,
            "ci",
            "comment",
            "--pr",
            "1",
            "--api-url",
            github.api_url,
            env={"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "wp-composer/registry"},
        )
        assert result.exit_code == 0, result.output
        (comment,) = github.pulls[1].comments
    assert "- yanked: `5.9.2`" in comment["body"]
