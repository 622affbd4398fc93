"""The ``curator`` command line: a click group with global options and one module per command.

Exit codes (stable, for scripts; :class:`curator.cli._errors.ExitCode`): 0 success; 1 the run
finished with failures (some packages failed to sync, their stored data untouched; verify found
mismatches; a build is invalid; schemas are stale); 2 bad usage or input; 3 conflict (the data
ref moved during the run, or another run holds the lock); 4 upstream or remote unreachable;
5 the data repository, the storage or a data file is missing or invalid, or a check failed
(``validate``, ``doctor``, ``verify --against``).
"""

from __future__ import annotations

from curator.cli._app import cli, main

__all__ = ["cli", "main"]
