"""The click group: global options, logging set-up and error-to-exit-code mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from curator import __version__
from curator.cli._context import Settings
from curator.cli._errors import ExitCode, classify_error
from curator.logs import configure_from, log_options


class CuratorGroup(click.Group):
    """Turns known domain errors into one clear line on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            code = classify_error(exc)
            if code is None:
                raise
            click.echo(f"curator: error: {exc}", err=True)
            ctx.exit(int(code))


@click.group(cls=CuratorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="curator")
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CURATOR_REPO",
    help="Data repository (default: the git repository containing the current directory).",
)
@click.option(
    "--prefix",
    envvar="CURATOR_PREFIX",
    help="Path of the data tree inside the repository (default: the repository's "
    "curator.prefix config, else 'registry-data/'; '' for a data-only repository).",
)
@click.option("--ref", envvar="CURATOR_REF", help="Branch sync runs commit to (default: HEAD's).")
@click.option(
    "--storage",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CURATOR_STORAGE",
    help="Local storage for builds and runtime data (default: storage/).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@log_options
@click.pass_context
def cli(
    ctx: click.Context,
    repo: Path | None,
    prefix: str | None,
    ref: str | None,
    storage: Path | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Curate WordPress.org plugins and themes as a git-backed Composer registry.

    Each `curator sync` run is one commit in the data repository; its SHA is the snapshot id.

    \b
    Exit codes: 0 ok, 1 some packages failed (stored data untouched), 2 bad usage,
    3 conflict (ref moved / locked), 4 upstream unreachable, 5 data repository invalid.
    """
    configure_from(ctx, verbose)
    ctx.obj = Settings(
        repo=repo, prefix=prefix, ref=ref, verbose=verbose, quiet=quiet, storage=storage
    )


def _register() -> None:
    from curator.cli import (
        build_cmd,
        ci_cmds,
        deploy_cmds,
        diff_cmd,
        init_cmd,
        keygen_cmd,
        log_cmd,
        mirror_cmd,
        pipeline_cmd,
        push_cmd,
        schemas_cmd,
        sync_cmd,
        validate_cmd,
        versions_cmd,
    )
    from curator.replay.cli import replay
    from server.admin.cli import admin
    from server.cli import serve
    from server.telemetry.cli import telemetry

    for command in (
        init_cmd.init,
        sync_cmd.sync,
        build_cmd.build,
        pipeline_cmd.pipeline,
        push_cmd.push,
        serve,
        telemetry,
        admin,
        log_cmd.log_,
        schemas_cmd.schemas,
        versions_cmd.versions,
        deploy_cmds.deploy,
        deploy_cmds.rollback,
        deploy_cmds.cleanup,
        deploy_cmds.verify,
        deploy_cmds.builds,
        mirror_cmd.mirror,
        keygen_cmd.keygen,
        validate_cmd.validate,
        diff_cmd.diff,
        ci_cmds.ci,
        replay,
    ):
        cli.add_command(command)


_register()


def _register_operations() -> None:
    from curator.cli.doctor_cmd import doctor

    cli.add_command(doctor)


_register_operations()


def main() -> None:
    cli(prog_name="curator")


__all__ = ["ExitCode", "cli", "main"]
