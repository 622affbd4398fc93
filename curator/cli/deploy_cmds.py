"""``curator deploy | rollback | cleanup | verify | builds``: promote and publish builds.

Local storage (``--storage DIR``, default ``storage/``, env ``CURATOR_STORAGE``) holds
``repository/builds/<id>/`` and the ``repository/current`` symlink. ``deploy`` without
``--to`` promotes a build locally; with ``--to s3://bucket/prefix`` it uploads it to S3/R2.

Exit codes: 0 ok; 1 verification found mismatches or the build is invalid; 2 bad usage
(unknown or malformed build id, malformed URL); 5 storage or bucket problem (no storage
directory, missing manifest, network, credentials). Messages name the offending file.
``verify --against`` (a mirror's check of a published registry,
:mod:`curator.cli.verify_against`) exits 5 for any failed check.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from curator.build.manifest import (
    InvalidBuildError,
    Manifest,
    ManifestError,
    read_manifest,
    validate_build,
)
from curator.cli._context import Settings
from curator.cli._errors import ExitCode
from curator.storage.local import LocalStorage, NoSuchBuildError, StorageError

DEFAULT_STORAGE = Path("storage")


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"curator: error: {message}", err=True)
    raise click.exceptions.Exit(int(code))


@contextmanager
def _errors() -> Iterator[None]:
    """Map domain errors to one clear message and the documented exit code."""
    from curator.deploy.s3 import DeployError, S3Error

    try:
        yield
    except InvalidBuildError as exc:
        click.echo(f"curator: error: {exc.what} is not a valid build:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise click.exceptions.Exit(int(ExitCode.PARTIAL)) from exc
    except NoSuchBuildError as exc:
        store = _storage(click.get_current_context().params.get("storage"))
        _fail(
            f"no build {exc.build_id!r} in {store.builds_dir} (`curator builds` lists them)",
            ExitCode.USAGE,
        )
    except (StorageError, ManifestError, S3Error, DeployError) as exc:
        _fail(str(exc), ExitCode.DATA)
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{name}{exc.strerror or exc}", ExitCode.DATA)


def _storage(storage: Path | None) -> LocalStorage:
    ctx = click.get_current_context()
    settings = ctx.find_object(Settings)
    root = storage or (settings.storage if settings else None) or DEFAULT_STORAGE
    return LocalStorage(root)


def _existing_storage(storage: Path | None) -> LocalStorage:
    """The storage, or exit 5 naming it when it does not exist (a mistyped --storage)."""
    store = _storage(storage)
    if not store.root.is_dir():
        _fail(
            f"storage directory {store.root} does not exist: give --storage DIR (or set "
            "CURATOR_STORAGE) naming the one `curator build` writes to",
            ExitCode.DATA,
        )
    return store


def _build_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a build id is a directory name in the storage, nothing else."""
    from curator.storage.local import check_build_id

    if value is not None:
        try:
            check_build_id(value)
        except ValueError as exc:
            raise click.BadParameter(f"{exc} (`curator builds` lists them)") from None
    return value


def _quiet() -> bool:
    settings = click.get_current_context().find_object(Settings)
    return bool(settings and settings.quiet)


def _storage_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--storage",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="CURATOR_STORAGE",
        help="Local build storage directory (default: storage/).",
    )(f)


def _s3_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--region", envvar="AWS_REGION", help="Bucket region (R2: auto; default us-east-1)."
    )(f)
    return click.option(
        "--endpoint-url",
        envvar="CURATOR_S3_ENDPOINT",
        help="S3-compatible endpoint (R2, MinIO, seaweedfs); credentials come from the "
        "standard AWS environment variables or config.",
    )(f)


grace_hours_option = click.option(
    "--grace-hours",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="With --to: delete keys the build no longer names once orphaned this long.",
)
workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 128),
    default=16,
    show_default=True,
    help="Files hashed or transferred in parallel.",
)


def _check_url(url: str, option: str) -> tuple[str, str]:
    from curator.deploy.plan import parse_s3_url

    try:
        return parse_s3_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc


def _bucket(url: str, endpoint_url: str | None, region: str | None, workers: int) -> Any:
    from curator.deploy.s3 import S3Bucket, make_client

    bucket, prefix = _check_url(url, "--to/--bucket")
    client = make_client(endpoint_url=endpoint_url, region=region, max_pool_connections=workers + 4)
    return S3Bucket(client, bucket, prefix)


@click.command("deploy")
@click.argument("build_id", required=False, callback=_build_id)
@click.option("--to", "to", metavar="s3://BUCKET/PREFIX", help="Upload to S3/R2 instead.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="With --to: upload this build directory instead of a stored build.",
)
@_s3_options
@grace_hours_option
@workers_option
@click.option("--dry-run", is_flag=True, help="With --to: plan and report, write nothing.")
@click.option(
    "--rescan",
    is_flag=True,
    help="With --to: list every key under the prefix (normally done only when the deploy "
    "bookkeeping cannot be trusted, or daily): re-uploads objects deleted or altered in "
    "size behind the deployer's back and schedules keys it did not write for deletion.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_storage_option
def deploy(
    build_id: str | None,
    to: str | None,
    directory: Path | None,
    endpoint_url: str | None,
    region: str | None,
    grace_hours: float,
    workers: int,
    dry_run: bool,
    rescan: bool,
    as_json: bool,
    storage: Path | None,
) -> None:
    """Promote BUILD_ID locally, or upload it to S3/R2 with --to.

    Without BUILD_ID: locally, the newest valid build; with --to, the current (promoted)
    build, else the newest valid one. A build that fails validation is never promoted nor
    uploaded. Uploads send only files whose sha256 differs from the deployed manifest,
    p2 files first and packages.json, manifest.json last. The bucket is listed only when
    the deploy bookkeeping under .curator/ cannot be trusted or once a day (--rescan: now).
    """
    if to is not None:
        _check_url(to, "--to")
    with _errors():
        store = _storage(storage)
        if to is None:
            if directory is not None or dry_run or rescan:
                raise click.UsageError("--dir, --dry-run and --rescan need --to")
            store = _existing_storage(storage)
            target_id = build_id or store.newest_valid()
            if target_id is None:
                _fail(f"no valid build in {store.builds_dir}", ExitCode.DATA)
            previous = store.current()
            info = store.promote(target_id)
            if as_json:
                click.echo(
                    json.dumps(
                        {"build": info.id, "commit": info.commit, "previous": previous},
                        sort_keys=True,
                    )
                )
            else:
                click.echo(f"promoted {info.id} (commit {info.commit}); previous: {previous}")
            return

        if directory is not None and build_id is not None:
            raise click.UsageError("give BUILD_ID or --dir, not both")
        cache = None  # a stored build: files the last validation read are not read again
        if directory is None:
            store = _existing_storage(storage)
            cache = store.file_cache()
            chosen = build_id or store.current() or store.newest_valid()
            if chosen is None:
                _fail(f"no valid build in {store.builds_dir}", ExitCode.DATA)
            directory = store.build_path(chosen)
            if not directory.is_dir():
                raise NoSuchBuildError(chosen)

        from curator.deploy.s3 import deploy_build

        target = _bucket(to, endpoint_url, region, workers)
        if not _quiet() and not as_json:
            click.echo(f"deploying {directory} to {target.url} ...", err=True)
        from curator.cli._progress import CountBar

        show_bar = not _quiet() and not as_json and sys.stderr.isatty()
        with CountBar("uploading", enabled=show_bar) as bar:
            report = deploy_build(
                directory,
                target,
                grace=dt.timedelta(hours=grace_hours),
                workers=workers,
                dry_run=dry_run,
                rescan=True if rescan else None,
                cache=cache,
                on_plan=bar.start if show_bar else None,
                on_upload=bar.advance if show_bar else None,
            )
        if cache is not None:
            store.keep_file_cache(cache)
        if as_json:
            click.echo(json.dumps(report.as_dict(), sort_keys=True))
            return
        verb = "would upload" if dry_run else "uploaded"
        click.echo(
            f"{verb} {report.uploaded} of {report.files} files "
            f"({report.bytes_uploaded:,} bytes), skipped {report.skipped} unchanged; "
            f"deleted {report.deleted}, newly orphaned {report.scheduled}, "
            f"pending deletion {report.pending}; commit {report.commit} "
            f"(was {report.previous_commit}); "
            f"{'listed the bucket' if report.scanned else 'no listing needed'}; "
            f"{report.seconds:.1f} s"
        )


@click.command("rollback")
@click.argument("build_id", required=False, callback=_build_id)
@_storage_option
def rollback(build_id: str | None, storage: Path | None) -> None:
    """Switch the local `current` build back to BUILD_ID, or to the previously promoted one."""
    with _errors():
        store = _existing_storage(storage)
        previous = store.current()
        info = store.rollback(build_id)
        click.echo(f"current is now {info.id} (commit {info.commit}); was {previous}")


@click.command("cleanup")
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="How many of the newest builds to keep (the current build and the one a "
    "rollback would return to are always kept).",
)
@_storage_option
def cleanup(keep: int, storage: Path | None) -> None:
    """Delete old local builds."""
    with _errors():
        store = _existing_storage(storage)
        removed = store.cleanup(keep)
        for build_id in removed:
            click.echo(f"removed {build_id}")
        if not _quiet():
            click.echo(f"{len(removed)} build(s) removed, {len(store.build_ids())} kept", err=True)


@click.command("verify")
@click.option(
    "--build",
    "build_id",
    metavar="ID",
    callback=_build_id,
    help="A stored build (default: current).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="A build or deployed directory.",
)
@click.option("--bucket", metavar="s3://BUCKET/PREFIX", help="A deployed S3/R2 prefix.")
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(path_type=Path, exists=True),
    help="Compare with this manifest.json (or build directory) instead of the target's own.",
)
@click.option(
    "--against",
    metavar="URL|DIR",
    help="A published registry (http(s) URL or directory): compare it with the commit's "
    "build (signature, rollback, manifest, every file). Exit status 5 if anything fails.",
)
@click.option(
    "--commit",
    metavar="SHA",
    help="With --against: the commit to check (default: the one the published manifest names).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="With --against: rebuild the commit in a temporary directory even when the storage "
    "holds a build of it that validates.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    help="With --against: check every root file and N random p2 files only.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --against: the rollback state file (default: "
    "$XDG_STATE_HOME/curator/verify.json or ~/.local/state/curator/verify.json).",
)
@click.option(
    "--allow-rollback",
    is_flag=True,
    help="With --against: accept a manifest older than the newest one accepted before.",
)
@click.option("--json", "as_json", is_flag=True, help="With --against: print the outcome as JSON.")
@_s3_options
@workers_option
@_storage_option
def verify(
    build_id: str | None,
    directory: Path | None,
    bucket: str | None,
    manifest_file: Path | None,
    against: str | None,
    commit: str | None,
    sample: int | None,
    state_path: Path | None,
    allow_rollback: bool,
    rebuild: bool,
    as_json: bool,
    endpoint_url: str | None,
    region: str | None,
    workers: int,
    storage: Path | None,
) -> None:
    """Compare a build, directory or bucket with a manifest, file by file.

    Every file is hashed (S3 objects are downloaded). Without --manifest a directory is
    validated against its own manifest.json, a bucket against its deployed manifest.json.
    Exit status 1 if anything differs; each difference names the file.

    With --against URL|DIR (a mirror's check): check the published manifest's signature
    against the keys registry.json pins at the commit, refuse a manifest older than one
    accepted before, then require the published manifest to be byte-identical to the
    commit's build and every file to match it. That build is the storage's build of the
    commit when there is one that validates (and names this commit, tree and builder
    version), else a rebuild from the data repository in a temporary directory; --rebuild
    always rebuilds. The output names the reference used. A stored build is trusted as far
    as the storage is: to check what this storage itself serves, use --rebuild.
    """
    chosen = [x for x in (build_id, directory, bucket) if x is not None]
    if against is not None:
        if chosen or manifest_file is not None:
            raise click.UsageError(
                "--against cannot be combined with --build/--dir/--bucket/--manifest"
            )
        from curator.cli.verify_against import run_against

        settings = click.get_current_context().find_object(Settings)
        if settings is None:  # called outside the curator group
            settings = Settings(repo=None, prefix=None, ref=None, verbose=0, quiet=False)
        run_against(
            settings,
            against=against,
            commit=commit,
            sample=sample,
            state_path=state_path,
            allow_rollback=allow_rollback,
            workers=workers,
            storage=None if rebuild else _storage(storage),
            as_json=as_json,
        )
        return
    against_only = (commit, sample, state_path)
    if any(x is not None for x in against_only) or allow_rollback or rebuild or as_json:
        raise click.UsageError(
            "--commit, --sample, --state, --allow-rollback, --rebuild and --json need --against"
        )
    if len(chosen) > 1:
        raise click.UsageError("give at most one of --build, --dir, --bucket")
    if bucket is not None:
        _check_url(bucket, "--bucket")
    with _errors():
        expected: Manifest | None = read_manifest(manifest_file) if manifest_file else None
        manifest: Manifest | None
        if bucket is not None:
            from curator.deploy.verify import read_bucket_manifest, verify_bucket

            target = _bucket(bucket, endpoint_url, region, workers)
            manifest = expected or read_bucket_manifest(target)
            problems = [str(m) for m in verify_bucket(target, manifest, workers=workers)]
            where = target.url
        else:
            if directory is None:
                store = _existing_storage(storage)
                name = build_id or store.current()
                if name is None:
                    _fail(
                        f"nothing promoted in {store.repository}: give --build or --dir",
                        ExitCode.USAGE,
                    )
                directory = store.build_path(name)
                if not directory.is_dir():
                    raise NoSuchBuildError(name)
            if expected is None:
                problems = validate_build(directory)
                manifest = read_manifest(directory) if not problems else None
            else:
                from curator.deploy.verify import verify_directory

                manifest = expected
                problems = [str(m) for m in verify_directory(directory, expected)]
            where = str(directory)
        for problem in problems:
            click.echo(problem)
        if problems:
            _fail(f"{where}: {len(problems)} mismatch(es)", ExitCode.PARTIAL)
        commit = manifest.commit if manifest else "?"
        count = len(manifest.files) if manifest else 0
        click.echo(f"ok: {where} matches the manifest of commit {commit} ({count} files)")


@click.command("builds")
@click.option("--validate", is_flag=True, help="Hash every file of every build (slow).")
@_storage_option
def builds(validate: bool, storage: Path | None) -> None:
    """List local builds, oldest first; `*` marks the current one."""
    with _errors():
        store = _existing_storage(storage)
        current = store.current()
        infos = store.builds(validate=validate)
        if not infos:
            click.echo(f"no builds in {store.builds_dir}")
        for info in infos:
            mark = "*" if info.id == current else " "
            state = "" if info.valid is None else ("  valid" if info.valid else "  INVALID")
            click.echo(f"{mark} {info.id}  {info.commit or '?'}  {info.time or '?'}{state}")


__all__ = ["builds", "cleanup", "deploy", "rollback", "verify"]
