"""``curator ci``: the checks the GitHub workflows run, runnable (and tested) locally.

- ``curator ci check-pr --base SHA --head SHA --author LOGIN [--json]``: who may change the
  paths a pull request changes, and whether its override files are valid
  (:mod:`curator.review.policy`). Exit 0 when it may be merged, 5 when not (one line per
  finding: ``path[: field]: message [rule]``), 2 for a revision that names no commit.
- ``curator ci preview --base SHA --head SHA --author LOGIN``: the Markdown comment
  (:mod:`curator.review.preview`) on stdout; exit 0.
- ``curator ci comment --repo OWNER/NAME --pr N [--base SHA] [--head SHA] [--api-url URL]``:
  the same comment, created or updated on the pull request through PyGithub
  (:mod:`curator.review.github`) with the token in ``GITHUB_TOKEN``. The author, base and
  head default to the pull request's own; with ``--head``, nothing is posted once the pull
  request has moved on. Exit 0 when posted (whatever the check found: ``check-pr`` fails the
  job), 2 without a token, 4 when GitHub cannot be reached or refuses.
- ``curator ci codeowners [--check]``: write (or check, exit 1 when stale) the CODEOWNERS
  files made from ``trustees.json`` in the checkout (:mod:`curator.review.codeowners`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from curator.build.render import ConfigError
from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.cli._revisions import resolve_revision, usage_error
from curator.datarepo import DataRepo
from curator.review.codeowners import expected_files
from curator.review.diff import DiffResult, diff_views
from curator.review.policy import PolicyError, PolicyReport, check_pull_request
from curator.review.preview import MAX_COMMENT, render_preview
from curator.review.rules import TRUSTEES_FILE
from curator.review.trustees import parse_trustees

__all__ = ["check_pr", "ci", "codeowners", "comment", "preview"]


@click.group("ci")
def ci() -> None:
    """Pull-request checks and previews, as the GitHub workflows run them."""


def _check(repo: DataRepo, base: str, head: str, author: str) -> PolicyReport:
    base_sha = resolve_revision(repo, base, "--base")
    head_sha = resolve_revision(repo, head, "--head")
    try:
        return check_pull_request(repo, base_sha, head_sha, author)
    except PolicyError as exc:
        usage_error(str(exc))


def _body(repo: DataRepo, report: PolicyReport, limit: int = MAX_COMMENT) -> str:
    diff: DiffResult | None = None
    error: str | None = None
    try:
        diff = diff_views(repo, repo.view(report.merge_base), repo.view(report.head))
    except ConfigError as exc:
        error = str(exc)
    return render_preview(report, diff, diff_error=error, limit=limit)


_base = click.option("--base", required=True, metavar="SHA", help="The base branch's commit.")
_head = click.option("--head", required=True, metavar="SHA", help="The pull request's head.")
_author = click.option(
    "--author", required=True, metavar="LOGIN", help="GitHub login of the pull request's author."
)


@ci.command("check-pr")
@_base
@_head
@_author
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_settings
def check_pr(settings: Settings, base: str, head: str, author: str, as_json: bool) -> None:
    """Check a pull request: who may change its paths, and its override files.

    Trustees (from trustees.json at BASE) may change overrides/, registry.json,
    trustees.json, CODEOWNERS and README.md; only the curator bot may change packages/ and
    state/; nothing else may change. Every override file at HEAD must be valid. Exit 0 when
    the pull request may be merged, 5 when not.
    """
    report = _check(settings.open_repo(), base, head, author)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for finding in report.findings:
            click.echo(finding.line())
        if not settings.quiet:
            count = len(report.findings)
            verdict = "ok" if report.ok else f"rejected: {count} finding{'s' * (count != 1)}"
            click.echo(
                f"{verdict}: {len(report.changes)} data file(s) changed by {author} "
                f"({report.role.value}) since {report.merge_base[:12]}",
                err=not report.ok,
            )
    if not report.ok:
        raise click.exceptions.Exit(int(ExitCode.DATA))


@ci.command("preview")
@_base
@_head
@_author
@pass_settings
def preview(settings: Settings, base: str, head: str, author: str) -> None:
    """Print the pull-request comment (check findings and Composer changes) as Markdown."""
    repo = settings.open_repo()
    click.echo(_body(repo, _check(repo, base, head, author)), nl=False)


@ci.command("comment")
@click.option(
    "--repo",
    "repo_name",
    required=True,
    envvar="GITHUB_REPOSITORY",
    metavar="OWNER/NAME",
    help="The GitHub repository of the pull request (default: $GITHUB_REPOSITORY).",
)
@click.option(
    "--pr",
    "number",
    required=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="The pull request's number.",
)
@click.option("--base", metavar="SHA", help="Base commit (default: the pull request's).")
@click.option("--head", metavar="SHA", help="Head commit (default: the pull request's).")
@click.option("--author", metavar="LOGIN", help="Author (default: the pull request's).")
@click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    default="https://api.github.com",
    show_default=True,
    help="GitHub's REST API (default: $GITHUB_API_URL).",
)
@click.option(
    "--comment-author",
    default="github-actions[bot]",
    show_default=True,
    metavar="LOGIN",
    help="Whose marked comment is ours to update (the token's login).",
)
@pass_settings
def comment(
    settings: Settings,
    repo_name: str,
    number: int,
    base: str | None,
    head: str | None,
    author: str | None,
    api_url: str,
    comment_author: str,
) -> None:
    """Post the preview on a pull request, or update the one posted before.

    The token comes from GITHUB_TOKEN. Exit 0 when posted (check-pr is what fails a job),
    4 when GitHub cannot be reached or refuses the request.
    """
    from curator.review.github import (
        GitHubError,
        GitHubSettings,
        check_repo_name,
        connect,
        open_repository,
        post_preview,
        read_pull_request,
    )

    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        usage_error("GITHUB_TOKEN is not set: the comment needs a token")
    try:
        check_repo_name(repo_name)
    except ValueError as exc:
        usage_error(f"--repo: {exc}")
    repo = settings.open_repo()
    client = connect(GitHubSettings(token=token, api_url=api_url))
    try:
        github_repo = open_repository(client, repo_name)
        pull = read_pull_request(github_repo, number)
        report = _check(repo, base or pull.base, head or pull.head, author or pull.author)
        result = post_preview(
            github_repo,
            number,
            _body(repo, report),
            head=report.head,
            comment_author=comment_author,
        )
    except GitHubError as exc:
        click.echo(f"curator: error: {exc}", err=True)
        raise click.exceptions.Exit(int(ExitCode.UPSTREAM)) from None
    finally:
        client.close()
    if not settings.quiet:
        where = f" {result.url}" if result.url else ""
        why = f": {result.reason}" if result.reason else ""
        click.echo(f"{result.action} the preview comment on #{number}{where}{why}")


@ci.command("codeowners")
@click.option("--check", is_flag=True, help="Fail (exit 1) when a CODEOWNERS file is stale.")
@pass_settings
def codeowners(settings: Settings, check: bool) -> None:
    """Write the CODEOWNERS files from trustees.json (in the checkout, not a commit).

    <prefix>CODEOWNERS has paths relative to the data tree (the root CODEOWNERS of a
    data-only repository); .github/CODEOWNERS has them with the prefix.
    """
    repo = settings.open_repo()
    if repo.store.bare:
        usage_error(f"{repo.store.path} is a bare repository: run this in a checkout")
    root = repo.store.path
    source = root / f"{repo.prefix}{TRUSTEES_FILE}"
    try:
        raw = source.read_bytes()
    except OSError as exc:
        click.echo(f"curator: error: cannot read {source}: {exc.strerror}", err=True)
        raise click.exceptions.Exit(int(ExitCode.DATA)) from None
    parsed = parse_trustees(raw, f"{repo.prefix}{TRUSTEES_FILE}")
    if isinstance(parsed, list):
        for problem in parsed:
            click.echo(problem.line(), err=True)
        raise click.exceptions.Exit(int(ExitCode.DATA))
    files = expected_files(root, repo.prefix, parsed)
    if check:
        stale = [f for f in files if not f.is_current()]
        for f in stale:
            click.echo(f"stale: {_shown(f.path, root)}", err=True)
        if stale:
            click.echo("run `curator ci codeowners` and commit the result", err=True)
            raise click.exceptions.Exit(int(ExitCode.PARTIAL))
        click.echo(f"CODEOWNERS files agree with {repo.prefix}{TRUSTEES_FILE}")
        return
    for f in files:
        f.path.parent.mkdir(parents=True, exist_ok=True)
        f.path.write_text(f.expected, encoding="utf-8")
        click.echo(f"wrote {_shown(f.path, root)}")


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root))
