"""``curator verify --against URL|DIR [--commit SHA] [--rebuild] [--json]``: the
command-line side of :func:`curator.mirror.check.verify_against` (``curator verify`` itself
lives in :mod:`curator.cli.deploy_cmds` and hands over here when ``--against`` is given).

The reference is the local storage's build of the commit when it validates, else a rebuild
in a temporary directory (always with ``--rebuild``); the output names it
(``reference: build <id> of commit <sha> (validated)`` or ``reference: rebuilt commit
<sha>``, after a line saying why a stored build was not trusted, if one was not). With
``--json`` one object goes to stdout instead (:func:`outcome_json`); errors stay on stderr.

Exit codes: 0 the published registry is what the commit builds to; 5 it is not (each
mismatch printed on stdout as ``path: what is X, expected Y``), or it was refused (missing
or invalid signature while keys are pinned, an older manifest than one already accepted, a
manifest of another commit, an unreachable location), or the commit does not build; 2 bad
usage (a location that is neither an http(s) URL nor a directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from curator.cli._context import Settings
from curator.cli._errors import ExitCode

if TYPE_CHECKING:
    from curator.mirror.check import Outcome
    from curator.storage.local import LocalStorage

__all__ = ["outcome_json", "run_against"]


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
    storage: LocalStorage | None,
    as_json: bool = False,
) -> None:
    """Run the check; ``storage`` None (``--rebuild``) always rebuilds the commit."""
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
            storage=storage,
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

    if as_json:
        click.echo(json.dumps(outcome_json(outcome, forced=storage is None), sort_keys=True))
    else:
        _print(outcome, forced=storage is None)
    if not outcome.ok:
        _fail(
            f"{outcome.location}: {len(outcome.mismatches)} mismatch(es) with the build of "
            f"{outcome.commit} ({outcome.checked} of {outcome.total} files checked)"
        )


def outcome_json(outcome: Outcome, *, forced: bool = False) -> dict[str, Any]:
    """The outcome for ``--json``; ``reference`` says what the published build was compared
    with (``kind`` "build": the stored build ``build``, validated; "rebuild": a rebuild,
    ``untrusted`` naming the stored build that was not used and why, ``forced`` for
    ``--rebuild``)."""
    prev = outcome.previous
    untrusted = (
        {"build": outcome.untrusted_build, "reason": outcome.untrusted_reason}
        if outcome.untrusted_build is not None
        else None
    )
    return {
        "ok": outcome.ok,
        "location": outcome.location,
        "commit": outcome.commit,
        "time": outcome.time,
        "signature": {"pinned": outcome.pinned, "signed_by": outcome.signed_by},
        "rollback": {
            "allowed": outcome.rollback_allowed,
            "previous": None if prev is None else {"commit": prev.commit, "time": prev.time},
        },
        "reference": {
            "kind": "rebuild" if outcome.rebuilt else "build",
            "build": outcome.reference_build,
            "validated": not outcome.rebuilt,
            "forced": forced,
            "untrusted": untrusted,
            "seconds": round(outcome.reference_seconds, 3),
        },
        "checked": outcome.checked,
        "total": outcome.total,
        "mismatches": [
            {"path": m.path, "problem": m.problem.value, "expected": m.expected, "actual": m.actual}
            for m in outcome.mismatches
        ],
        "state_updated": outcome.state_updated,
    }


def _print(outcome: Outcome, *, forced: bool) -> None:
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
    if outcome.untrusted_build is not None:
        click.echo(
            f"reference: not using build {outcome.untrusted_build}: {outcome.untrusted_reason}"
        )
    if outcome.rebuilt:
        why = " (--rebuild)" if forced else ""
        click.echo(
            f"reference: rebuilt commit {outcome.commit}{why} in {outcome.reference_seconds:.1f} s"
        )
    else:
        click.echo(
            f"reference: build {outcome.reference_build} of commit {outcome.commit} (validated)"
        )
    for mismatch in outcome.mismatches:
        click.echo(str(mismatch))
    if outcome.ok:
        what = "every file" if outcome.checked == outcome.total else "a sample"
        click.echo(
            f"ok: {outcome.location} matches the build of commit {outcome.commit}: manifest "
            f"identical, {what} ({outcome.checked} of {outcome.total} files) identical"
        )
