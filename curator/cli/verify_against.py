"""``curator verify --against URL|DIR [--commit SHA]``: the command-line side of
:func:`curator.mirror.check.verify_against` (``curator verify`` itself lives in
:mod:`curator.cli.deploy_cmds` and hands over here when ``--against`` is given).

Exit codes: 0 the published registry is the rebuild of the commit; 5 it is not (each
mismatch printed on stdout as ``path: what is X, expected Y``), or it was refused (missing
or invalid signature while keys are pinned, an older manifest than one already accepted, a
manifest of another commit, an unreachable location), or the commit does not build; 2 bad
usage (a location that is neither an http(s) URL nor a directory).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import click

from curator.cli._context import Settings
from curator.cli._errors import ExitCode

__all__ = ["run_against"]


def _fail(message: str, code: ExitCode = ExitCode.DATA) -> NoReturn:
    click.echo(f"curator: error: {message}", err=True)
    raise click.exceptions.Exit(int(code))


def run_against(
    settings: Settings,
    *,
    against: str,
    commit: str | None,
    sample: int | None,
    state_path: Path | None,
    allow_rollback: bool,
    workers: int,
) -> None:
    from curator.build.overrides import OverrideError
    from curator.build.render import ConfigError
    from curator.build.worker import WorkerError
    from curator.datarepo import DataError
    from curator.gitstore import GitStoreError
    from curator.mirror.check import Refused, verify_against
    from curator.mirror.published import open_source
    from curator.mirror.rollback import RollbackError, StateError, VerifyState, default_state_path

    try:
        source = open_source(against, workers=workers)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--against") from None
    try:
        path = state_path or default_state_path(os.environ, Path.home())
        state = VerifyState.load(path)
        repo = settings.open_repo()
        outcome = verify_against(
            repo,
            source,
            state,
            commit=commit,
            sample=sample,
            workers=workers,
            allow_rollback=allow_rollback,
        )
    except Refused as exc:
        _fail(f"refused: {exc}")
    except RollbackError as exc:
        _fail(f"refused: {exc}")
    except StateError as exc:
        _fail(f"rollback state: {exc}")
    except OverrideError as exc:
        _fail("the commit does not build: bad override file(s): " + "; ".join(exc.problems))
    except (ConfigError, DataError, GitStoreError, WorkerError) as exc:
        _fail(f"the commit does not build: {exc}")
    finally:
        source.close()

    if outcome.pinned:
        click.echo(f"signature  ok: key {outcome.signed_by} (pinned at {outcome.commit[:12]})")
    else:
        click.echo(
            f"signature  not checked: registry.json at {outcome.commit[:12]} pins no signing keys"
        )
    prev = outcome.previous
    if outcome.rollback_allowed and prev is not None:
        click.echo(f"rollback   ALLOWED: older than the accepted {prev.commit[:12]} ({prev.time})")
    elif prev is None:
        click.echo(f"rollback   ok: first manifest accepted for {outcome.location}")
    else:
        click.echo(f"rollback   ok: not older than the accepted {prev.commit[:12]} ({prev.time})")
    click.echo(f"rebuilt    {outcome.commit} ({outcome.time}) in {outcome.rebuild_seconds:.1f} s")
    for mismatch in outcome.mismatches:
        click.echo(str(mismatch))
    if not outcome.ok:
        _fail(
            f"{outcome.location}: {len(outcome.mismatches)} mismatch(es) with the rebuild of "
            f"{outcome.commit} ({outcome.checked} of {outcome.total} files checked)"
        )
    what = "every file" if outcome.checked == outcome.total else "a sample"
    click.echo(
        f"ok: {outcome.location} matches the rebuild of commit {outcome.commit}: manifest "
        f"identical, {what} ({outcome.checked} of {outcome.total} files) identical"
    )
