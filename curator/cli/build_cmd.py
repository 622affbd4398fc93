"""``curator build``: one pinned commit of the data repository in, one static Composer
repository out (:func:`curator.build.builder.build`).

By default the build goes into the local storage (``--storage`` / ``CURATOR_STORAGE``,
default ``storage/``) as ``repository/builds/<id>/``, incrementally from the newest stored
build when there is one; ``curator deploy`` promotes it. ``--out DIR`` writes a full build to
a directory instead. Exit status 5 (with the file and field named) for a bad override, an
invalid record or an unusable ``registry.json``; a failed build leaves nothing behind.

With a signing key in the environment (``CURATOR_SIGNING_KEY`` or
``CURATOR_SIGNING_KEY_FILE``, see :mod:`curator.signing`) the manifest is signed
(``manifest.json.sig``); a malformed key is a usage error (exit 2) before anything is built.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from curator.build.builder import BuildResult
from curator.build.builder import build as run_build
from curator.build.overrides import OverrideError
from curator.build.render import ConfigError
from curator.build.worker import WorkerError
from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode
from curator.cli._revisions import resolve_revision
from curator.datarepo import DataError
from curator.gitstore import GitStoreError
from curator.storage.local import LocalStorage

if TYPE_CHECKING:
    from curator.signing import SigningKey

DEFAULT_STORAGE = Path("storage")


def _fail(lines: list[str], code: ExitCode) -> NoReturn:
    click.echo(f"curator: error: {lines[0]}", err=True)
    for line in lines[1:]:
        click.echo(f"  {line}", err=True)
    raise click.exceptions.Exit(int(code))


@click.command("build")
@click.option("--commit", metavar="SHA", help="Commit to build (default: the data ref's head).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the build to DIR (missing or empty) instead of the storage.",
)
@click.option("--full", is_flag=True, help="Render everything; do not reuse an earlier build.")
@click.option(
    "--storage",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CURATOR_STORAGE",
    help="Local build storage directory (default: storage/).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@pass_settings
def build(
    settings: Settings,
    commit: str | None,
    out: Path | None,
    full: bool,
    storage: Path | None,
    as_json: bool,
) -> None:
    """Build the static Composer v2 repository of one commit.

    Reads only the tree at the commit (never a working tree). Writes packages.json,
    p2/<vendor>/<slug>.json and ~dev.json, list.json, report.json (skipped versions and why)
    and manifest.json (last). The same commit always gives the same bytes.
    """
    from curator.signing import SigningError, load_signing_key  # imports cryptography

    try:
        signer = load_signing_key(os.environ)
    except SigningError as exc:
        _fail([str(exc)], ExitCode.USAGE)
    repo = settings.open_repo()
    # exit 2 naming --commit (or --ref) when the revision names no commit, before building
    sha = resolve_revision(repo, commit)
    target: LocalStorage | None = None
    if out is None:
        target = LocalStorage(storage or settings.storage or DEFAULT_STORAGE)
    from curator.cli._progress import CountBar

    show_bar = not settings.quiet and not as_json and sys.stderr.isatty()
    try:
        with CountBar("rendering", enabled=show_bar) as bar:
            result = run_build(
                repo,
                sha,
                target,
                out,
                full=full,
                signer=signer,
                progress=bar.set if show_bar else None,
            )
    except OverrideError as exc:
        _fail(
            [
                "bad override file(s):",
                *exc.problems,
                f"(`curator validate{f' --commit {commit}' if commit else ''}` lists every "
                "problem)",
            ],
            ExitCode.DATA,
        )
    except (ConfigError, DataError, GitStoreError) as exc:
        _fail([str(exc)], ExitCode.DATA)
    except FileExistsError as exc:
        _fail([str(exc)], ExitCode.USAGE)
    except WorkerError as exc:
        _fail(str(exc).splitlines(), ExitCode.DATA)
    if as_json:
        data = result.to_json()
        data["signed_by"] = signer.key_id if signer is not None else None
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    elif not settings.quiet:
        _print(result, signer)


def _print(result: BuildResult, signer: SigningKey | None) -> None:
    counts = result.counts
    if result.existing:
        mode = "already built (nothing written)"
    elif result.incremental:
        mode = (
            f"incremental from {result.previous[:12] if result.previous else '?'}: "
            f"{result.rendered} package(s) rendered, {result.reused} file(s) reused"
        )
    else:
        mode = "full"
        if result.full_reason:
            mode += f" ({result.full_reason})"
    click.echo(f"build    {result.build_id or '-'}")
    click.echo(f"path     {result.path}")
    click.echo(f"commit   {result.commit}  ({result.time})")
    click.echo(
        f"packages {counts.get('packages', 0)} ({counts.get('plugins', 0)} plugins, "
        f"{counts.get('themes', 0)} themes), {counts.get('versions', 0)} versions, "
        f"{counts.get('files', 0)} files"
    )
    click.echo(f"skipped  {counts.get('skipped_versions', 0)} version(s) (see report.json)")
    click.echo(f"mode     {mode}")
    if signer is not None:
        click.echo(f"signed   manifest.json.sig (key {signer.key_id})")
    else:
        click.echo("signed   no (CURATOR_SIGNING_KEY / CURATOR_SIGNING_KEY_FILE not set)")
    click.echo(f"seconds  {result.seconds:.2f}")
