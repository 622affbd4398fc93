"""trustees.json (model, parsing, problems named by field) and the CODEOWNERS files made from
it, including this repository's own registry-data/trustees.json, CODEOWNERS and
.github/CODEOWNERS, which must agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from curator import canonical
from curator.datarepo import DataError
from curator.models import TrusteesFile
from curator.review.codeowners import GITHUB_CODEOWNERS, expected_files, render_codeowners
from curator.review.trustees import MAX_TRUSTEES_BYTES, load_trustees, parse_trustees
from curator.sync import DEFAULT_AUTHOR
from tests.conftest import REPO_ROOT, RepoFactory
from tests.review.pr_helpers import BOT, open_pr, trustees_data

DATA = REPO_ROOT / "registry-data"


def model(data: dict[str, Any]) -> TrusteesFile:
    return TrusteesFile.model_validate(data)


def test_logins_compare_case_insensitively() -> None:
    trustees = model(trustees_data("Alice", "bob-2"))
    assert trustees.is_trustee("alice") and trustees.is_trustee("BOB-2")
    assert not trustees.is_trustee("carol") and not trustees.is_trustee(BOT)
    assert trustees.is_bot(BOT.upper()) and not trustees.is_bot("alice")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["trustees"].append({"login": "ALICE"}), "trustee ALICE is listed twice"),
        (lambda d: d["trustees"].append({"login": BOT}), "must not also be a trustee"),
        (lambda d: d["trustees"].append({"login": "-x"}), "should match pattern"),
        (lambda d: d["trustees"].append({"login": "a--b"}), "should match pattern"),
        (lambda d: d["trustees"].append({"login": "x" * 40}), "at most 39 characters"),
        (lambda d: d["trustees"].append({"login": "app[bot]"}), "should match pattern"),
        (lambda d: d["trustees"].append({"login": "@alice"}), "should match pattern"),
        (lambda d: d["trustees"].append({"login": "a\nb"}), "should match pattern"),
        (lambda d: d["bot"].update(git_author="no email"), "should match pattern"),
        (lambda d: d["bot"].update(git_author="x <a@b>\n"), "should match pattern"),
        (lambda d: d.pop("bot"), "Field required"),
        (lambda d: d.update(admins=[]), "Extra inputs are not permitted"),
    ],
)
def test_bad_trustee_files_are_rejected(change: Any, message: str) -> None:
    data = trustees_data("alice")
    change(data)
    with pytest.raises(ValidationError, match=message):
        model(data)


def test_problems_name_the_file_and_field() -> None:
    data = trustees_data("alice")
    data["trustees"][0]["login"] = "no spaces"
    data["bot"]["git_author"] = 7
    problems = parse_trustees(canonical.dumps(data), "registry-data/trustees.json")
    assert isinstance(problems, list)
    assert [(p.path, p.field, p.value) for p in problems] == [
        ("registry-data/trustees.json", "trustees.0.login", '"no spaces"'),
        ("registry-data/trustees.json", "bot.git_author", "7"),
    ]
    assert (
        problems[0]
        .line()
        .startswith("registry-data/trustees.json: trustees.0.login: String should match pattern")
    )
    big = parse_trustees(b" " * (MAX_TRUSTEES_BYTES + 1), "t.json")
    assert isinstance(big, list) and big[0].message.startswith("file is larger than")
    assert isinstance(parse_trustees(b"\xff", "t.json"), list)


def test_load_trustees_from_a_commit(new_data_repo: RepoFactory) -> None:
    repo = new_data_repo()
    assert load_trustees(repo.view()) is None
    good = open_pr(repo, {"trustees.json": canonical.dumps(trustees_data("alice"))}, branch="a")
    loaded = load_trustees(repo.view(good))
    assert loaded is not None and loaded.is_trustee("alice")
    bad = open_pr(repo, {"trustees.json": b'{"trustees": 1}'}, branch="b")
    with pytest.raises(DataError, match=r"trustees.json: bot: required field is missing"):
        load_trustees(repo.view(bad))


def test_codeowners_lists_trustees_and_the_bot_per_rule() -> None:
    text = render_codeowners(model(trustees_data("alice", "bob")), "registry-data/", source="t")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "/registry-data/overrides/ @alice @bob",
        "/registry-data/registry.json @alice @bob",
        "/registry-data/trustees.json @alice @bob",
        "/registry-data/CODEOWNERS @alice @bob",
        "/registry-data/README.md @alice @bob",
        f"/registry-data/packages/ @{BOT}",
        f"/registry-data/state/ @{BOT}",
    ]
    root = render_codeowners(model(trustees_data("alice")), "", source="t")
    assert "/.github/ @alice" in root.splitlines()
    assert "/overrides/ @alice" in root.splitlines()


def test_expected_files_for_a_checkout(tmp_path: Path) -> None:
    trustees = model(trustees_data("alice"))
    files = expected_files(tmp_path, "registry-data/", trustees)
    assert [f.path for f in files] == [
        tmp_path / "registry-data" / "CODEOWNERS",
        tmp_path / GITHUB_CODEOWNERS,
    ]
    assert not any(f.is_current() for f in files)  # not written yet
    for f in files:
        f.path.parent.mkdir(parents=True, exist_ok=True)
        f.path.write_text(f.expected)
    assert all(f.is_current() for f in files)
    # a data-only repository: the data tree's CODEOWNERS is the root one
    assert [f.path for f in expected_files(tmp_path, "", trustees)] == [tmp_path / "CODEOWNERS"]


def test_this_repositorys_trustees_and_codeowners_agree() -> None:
    raw = (DATA / "trustees.json").read_bytes()
    trustees = parse_trustees(raw, "registry-data/trustees.json")
    assert isinstance(trustees, TrusteesFile), trustees
    assert raw == canonical.dumps(trustees.model_dump(mode="json"))  # canonical form
    # the bot is who the curator says it is on its sync commits
    assert trustees.bot.git_author == DEFAULT_AUTHOR
    files = expected_files(REPO_ROOT, "registry-data/", trustees)
    stale = [str(f.path) for f in files if not f.is_current()]
    assert not stale, f"run `curator ci codeowners`: {stale}"
