"""``curator pipeline``: sync, build, deploy, under a lock (a second pipeline exits at once)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click

from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.cli._revisions import upstream_client_options
from curator.cli.deploy_cmds import grace_hours_option
from curator.cli.sync_cmd import _TYPES, print_report, report_json, type_option
from curator.pipeline import PipelineLockedError, PipelineOptions, pipeline_lock, run_pipeline
from curator.sync import SyncOptions

DEFAULT_STORAGE = Path("storage")


@click.command()
@type_option
@click.option("--limit", type=click.IntRange(min=0), help="At most N packages this run.")
@upstream_client_options
@click.option(
    "--to",
    metavar="s3://BUCKET/PREFIX",
    envvar="CURATOR_DEPLOY_TO",
    help="Also upload the build to S3/R2.",
)
@click.option("--endpoint-url", envvar="CURATOR_S3_ENDPOINT", help="S3-compatible endpoint.")
@grace_hours_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every step.")
@pass_settings
def pipeline(
    settings: Settings,
    type_: str,
    limit: int | None,
    concurrency: int,
    timeout: float,
    retries: int,
    upstream: str | None,
    to: str | None,
    endpoint_url: str | None,
    grace_hours: float,
    as_json: bool,
) -> None:
    """Sync, build (incrementally) and deploy: the registry's periodic job.

    Holds `<storage>/pipeline.lock` for the whole run; a second pipeline exits at once with
    status 3. The build is promoted locally (the `current` symlink) when it validates, and
    uploaded to S3/R2 with --to. Packages that failed to sync do not stop the build (their
    stored data is untouched); the exit status is then 1. With CURATOR_SIGNING_KEY (or
    CURATOR_SIGNING_KEY_FILE) set, the build's manifest is signed.
    """
    from curator.cli._progress import BarProgress
    from curator.signing import SigningError, load_signing_key

    if to is not None:  # a bad target is a usage error before anything runs
        from curator.cli.deploy_cmds import _check_url

        _check_url(to, "--to")

    try:
        signer = load_signing_key(os.environ)
    except SigningError as exc:
        click.echo(f"curator: error: {exc}", err=True)
        raise SystemExit(int(ExitCode.USAGE)) from None

    storage_root = settings.storage or DEFAULT_STORAGE
    options = PipelineOptions(
        sync=SyncOptions(types=_TYPES[type_], limit=limit),
        upstream=upstream,
        client_options={"concurrency": concurrency, "timeout": timeout, "retries": retries},
    )
    result: dict[str, object] = {}
    try:
        with pipeline_lock(storage_root):
            repo = settings.open_repo()
            show_bar = not settings.quiet and not as_json and sys.stderr.isatty()
            with BarProgress(enabled=show_bar) as bar:
                done = run_pipeline(repo, storage_root, options, signer=signer, progress=bar)
            sync_report, built = done.sync, done.build
            result["sync"] = report_json(sync_report)
            if not as_json and not settings.quiet:
                print_report(sync_report)
            result["build"] = built.to_json()
            result["promoted"] = done.promoted
            _say(settings, as_json, f"built {built.build_id} ({built.seconds:.1f} s); current")
            if to is not None:
                from curator.cli.deploy_cmds import _bucket
                from curator.deploy.s3 import deploy_build
                from curator.storage.local import LocalStorage

                stored = LocalStorage(storage_root)
                cache = stored.file_cache()  # the promotion just validated this build
                deployed = deploy_build(
                    built.path,
                    _bucket(to, endpoint_url, None, 16),
                    grace=dt.timedelta(hours=grace_hours),
                    cache=cache,
                )
                stored.keep_file_cache(cache)
                result["deploy"] = deployed.as_dict()
                _say(settings, as_json, f"uploaded {deployed.uploaded} files to {to}")
    except PipelineLockedError as exc:
        click.echo(f"curator: error: {exc}", err=True)
        raise SystemExit(int(ExitCode.CONFLICT)) from None
    if as_json:
        click.echo(json.dumps(result, sort_keys=True, default=str))
    if sync_report.failures:
        raise SystemExit(int(ExitCode.PARTIAL))


def _say(settings: Settings, as_json: bool, text: str) -> None:
    if not as_json and not settings.quiet:
        click.echo(text)
