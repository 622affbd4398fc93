"""The pull-request comment (curator.review.preview): marker first, hostile text inert,
never longer than GitHub's limit however large the change."""

from __future__ import annotations

import re

import pytest

from curator.build.seed import commit_records
from curator.datarepo import DataRepo
from curator.review.diff import DiffResult, diff_views
from curator.review.policy import PolicyReport, check_pull_request
from curator.review.preview import MARKER, MAX_COMMENT, render_preview
from tests.build.conftest import record
from tests.conftest import RepoFactory
from tests.review.pr_helpers import OTHER, TRUSTEE, config_files, open_pr, override


@pytest.fixture
def many(new_data_repo: RepoFactory) -> DataRepo:
    """400 plugins with 30 tags each and the trustees."""
    repo = new_data_repo(prefix="registry-data/")
    versions = {
        f"1.{n}.0": f"https://downloads.wordpress.org/plugin/p.1.{n}.0.zip" for n in range(30)
    }
    records = [
        record(f"plugin-{n:03d}", versions=versions, version="1.29.0", stable_tag="1.29.0")
        for n in range(400)
    ]
    commit_records(repo, records, extra=config_files(TRUSTEE))
    return repo


def inputs(repo: DataRepo, head: str, author: str) -> tuple[PolicyReport, DiffResult]:
    base = repo.head()
    assert base is not None
    report = check_pull_request(repo, base, head, author)
    return report, diff_views(repo, repo.view(report.merge_base), repo.view(head))


def body_for(repo: DataRepo, head: str, author: str) -> str:
    return render_preview(*inputs(repo, head, author))


def test_a_huge_change_is_cut_to_fit_a_github_comment(many: DataRepo) -> None:
    files: dict[str, bytes | None] = {
        f"overrides/plugins/plugin-{n:03d}.json": override(
            reason=f"bound {n} " + "x" * 200,
            versions={f"1.{v}.0": {"require": {"php": f">=8.{v}"}} for v in range(30)},
        )
        for n in range(400)
    }
    files.update({f"stray-{n}.txt": b"x" for n in range(300)})
    head = open_pr(many, files)
    report, diff = inputs(many, head, OTHER)
    body = render_preview(report, diff)
    assert len(body) <= MAX_COMMENT
    assert body.startswith(MARKER + "\n")
    assert "❌ **700 problems**" in body  # 400 overrides by a non-trustee, 300 stray files
    assert "- … and 600 more (run `curator ci check-pr` locally)" in body
    assert "more package(s) (see `curator diff --json`)" in body
    assert "400 packages change for Composer users" in body
    # small limits still give a well-formed, bounded body
    for limit in (20_000, 2_000, 300):
        short = render_preview(report, diff, limit=limit)
        assert len(short) <= limit and short.startswith(MARKER)


def test_hostile_text_is_shown_inert(many: DataRepo) -> None:
    evil = "`<img src=x onerror=alert(1)>` **bold** @everyone\u202e"
    head = open_pr(
        many,
        {
            "overrides/plugins/plugin-001.json": override(
                versions={"9.9": {"require": {"php": evil}}}
            ),
            f"{evil}.txt": b"x",
        },
    )
    body = body_for(many, head, f"{OTHER}`<b>")
    assert body.count("onerror") == 4  # two findings, the changed path, the Composer diff
    outside = re.sub(r"`[^`\n]*`", "", body)  # what Markdown does not show as code
    assert "onerror" not in outside and "**bold**" not in outside and "@everyone" not in outside
    assert "\u202e" not in body
    assert "Author `mallory'<b>` (not a trustee)" in body


def test_a_diff_that_could_not_be_computed_is_said(many: DataRepo) -> None:
    head = open_pr(many, {"overrides/plugins/plugin-001.json": override(abandoned=True)})
    base = many.head()
    assert base is not None
    report = check_pull_request(many, base, head, TRUSTEE)
    body = render_preview(report, None, diff_error="registry.json: vendors `x`")
    assert "✅ **Checks passed**" in body
    assert "⚠️ The Composer preview could not be computed: `registry.json: vendors 'x'`" in body
