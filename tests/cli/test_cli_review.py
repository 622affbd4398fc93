"""`curator validate` and `curator diff` as trustees and CI run them: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.build.seed import commit_records
from curator.cli import cli
from curator.datarepo import DataRepo
from curator.layout import REGISTRY_FILE
from tests.build.conftest import record
from tests.conftest import RepoFactory
from tests.review.conftest import override_bytes, plugin_override, write

CURATOR = Path(sys.executable).with_name("curator")
BAD = "overrides/plugins/example.json"


@pytest.fixture
def repo(new_data_repo: RepoFactory) -> DataRepo:
    data = new_data_repo()
    commit_records(data, [record("example"), record("other")])
    return data


def run(repo: DataRepo, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--repo", str(repo.store.path), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_validate_a_clean_commit_exits_0(repo: DataRepo) -> None:
    write(repo, {plugin_override(): override_bytes(require={"php": ">=8.0"})})
    code, out, err = run(repo, "validate")
    assert code == 0, err
    assert out == f"ok: 1 override file(s) checked at {repo.head()[:12]}\n"  # type: ignore[index]
    code, out, _ = run(repo, "validate", "--json")
    assert code == 0 and json.loads(out) == {
        "commit": repo.head(),
        "ok": True,
        "files": 1,
        "problems": [],
    }
    assert run(repo, "-q", "validate") == (0, "", "")


def test_validate_names_file_field_and_value_and_exits_5(repo: DataRepo) -> None:
    good = repo.head() or ""
    write(
        repo,
        {
            plugin_override(): override_bytes(versions={"1.2.0": {"require": {"php": ">>7"}}}),
            "overrides/plugins/../x.json".replace("../", "..."): override_bytes(),
        },
    )
    code, out, err = run(repo, "validate")
    assert code == 5
    assert out.splitlines() == [
        "overrides/plugins/...x.json: <path>: not an override file: not a valid slug: "
        "expected [a-z0-9_][a-z0-9_.-]* (at most 200) before .json",
        f'{BAD}: versions."1.2.0".require.php: not a constraint Composer accepts (value: ">>7")',
    ]
    assert err.startswith("2 problems: 2 override file(s) checked at")
    code, out, _ = run(repo, "validate", "--json")
    doc = json.loads(out)
    assert code == 5 and doc["ok"] is False
    assert doc["problems"][1] == {
        "path": BAD,
        "field": 'versions."1.2.0".require.php',
        "message": "not a constraint Composer accepts",
        "value": '">>7"',
    }
    # an older commit is still valid
    assert run(repo, "validate", "--commit", good[:10])[0] == 0


@pytest.mark.parametrize("rev", ["0" * 40, "nosuchbranch", "refs/heads/unborn", "<b>"])
def test_validate_a_bad_revision_is_a_usage_error(repo: DataRepo, rev: str) -> None:
    code, out, err = run(repo, "validate", "--commit", rev)
    assert code == 2 and out == ""
    assert err.startswith("curator: error: --commit: ") and len(err.splitlines()) == 1


def test_validate_an_uninitialised_repository_exits_5(repo: DataRepo) -> None:
    write(repo, {REGISTRY_FILE: None})
    code, _out, err = run(repo, "validate")
    assert code == 5 and "registry.json is missing" in err


def test_diff_prints_markdown_and_json_and_exits_0(repo: DataRepo) -> None:
    base = repo.head() or ""
    head = write(repo, {plugin_override(): override_bytes(require={"php": ">=8.1"})})
    code, out, _ = run(repo, "diff", base, head)
    assert code == 0
    assert "#### `wp-plugin/example` (override changed)" in out
    assert "- require `php`: `>=7.4` → `>=8.1` on `dev-trunk`, `1.2.0`" in out
    code, out, _ = run(repo, "diff", base[:7], "main", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["head"] == head and doc["packages"][0]["name"] == "wp-plugin/example"
    code, out, _ = run(repo, "diff", base, head, "--max-packages", "0")
    assert code == 0 and "… and 1 more package(s)" in out and "####" not in out
    code, out, _ = run(repo, "diff", head, head)
    assert code == 0 and "No Composer-visible changes" in out


def test_diff_with_a_bad_revision_is_a_usage_error(repo: DataRepo) -> None:
    code, out, err = run(repo, "diff", "main", "f" * 12)
    assert code == 2 and out == "" and err.startswith("curator: error: B: unknown revision")
    code, _, err = run(repo, "diff", "nope", "main")
    assert code == 2 and err.startswith("curator: error: A: ")
    code, _, err = run(repo, "diff", "main")
    assert code == 2 and "Missing argument" in err


def test_the_console_script(repo: DataRepo) -> None:
    """The installed `curator` script, in a real process: exit codes reach the shell."""
    assert CURATOR.is_file(), CURATOR
    base = repo.head() or ""
    write(repo, {plugin_override(): override_bytes(versions={"9.9": {"yanked": True}})})

    def curator(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CURATOR), "--repo", str(repo.store.path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    bad = curator("validate")
    assert bad.returncode == 5
    assert bad.stdout.startswith(f'{BAD}: versions."9.9": no such version of wp-plugin/example')
    assert curator("validate", "--commit", "deadbeef").returncode == 2
    preview = curator("diff", base, "main")
    assert preview.returncode == 0 and "`wp-plugin/example`" in preview.stdout
    assert "no such version of this package" in preview.stdout  # the build's own words
