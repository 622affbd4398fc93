"""Turning a revision (or an upstream URL) given on the command line into a commit (a
checked value), or a usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import click

from curator.cli._errors import ExitCode
from curator.datarepo import DataRepo
from curator.gitstore import UnknownRevisionError
from curator.review.display import literal


def usage_error(message: str) -> NoReturn:
    click.echo(f"curator: error: {message}", err=True)
    raise click.exceptions.Exit(int(ExitCode.USAGE))


def upstream_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: ``--upstream`` must be an absolute http(s) URL (a replay's base)."""
    from curator.build.text import http_url

    if value is not None and http_url(value) is None:
        raise click.BadParameter(
            f"not an absolute http(s) URL: {value!r} (e.g. http://127.0.0.1:8080, the address "
            "`curator replay` prints)",
            param_hint="--upstream",
        )
    return value


def upstream_client_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--concurrency``, ``--timeout``, ``--retries`` and ``--upstream``: how a command that
    syncs talks to WordPress.org (or a replay), shared by ``sync`` and ``pipeline``."""
    options = [
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Upstream requests in flight at most.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds allowed for one upstream request.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(0, 20),
            default=3,
            show_default=True,
            help="Repeats of a request that timed out or got a 5xx (with backoff).",
        ),
        click.option(
            "--upstream",
            metavar="BASE",
            envvar="CURATOR_UPSTREAM",
            callback=upstream_option,
            help="Point every upstream endpoint at BASE (a local replay), overriding "
            "registry.json.",
        ),
    ]
    for option in reversed(options):  # decorators apply bottom-up: keep the listed order
        f = option(f)
    return f


def resolve_revision(repo: DataRepo, rev: str | None, what: str = "--commit") -> str:
    """The commit sha named by ``rev``; exit 2 if there is none. Without ``rev``: the data
    ref's head (:class:`curator.datarepo.NotInitializedError`, exit 5, if it has none)."""
    if rev is None:
        return repo.view().commit
    try:
        sha = repo.store.resolve(rev)
    except UnknownRevisionError as exc:
        usage_error(f"{what}: {exc}")
    if sha is None:
        usage_error(f"{what}: {literal(rev)} names no commit (an unborn branch?)")
    return sha
