"""Exit codes and the mapping from domain errors to a message and a code."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """The documented exit statuses (see ``curator --help``)."""

    OK = 0
    PARTIAL = 1
    USAGE = 2
    CONFLICT = 3
    UPSTREAM = 4
    DATA = 5


def classify_error(exc: BaseException) -> ExitCode | None:
    """The exit code for a known error type, or None for a bug (let it raise)."""
    from curator.datarepo import DataError
    from curator.gitstore import GitStoreError, RefMovedError
    from curator.layout import InvalidSlugError
    from curator.upstream import UpstreamError

    if isinstance(exc, RefMovedError):
        return ExitCode.CONFLICT
    if isinstance(exc, UpstreamError):
        return ExitCode.UPSTREAM
    if isinstance(exc, (DataError, GitStoreError)):
        return ExitCode.DATA
    if isinstance(exc, InvalidSlugError):
        return ExitCode.USAGE
    return None


REPO_HINT = (
    "give --repo DIR (or set CURATOR_REPO) naming a data repository, "
    "or create one with `curator init DIR`"
)


def describe_error(exc: BaseException, *, ref: str | None = None) -> tuple[ExitCode, str] | None:
    """The exit code and the one-line message (with what to do) for a known error type, or
    None for a bug (let it raise). ``ref`` is the global ``--ref``, named when unknown."""
    from curator.gitstore import NotARepositoryError, UnknownRevisionError

    code = classify_error(exc)
    if code is None:
        return None
    if isinstance(exc, NotARepositoryError):
        if not Path(exc.path).exists():
            return code, f"{exc.path} does not exist: {REPO_HINT}"
        return code, f"{exc}: {REPO_HINT}"
    if isinstance(exc, UnknownRevisionError) and ref is not None and exc.rev == ref:
        return ExitCode.USAGE, f"--ref: {exc} (give an existing branch of the data repository)"
    return code, str(exc)
