"""``curator init DIR``: create a new data repository with its configuration committed."""

from __future__ import annotations

import time
from pathlib import Path

import click

from curator.build.text import http_url
from curator.cli._app import check_prefix
from curator.cli._errors import ExitCode
from curator.datarepo import DEFAULT_PREFIX, create
from curator.layout import is_valid_slug, normalize_prefix
from curator.models import RegistryConfig, UpstreamConfig
from curator.models.config import DiscoveryConfig
from curator.sync import DEFAULT_AUTHOR


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--prefix",
    "data_prefix",
    default=DEFAULT_PREFIX,
    show_default=True,
    help="Where the data tree lives in the repository ('' for a data-only repository). "
    "Remembered in the repository's config, so later commands need no --prefix.",
)
@click.option(
    "--name",
    default="WordPress.org Composer registry",
    show_default=True,
    help="Name of the registry (registry.json).",
)
@click.option("--upstream", metavar="BASE", help="Point every upstream endpoint at BASE.")
@click.option("--plugin", "plugins", multiple=True, metavar="SLUG", help="Fixed plugin slug.")
@click.option("--theme", "themes", multiple=True, metavar="SLUG", help="Fixed theme slug.")
@click.option("--no-svn", is_flag=True, help="Sync only the fixed slugs (no SVN discovery).")
@click.option("--branch", default="main", show_default=True, help="Branch the sync runs commit to.")
@click.option(
    "--public-url",
    metavar="URL",
    help="Absolute base URL the Composer repository is served from (metadata-url, list).",
)
@click.option(
    "--notify-batch",
    metavar="URL",
    help="Absolute URL Composer reports installs to (e.g. https://host/downloads).",
)
def init(
    directory: Path,
    data_prefix: str,
    name: str,
    upstream: str | None,
    plugins: tuple[str, ...],
    themes: tuple[str, ...],
    no_svn: bool,
    branch: str,
    public_url: str | None,
    notify_batch: str | None,
) -> None:
    """Create a new (bare) data repository in DIRECTORY and commit registry.json.

    The repository has no working tree: the curator writes commits straight into the object
    store. Clone it, or use `git -C DIRECTORY log`, to look inside.
    """
    for slug in (*plugins, *themes):
        if not is_valid_slug(slug):
            raise click.BadParameter(f"invalid slug {slug!r}", param_hint="--plugin/--theme")
    for value, hint in (
        (upstream, "--upstream"),
        (public_url, "--public-url"),
        (notify_batch, "--notify-batch"),
    ):
        if value is not None and http_url(value) is None:
            raise click.BadParameter(f"not an absolute http(s) URL: {value!r}", param_hint=hint)
    prefix = normalize_prefix(check_prefix(data_prefix, "--prefix") or "")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        click.echo(
            f"curator: error: {directory}: exists and is not an empty directory "
            "(the data repository is a bare git repository of its own: give a new directory)",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.USAGE))
    config = RegistryConfig(
        name=name,
        upstream=UpstreamConfig.from_base(upstream) if upstream else UpstreamConfig(),
        discovery=DiscoveryConfig(svn=not no_svn, plugins=sorted(plugins), themes=sorted(themes)),
        public_url=public_url,
        notify_batch=notify_batch,
    )
    try:
        repo = create(
            directory,
            config,
            prefix=prefix,
            branch=branch,
            author=DEFAULT_AUTHOR,
            timestamp=int(time.time()),
        )
    except OSError as exc:
        where = exc.filename or directory
        click.echo(
            f"curator: error: cannot create the data repository in {directory}: "
            f"{where}: {exc.strerror or exc} (choose a directory you can write to)",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.DATA)) from None
    click.echo(f"Initialised data repository {directory} (prefix {prefix!r}) at {repo.head()}")
