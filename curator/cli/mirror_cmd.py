"""``curator mirror clone URL DIR`` and ``curator mirror fetch``: keep a copy of the data
repository to rebuild and verify the published registry from (:mod:`curator.mirror.clone`).

Exit codes: 0 ok (``fetch`` also when already up to date); 2 bad usage (DIR not empty);
5 the remote cannot be read, has no such branch or data tree, or rewrote its history (the
mirror is left unchanged).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from curator.cli._context import Settings, pass_settings
from curator.cli._errors import ExitCode

__all__ = ["clone", "fetch", "mirror"]


def _fail(message: str, code: ExitCode = ExitCode.DATA) -> NoReturn:
    click.echo(f"curator: error: {message}", err=True)
    raise click.exceptions.Exit(int(code))


@click.group()
def mirror() -> None:
    """Mirror the data repository (then `curator --repo DIR verify --against URL`)."""


@mirror.command("clone")
@click.argument("url")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--branch", default="main", show_default=True, help="The branch to mirror.")
@click.option(
    "--prefix",
    "data_prefix",
    help="Path of the data tree in the repository (default: found: 'registry-data/' if it "
    "holds registry.json, else the root).",
)
@pass_settings
def clone(
    settings: Settings, url: str, directory: Path, branch: str, data_prefix: str | None
) -> None:
    """Clone BRANCH of the data repository at URL into a new bare repository DIRECTORY.

    URL is a path, file://, git://, ssh:// or http(s):// location. The remote, branch and
    data prefix are remembered in DIRECTORY's git config (curator.remote, curator.branch,
    curator.prefix), so `curator --repo DIRECTORY mirror fetch | build | verify` work.
    """
    from curator.gitstore import GitStoreError
    from curator.mirror.clone import MirrorError, clone_mirror

    prefix = data_prefix if data_prefix is not None else settings.prefix
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        _fail(f"{directory}: exists and is not an empty directory", ExitCode.USAGE)
    try:
        result = clone_mirror(url, directory, branch=branch, prefix=prefix)
    except (MirrorError, GitStoreError) as exc:
        _fail(str(exc))
    if not settings.quiet:
        click.echo(
            f"cloned {result.remote} {result.branch} at {result.commit} into {result.path} "
            f"(data prefix {result.prefix!r})"
        )


@mirror.command("fetch")
@click.option("--remote", metavar="URL", help="Fetch from here instead of curator.remote.")
@click.option("--branch", help="The branch (default: curator.branch).")
@pass_settings
def fetch(settings: Settings, remote: str | None, branch: str | None) -> None:
    """Update the mirror (--repo, default: the repository around the current directory)
    from its remote, fast-forward only: an upstream that rewrote its history is refused
    and the mirror keeps what it has."""
    from curator.gitstore import GitStore, GitStoreError
    from curator.mirror.clone import MirrorError, fetch_mirror

    try:
        with GitStore.discover(settings.repo or Path.cwd()) as store:
            result = fetch_mirror(store, remote=remote, branch=branch)
    except (MirrorError, GitStoreError) as exc:
        _fail(str(exc))
    if settings.quiet:
        return
    if not result.updated:
        click.echo(f"up to date: {result.branch} at {result.new} ({result.remote})")
    else:
        was = result.old[:12] if result.old else "(none)"
        click.echo(
            f"{result.branch}: {was}..{result.new[:12]} ({result.commits} new commit(s) "
            f"from {result.remote})"
        )
