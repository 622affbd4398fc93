"""The replay in a child process: start it, talk to its control API, stop it.

Tests, benchmarks and the demo use this so the replay has a core of its own while the
curator runs in the parent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

_ZERO_FAULTS = ("error_rate", "rate_limit_rate", "malformed_rate", "hang_rate", "latency_ms")


class ReplayProcess:
    """``python -m curator.replay ARGS`` as a child process; ``base_url`` once it listens."""

    def __init__(self, *args: str | Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "curator.replay", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"the replay did not start: {line}{self.proc.stderr.read()}")
        self.base_url = line.strip().rsplit(" ", 1)[-1]

    def control(self, path: str, body: Any = None) -> Any:
        """GET (no body) or POST (JSON body) ``/_replay/<path>``; the decoded answer."""
        url = f"{self.base_url}/_replay/{path}"
        if body is None:
            response = httpx.get(url, timeout=60)
        else:
            response = httpx.post(url, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.control("faults", dict.fromkeys(_ZERO_FAULTS, 0))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ReplayProcess:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
