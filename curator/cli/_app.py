"""The click group: global options, logging set-up and error-to-exit-code mapping."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Final

import click

from curator import __version__
from curator.cli._context import Settings
from curator.cli._errors import ExitCode, describe_error
from curator.logs import configure_from, log_options


class CuratorGroup(click.Group):
    """Turns known domain errors into one clear line on stderr and a documented exit code,
    and imports each command's module only when the command is used (:data:`LAZY_COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in LAZY_COMMANDS:
            return found
        module_name, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(f"{LAZY_COMMANDS[cmd_name]} is not the command {cmd_name!r}")
        self.add_command(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            settings = ctx.find_object(Settings)
            described = describe_error(exc, ref=settings.ref if settings else None)
            if described is None:
                raise
            code, message = described
            click.echo(f"curator: error: {message}", err=True)
            ctx.exit(int(code))


def check_prefix(value: str | None, hint: str) -> str | None:
    """``value`` unchanged when it is a usable data prefix (or None), else a usage error."""
    from curator.layout import normalize_prefix

    if value is not None:
        try:
            normalize_prefix(value)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not a path inside the repository (no '.', '..' or '\\' parts)",
                param_hint=hint,
            ) from None
    return value


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
    callback=lambda _ctx, _param, value: check_prefix(value, "--prefix"),
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
    Exit codes:
      0  ok
      1  finished with failures: packages failed to sync (stored data untouched),
         verify found mismatches, a build is invalid, schemas are stale
      2  bad usage or input (an option, a revision, a build id, a URL)
      3  conflict (the data ref moved, another run holds the lock)
      4  upstream or remote unreachable
      5  data repository, storage or a data file missing or invalid; a failed check
         (validate, doctor, verify --against)
    """
    configure_from(ctx, verbose)
    ctx.obj = Settings(
        repo=repo, prefix=prefix, ref=ref, verbose=verbose, quiet=quiet, storage=storage
    )


# Commands by name -> "module:attribute", imported when first used: `curator --version` or
# `curator sync` must not pay for importing the web server, SQLAlchemy or PyGithub.
LAZY_COMMANDS: Final[dict[str, str]] = {
    "init": "curator.cli.init_cmd:init",
    "sync": "curator.cli.sync_cmd:sync",
    "build": "curator.cli.build_cmd:build",
    "pipeline": "curator.cli.pipeline_cmd:pipeline",
    "push": "curator.cli.push_cmd:push",
    "serve": "server.cli:serve",
    "telemetry": "server.telemetry.cli:telemetry",
    "admin": "server.admin.cli:admin",
    "log": "curator.cli.log_cmd:log_",
    "schemas": "curator.cli.schemas_cmd:schemas",
    "versions": "curator.cli.versions_cmd:versions",
    "deploy": "curator.cli.deploy_cmds:deploy",
    "rollback": "curator.cli.deploy_cmds:rollback",
    "cleanup": "curator.cli.deploy_cmds:cleanup",
    "verify": "curator.cli.deploy_cmds:verify",
    "builds": "curator.cli.deploy_cmds:builds",
    "mirror": "curator.cli.mirror_cmd:mirror",
    "keygen": "curator.cli.keygen_cmd:keygen",
    "validate": "curator.cli.validate_cmd:validate",
    "diff": "curator.cli.diff_cmd:diff",
    "ci": "curator.cli.ci_cmds:ci",
    "replay": "curator.replay.cli:replay",
    "doctor": "curator.cli.doctor_cmd:doctor",
}


def main() -> None:
    cli(prog_name="curator")


__all__ = ["ExitCode", "cli", "main"]
