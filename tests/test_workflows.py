"""The GitHub workflows in .github/workflows: actionlint (with shellcheck for the run:
scripts, both installed from PyPI as dev dependencies) finds nothing, and each workflow has
the triggers, permissions and concurrency its job needs, and calls the curator commands
that hold the logic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    exe = BIN / "actionlint"
    if not exe.is_file():
        pytest.fail("actionlint is missing: pip install -e '.[dev]'", pytrace=False)
    if not (BIN / "shellcheck").is_file():
        pytest.fail("shellcheck is missing: pip install -e '.[dev]'", pytrace=False)
    return subprocess.run(
        [str(exe), "-no-color", *map(str, files)],
        capture_output=True,
        text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        timeout=120,
    )


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def runs(workflow: dict[str, Any]) -> str:
    return "\n".join(
        step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]
    )


def test_actionlint_finds_nothing() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "mirror.yml", "overrides.yml", "sync.yml"]
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_script_injection_and_a_shell_bug(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        "      - run: cd $HOME_DIR\n"
    )
    result = actionlint(bad)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout
    assert "SC2086" in result.stdout  # shellcheck ran


def test_ci_runs_lint_types_schemas_and_the_readme_test_command() -> None:
    ci = load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request", "workflow_dispatch"}
    assert ci["permissions"] == {"contents": "read"}
    script = runs(ci)
    for command in (
        "ruff check",
        ".venv/bin/mypy",
        "curator schemas --check",
        "curator ci codeowners --check",
        "actionlint",
        "bash scripts/test",
    ):
        assert command in script, command
    readme = (REPO_ROOT / "README.md").read_text()
    assert "    bash scripts/test\n" in readme


def test_sync_is_scheduled_on_demand_and_one_at_a_time() -> None:
    sync = load("sync.yml")
    assert set(sync["on"]) == {"schedule", "workflow_dispatch"}
    assert sync["on"]["schedule"][0]["cron"]
    assert sync["concurrency"] == {"group": "sync", "cancel-in-progress": False}
    assert sync["permissions"] == {"contents": "read"}  # pushes use the bot's token
    (job,) = sync["jobs"].values()
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["token"] == "${{ secrets.CURATOR_BOT_TOKEN }}"
    assert checkout["with"]["fetch-depth"] == 0
    script = runs(sync)
    order = [
        script.index(c)
        for c in ("curator pipeline", "curator push", "curator build", 'deploy --to "s3://')
    ]
    assert order == sorted(order)
    assert "--retries 5" in script
    deploy = job["steps"][-1]
    assert deploy["env"]["AWS_SECRET_ACCESS_KEY"] == "${{ secrets.R2_SECRET_ACCESS_KEY }}"
    assert deploy["env"]["CURATOR_S3_ENDPOINT"] == "${{ secrets.R2_ENDPOINT }}"


def test_override_review_checks_with_the_base_and_comments() -> None:
    review = load("overrides.yml")
    assert review["on"] == {"pull_request": {"paths": ["registry-data/**"]}}
    assert "pull_request_target" not in review["on"]  # never run a PR's code with a write token
    assert review["permissions"] == {"contents": "read", "pull-requests": "write"}
    (job,) = review["jobs"].values()
    checkout = job["steps"][0]
    assert checkout["with"] == {
        "ref": "${{ github.event.pull_request.base.sha }}",
        "fetch-depth": 0,
    }
    assert job["env"]["AUTHOR"] == "${{ github.event.pull_request.user.login }}"
    script = runs(review)
    for command in ("curator ci check-pr", "curator validate", "curator ci comment"):
        assert command in script, command
    comment = next(s for s in job["steps"] if "curator ci comment" in s.get("run", ""))
    assert comment["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    assert "head.repo.full_name == github.repository" in comment["if"]


def test_the_mirror_example_fetches_rebuilds_verifies_and_deploys() -> None:
    mirror = load("mirror.yml")
    assert set(mirror["on"]) == {"schedule", "workflow_dispatch"}
    assert mirror["permissions"] == {"contents": "read"}
    script = runs(mirror)
    assert "mirror fetch" in script and "mirror clone" in script
    order = [
        script.index(c)
        for c in ("mirror clone", '"$MIRROR/storage" build', "verify --against", "deploy --to")
    ]
    assert order == sorted(order)


def test_every_curator_command_the_workflows_call_exists() -> None:
    from click.testing import CliRunner

    from curator.cli import cli

    for args in (
        ["pipeline"],
        ["push"],
        ["build"],
        ["deploy"],
        ["validate"],
        ["schemas"],
        ["ci", "check-pr"],
        ["ci", "preview"],
        ["ci", "comment"],
        ["ci", "codeowners"],
    ):
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
