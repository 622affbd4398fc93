"""``curator log``: the sync runs recorded in the data repository, newest first."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.console import Console
from rich.table import Table

from curator.cli._context import Settings, pass_settings
from curator.records import Change
from curator.runlog import RunInfo, read_run


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.command("log")
@click.option(
    "-n",
    "--max-count",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="List at most N runs, newest first.",
)
@click.option("--all", "show_all", is_flag=True, help="Also list commits that are not sync runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_settings
def log_(settings: Settings, max_count: int, show_all: bool, as_json: bool) -> None:
    """List sync runs: commit SHA (the snapshot id), time and counts."""
    repo = settings.open_repo()
    runs: list[RunInfo] = []
    for info in repo.store.log(repo.ref):
        run = read_run(info.sha, info.timestamp, info.subject, info.trailers)
        if run.is_sync or show_all:
            runs.append(run)
        if len(runs) >= max_count:
            break
    if as_json:
        for run in runs:
            record = {
                "commit": run.sha,
                "time": _iso(run.timestamp),
                "run_id": run.run_id,
                "subject": run.subject,
                "counts": {c.value: n for c, n in run.counts.items()},
            }
            click.echo(json.dumps(record, sort_keys=True))
        return
    if not runs:
        click.echo(f"No sync runs on {repo.ref} yet.")
        return
    table = Table(title=f"Sync runs on {repo.ref}")
    table.add_column("commit")
    table.add_column("time (UTC)")
    cols = (Change.ADDED, Change.UPDATED, Change.CLOSED, Change.NOT_FOUND, Change.FAILED)
    for change in cols:
        table.add_column(change.value.replace("_", " "), justify="right")
    for run in runs:
        counts = [str(run.counts.get(c, "")) if run.is_sync else "" for c in cols]
        table.add_row(run.sha[:12], _iso(run.timestamp), *counts)
    Console(width=max(100, Console().width)).print(table)
