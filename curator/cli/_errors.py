"""Exit codes and the mapping from domain errors to a message and a code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
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
