"""The pipeline: sync, build, deploy, under one lock so two never run at once.

``pipeline_lock`` takes an exclusive, non-blocking ``flock`` on ``<storage>/pipeline.lock``;
a second pipeline fails at once with :class:`PipelineLockedError` naming the holder (pid and
start time, written into the lock file). The kernel drops the lock when the process dies, so
a killed pipeline never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "pipeline.lock"


class PipelineLockedError(Exception):
    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(
            f"another pipeline is running ({holder or 'holder unknown'}; lock {path}); "
            "exiting without doing anything"
        )
        self.path = path
        self.holder = holder


@contextlib.contextmanager
def pipeline_lock(storage: Path) -> Iterator[Path]:
    """Hold the pipeline lock of ``storage`` for the duration of the block."""
    storage.mkdir(parents=True, exist_ok=True)
    path = storage / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise PipelineLockedError(path, holder) from None
        os.ftruncate(fd, 0)
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.pwrite(fd, f"pid {os.getpid()} since {started}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock
