"""``curator schemas``: write (or check) the JSON Schemas generated from the models."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli._errors import ExitCode
from curator.schemas import stale_schemas, write_schemas


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schemas"),
    show_default=True,
    help="Directory of the schema files.",
)
@click.option("--check", is_flag=True, help="Fail (exit 1) when a schema file is stale.")
def schemas(directory: Path, check: bool) -> None:
    """Generate JSON Schemas for every data file from the pydantic models."""
    if check:
        stale = stale_schemas(directory)
        if stale:
            for name in stale:
                click.echo(f"stale: {directory / name}", err=True)
            click.echo("run `curator schemas` and commit the result", err=True)
            raise SystemExit(int(ExitCode.PARTIAL))
        click.echo(f"schemas in {directory} are current")
        return
    for name in write_schemas(directory):
        click.echo(f"wrote {directory / name}")
