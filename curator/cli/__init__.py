"""The ``curator`` command line: a click group with global options and one module per command.

Exit codes (stable, for scripts): 0 success; 1 the run finished but some packages failed
(their stored data is untouched); 2 bad usage or input; 3 conflict (the data ref moved during
the run, or another run holds the lock); 4 upstream unreachable during discovery; 5 the data
repository or a data file is missing or invalid.
"""

from __future__ import annotations

from curator.cli._app import cli, main

__all__ = ["cli", "main"]
