"""``curator push``: publish the data branch's sync runs to a remote (:mod:`curator.publish`)."""

from __future__ import annotations

import json

import click

from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.datarepo import maintain
from curator.gitstore import RemoteError
from curator.publish import (
    DEFAULT_RETRIES,
    NoRemoteError,
    PublishError,
    PushAttempt,
    PushConflictError,
    PushGaveUpError,
    PushReport,
    push_runs,
    resolve_remote,
)


def push_exit_code(exc: BaseException) -> ExitCode | None:
    """The exit code of a publishing error (None: not one); shared with ``pipeline``."""
    if isinstance(exc, NoRemoteError):
        return ExitCode.USAGE
    if isinstance(exc, (PushConflictError, PushGaveUpError)):
        return ExitCode.CONFLICT
    if isinstance(exc, RemoteError):
        return ExitCode.UPSTREAM
    if isinstance(exc, PublishError):
        return ExitCode.DATA
    return None


@click.command()
@click.option(
    "--remote",
    metavar="URL_OR_PATH",
    envvar="CURATOR_REMOTE",
    help="A remote name, a path, or a file://, git://, ssh:// or https:// URL (default: the "
    "repository's curator.remote config, else its remote named origin).",
)
@click.option("--branch", help="Remote branch (default: the local branch's name).")
@click.option(
    "--retries",
    type=click.IntRange(0, 50),
    default=DEFAULT_RETRIES,
    show_default=True,
    help="Further attempts when another pusher got there first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_settings
def push(
    settings: Settings, remote: str | None, branch: str | None, retries: int, as_json: bool
) -> None:
    """Push the sync runs of the data branch to a remote, never forcing.

    If the remote moved since our runs were made, they are re-applied onto its new head
    (state/sync.json cursors merged) and pushed again, up to --retries more times. A package
    file that both sides changed differently is a conflict: exit 3, nothing pushed, the local
    branch unchanged. Exit 4 when the remote cannot be reached.
    """
    repo = settings.open_repo()
    try:
        url = resolve_remote(repo.store, remote)
        report = push_runs(
            repo,
            url,
            branch,
            retries=retries,
            on_attempt=None if settings.quiet or as_json else _say_attempt,
        )
    except (PublishError, RemoteError) as exc:
        code = push_exit_code(exc)
        assert code is not None
        click.echo(f"curator: error: {exc}", err=True)
        raise SystemExit(int(code)) from None
    maintain(repo)  # fetched and re-applied commits add packs, as sync runs do
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    elif not settings.quiet:
        click.echo(describe(report))
    for warning in report.warnings:
        click.echo(f"curator: warning: {warning}", err=True)


def _say_attempt(attempt: PushAttempt) -> None:
    if attempt.number > 1:
        head = (attempt.remote_head or "(none)")[:12]
        how = f"; {attempt.runs} run(s) re-applied onto it" if attempt.reapplied else ""
        click.echo(f"attempt {attempt.number}: the remote is at {head}{how}", err=True)


def describe(report: PushReport) -> str:
    where = f"{report.remote} {report.branch}"
    if report.status == "pushed":
        how = " (re-applied onto the remote's new commits)" if report.reapplied else ""
        old = (report.remote_before or "(new branch)")[:12]
        new = (report.remote_after or "")[:12]
        return f"Pushed {report.runs} commit(s) to {where}: {old}..{new}{how}"
    if report.status == "fast-forwarded":
        return f"Nothing to push; the local branch followed {where} to {report.local_after}"
    return f"Nothing to push; {where} is at {report.remote_after}"
