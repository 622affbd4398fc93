"""``curator diff A B``: the changes a Composer user would see between two commits
(:mod:`curator.review.diff`), as a Markdown summary or as JSON (``--json``).

Exit status 0 whenever the diff was computed (with or without changes), 2 for a revision that
names no commit, 5 for an unusable data repository or ``registry.json``.
"""

from __future__ import annotations

import json

import click

from curator.build.render import ConfigError
from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.cli._revisions import resolve_revision
from curator.review.diff import diff_views, render_text


@click.command("diff")
@click.argument("base", metavar="A")
@click.argument("head", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option(
    "--max-packages",
    type=click.IntRange(min=0),
    metavar="N",
    help="Text only: describe the first N packages and count the rest.",
)
@pass_settings
def diff(settings: Settings, base: str, head: str, as_json: bool, max_packages: int | None) -> None:
    """Show what Composer users would see change from commit A to commit B.

    Per package: versions added, removed, yanked; requirements changed; abandoned, closed,
    blocked. A and B are revisions: a sha, a short sha or a ref name.
    """
    repo = settings.open_repo()
    a = repo.view(resolve_revision(repo, base, "A"))
    b = repo.view(resolve_revision(repo, head, "B"))
    try:
        result = diff_views(repo, a, b)
    except ConfigError as exc:
        click.echo(f"curator: error: {exc}", err=True)
        raise click.exceptions.Exit(int(ExitCode.DATA)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(result, max_packages=max_packages), nl=False)
