"""``curator sync``: discover, fetch and commit one sync run."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.cli._progress import BarProgress
from curator.cli._revisions import upstream_client_options
from curator.datarepo import DataRepo
from curator.layout import PackageType, is_valid_slug
from curator.pipeline import run_sync
from curator.records import Change
from curator.sync import ALL_TYPES, DEFAULT_AUTHOR, SyncOptions, SyncReport

_TYPES = {"plugin": (PackageType.PLUGIN,), "theme": (PackageType.THEME,), "all": ALL_TYPES}
type_option = click.option(
    "--type",
    "type_",
    type=click.Choice(list(_TYPES)),
    default="all",
    show_default=True,
    help="Which packages to sync.",
)
_SHOWN = (
    Change.ADDED,
    Change.UPDATED,
    Change.CLOSED,
    Change.REOPENED,
    Change.NOT_FOUND,
    Change.UNCHANGED,
    Change.FAILED,
)


@click.command()
@type_option
@click.option(
    "--slug", "slugs", multiple=True, metavar="SLUG", help="Sync only these (repeatable)."
)
@click.option("--limit", type=click.IntRange(min=0), help="At most N packages; the rest wait.")
@upstream_client_options
@click.option("--full", is_flag=True, help="Rediscover every slug from the SVN listings.")
@click.option("--dry-run", is_flag=True, help="Fetch and compare, but commit nothing.")
@click.option(
    "--author",
    default=DEFAULT_AUTHOR,
    envvar="CURATOR_AUTHOR",
    show_default=True,
    help="Git author of the sync commit, 'Name <email>'.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_settings
def sync(
    settings: Settings,
    type_: str,
    slugs: tuple[str, ...],
    limit: int | None,
    concurrency: int,
    timeout: float,
    retries: int,
    upstream: str | None,
    full: bool,
    dry_run: bool,
    author: str,
    as_json: bool,
) -> None:
    """Sync WordPress.org into the data repository as one commit.

    Discovery: the first run lists every slug from SVN; later runs read the SVN log since the
    stored cursor, plus the fixed slugs of registry.json and packages that failed before.
    Packages that fail (timeouts, 5xx, malformed answers) keep their stored record and are
    retried by the next run. Exit status 1 when any package failed.
    """
    bad = [s for s in slugs if not is_valid_slug(s)]
    if bad:
        raise click.BadParameter(
            f"invalid slug(s): {', '.join(map(repr, bad))}", param_hint="--slug"
        )
    options = SyncOptions(
        types=_TYPES[type_], slugs=slugs, limit=limit, full=full, dry_run=dry_run, author=author
    )
    show_bar = not settings.quiet and not as_json and sys.stderr.isatty()
    report = execute_sync(
        settings.open_repo(),
        options,
        upstream=upstream,
        client_options={"concurrency": concurrency, "timeout": timeout, "retries": retries},
        show_bar=show_bar,
    )
    if as_json:
        click.echo(json.dumps(report_json(report), indent=2, sort_keys=True))
    elif not settings.quiet:
        print_report(report)
    if report.failures:
        raise SystemExit(int(ExitCode.PARTIAL))


def execute_sync(
    repo: DataRepo,
    options: SyncOptions,
    *,
    upstream: str | None,
    client_options: dict[str, Any],
    show_bar: bool,
) -> SyncReport:
    """One sync run with a progress bar, then pack maintenance (:func:`run_sync`)."""
    with BarProgress(enabled=show_bar) as bar:
        return run_sync(
            repo, options, upstream=upstream, client_options=client_options, progress=bar
        )


def report_json(report: SyncReport) -> dict[str, object]:
    return {
        "run_id": report.run_id,
        "parent": report.parent,
        "commit": report.commit,
        "dry_run": report.dry_run,
        "seconds": round(report.seconds, 3),
        "timings": {k: round(v, 3) for k, v in report.timings.items()},
        "counts": {c.value: report.counts.get(c, 0) for c in _SHOWN},
        "per_type": {
            k.value: {c.value: n for c, n in counts.items()}
            for k, counts in report.per_type.items()
        },
        "failures": [{"type": k.value, "slug": s, "reason": r} for k, s, r in report.failures],
        "rejected": [{"type": k.value, "slug": s} for k, s in report.rejected],
        "deferred": report.deferred,
        "sources": report.sources,
        "changed_paths": len(report.changed_paths),
    }


def print_report(report: SyncReport) -> None:
    console = Console(width=max(110, Console().width))
    table = Table(title="Sync run summary")
    table.add_column("type")
    for change in _SHOWN:
        table.add_column(change.value.replace("_", " "), justify="right")
    for kind, counts in report.per_type.items():
        table.add_row(kind.plural, *(str(counts.get(c, 0)) for c in _SHOWN))
    if len(report.per_type) > 1:
        table.add_row("all", *(str(report.counts.get(c, 0)) for c in _SHOWN), style="bold")
    console.print(table)
    for source in report.sources:
        console.print(f"  discovery: {source}")
    if report.rejected:
        console.print(f"  skipped {len(report.rejected)} invalid slug(s) from discovery")
    if report.deferred:
        console.print(f"  {report.deferred} package(s) left for the next run (--limit)")
    for kind, slug, reason in report.failures[:50]:
        console.print(f"  [red]failed[/red] {kind.value}/{slug}: {reason}")
    if len(report.failures) > 50:
        console.print(f"  ... and {len(report.failures) - 50} more failures (see --json)")
    if report.dry_run:
        console.print(
            f"Dry run: {len(report.changed_paths)} file(s) would change; nothing committed."
        )
    elif report.commit:
        console.print(
            f"Committed {report.commit} ({len(report.changed_paths)} files)"
            f" in {report.seconds:.1f}s"
        )
    else:
        console.print(f"Nothing changed; no commit ({report.seconds:.1f}s).")
