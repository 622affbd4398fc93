"""``curator validate``: check every override file at a commit (:mod:`curator.review.validate`).

Prints one line per problem (``path: field: message (value: ...)``) on stdout, or the result
as JSON with ``--json``. Exit status 0 when every file is valid, 5 when there are problems
(or the data repository is unusable), 2 for a revision that names no commit.
"""

from __future__ import annotations

import json

import click

from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.cli._revisions import resolve_revision
from curator.review.validate import validate_view


@click.command("validate")
@click.option("--commit", metavar="SHA", help="Commit to check (default: the data ref's head).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@pass_settings
def validate(settings: Settings, commit: str | None, as_json: bool) -> None:
    """Check every override file: form, names, versions, constraints, paths.

    Each problem names the file, the field and the offending value. Exit status 0 when all
    override files are valid, 5 when any is not.
    """
    repo = settings.open_repo()
    sha = resolve_revision(repo, commit)
    result = validate_view(repo.view(sha))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        for problem in result.problems:
            click.echo(problem.line())
        if not settings.quiet:
            count = len(result.problems)
            verdict = "ok" if result.ok else f"{count} problem{'' if count == 1 else 's'}"
            click.echo(
                f"{verdict}: {result.files} override file(s) checked at {sha[:12]}",
                err=not result.ok,
            )
    if not result.ok:
        raise click.exceptions.Exit(int(ExitCode.DATA))
