"""``curator doctor``: check the configuration, data repository, builds, storage, runtime
database and S3 deploy settings, and say what to fix (:mod:`curator.doctor`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.doctor import (
    DEFAULT_STALE_AFTER,
    Check,
    Status,
    check_deploy,
    check_repository,
    check_storage,
    local_commit,
    overall,
)

DEFAULT_STORAGE = Path("storage")
_MARK = {Status.OK: "ok", Status.WARN: "WARN", Status.FAIL: "FAIL"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: status and checks.")
@click.option("--full", is_flag=True, help="Hash every file of the current build (slower).")
@click.option("--online", is_flag=True, help="Also read the deployed manifest from S3/R2.")
@click.option(
    "--database-url",
    envvar="CURATOR_DATABASE_URL",
    help="Runtime database (default: <storage>/runtime/runtime.sqlite3).",
)
@click.option(
    "--to",
    "deploy_to",
    metavar="s3://BUCKET/PREFIX",
    envvar="CURATOR_DEPLOY_TO",
    help="The S3/R2 deploy target to check (default: none).",
)
@click.option("--endpoint-url", envvar="CURATOR_S3_ENDPOINT", help="S3-compatible endpoint.")
@click.option(
    "--stale-after",
    type=click.FloatRange(min=1),
    default=DEFAULT_STALE_AFTER,
    show_default=True,
    help="Seconds after which the last sync run and the served data count as old.",
)
@pass_settings
def doctor(
    settings: Settings,
    as_json: bool,
    full: bool,
    online: bool,
    database_url: str | None,
    deploy_to: str | None,
    endpoint_url: str | None,
    stale_after: float,
) -> None:
    """Check the installation and say what to fix.

    Checks registry.json, the data repository (head, objects, prefix, state, packs, last
    sync run), the build storage (writable, `current` and its build, disk space), the
    runtime database (connects, migrations, WAL) and the S3/R2 deploy settings. Nothing is
    changed and nothing is fetched (except with --online). Exit status 0 when nothing
    failed (warnings allowed), 5 when a check failed.
    """
    from server.runtime.check import check_database
    from server.runtime.engine import default_url

    storage = settings.storage or DEFAULT_STORAGE
    checks: list[Check] = []
    checks += check_repository(
        settings.repo, settings.prefix, settings.ref, stale_after=stale_after
    )
    checks += check_storage(storage, full=full, stale_after=stale_after)
    checks += check_database(database_url or default_url(storage))
    checks += check_deploy(
        deploy_to,
        endpoint_url,
        os.environ,
        online=online,
        local_commit=local_commit(storage) if online else None,
    )
    status = overall(checks)
    if as_json:
        document = {"status": status.value, "checks": [c.to_json() for c in checks]}
        click.echo(json.dumps(document, indent=2))
    else:
        _print(checks, status)
    if status is Status.FAIL:
        raise SystemExit(int(ExitCode.DATA))


def _print(checks: list[Check], status: Status) -> None:
    width = max(len(f"{c.area} {c.name}") for c in checks)
    for check in checks:
        label = f"{check.area} {check.name}".ljust(width)
        click.echo(f"{_MARK[check.status]:4}  {label}  {check.detail}")
        if check.fix:
            click.echo(f"{'':4}  {'':{width}}  fix: {check.fix}")
    counts = {s: sum(1 for c in checks if c.status is s) for s in Status}
    click.echo(
        f"\n{status.value}: {counts[Status.OK]} ok, {counts[Status.WARN]} warnings, "
        f"{counts[Status.FAIL]} failures"
    )
