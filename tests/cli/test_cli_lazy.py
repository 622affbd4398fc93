"""The command table of `curator`: every command loads lazily, under its own name, and a
command that needs nothing heavy starts without importing the web server."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from curator.cli import cli
from curator.cli._app import LAZY_COMMANDS


def test_every_lazy_command_loads_under_its_name() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(LAZY_COMMANDS)
    for name in LAZY_COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
    assert cli.get_command(ctx, "no-such-command") is None


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in LAZY_COMMANDS:
        assert f"  {name} " in result.output, name


def test_a_light_command_does_not_import_the_server() -> None:
    code = (
        "import sys\n"
        "from curator.cli import cli\n"
        "try:\n"
        "    cli(['versions', 'normalize'], prog_name='curator', standalone_mode=False)\n"
        "finally:\n"
        "    heavy = sorted(m for m in ('litestar', 'sqlalchemy', 'github', 'server.app')"
        " if m in sys.modules)\n"
        "    print('HEAVY', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input="1.0\n", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert '"1.0.0.0"' in proc.stdout  # the command ran
    assert "HEAVY []" in proc.stdout, proc.stdout
