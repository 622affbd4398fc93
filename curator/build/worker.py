"""A build worker process: renders one share of the packages of a full build.

``python -m curator.build.worker JOB RESULT`` reads a job (JSON: repository path, data
prefix, commit, build directory, tasks) and writes its result (JSON) next to it. The builder
(:mod:`curator.build.builder`) starts one per CPU for large full builds. A separate
interpreter started with ``-m`` (rather than :mod:`multiprocessing`) does not depend on the
caller's ``__main__`` module, so :func:`curator.build.builder.build` works from any script.

With ``"progress": true`` in the job, the worker prints how many of its packages it has
rendered so far, one number per line on stdout, and :func:`run_workers` adds them up for its
``on_progress`` callback.

The result is ``{"ok": true, "partial": {...}}`` or, for bad data, ``{"ok": false, "kind":
"override" | "config" | "data", "problems": [...]}``; anything else is a crash (non-zero
exit, traceback on stderr).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

__all__ = ["WorkerError", "main", "run_workers"]


class WorkerError(RuntimeError):
    """A worker process crashed (not a data problem)."""


def _pythonpath() -> str:
    root = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH")
    return root if not current else f"{root}{os.pathsep}{current}"


class _Tally:
    """Adds up the progress lines of several workers (one reader thread each)."""

    def __init__(self, workers: int, on_progress: Callable[[int], None]) -> None:
        self._done = [0] * workers
        self._lock = threading.Lock()
        self._on_progress = on_progress

    def read(self, number: int, stream: Any) -> None:
        for line in stream:
            try:
                count = int(line)
            except ValueError:
                continue
            with self._lock:  # reported in order: the totals only grow
                self._done[number] = count
                self._on_progress(sum(self._done))


def run_workers(
    jobs: Sequence[dict[str, Any]], on_progress: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Run one worker process per job, all at once; return their results in job order.

    ``on_progress(rendered)`` (called from reader threads) gets the packages rendered so far
    by all workers together, for jobs that ask for progress."""
    env = dict(os.environ, PYTHONPATH=_pythonpath())
    tally = None if on_progress is None else _Tally(len(jobs), on_progress)
    readers: list[threading.Thread] = []
    with tempfile.TemporaryDirectory(prefix="curator-build-") as tmp:
        procs = []
        for number, job in enumerate(jobs):
            job_path = Path(tmp) / f"job-{number}.json"
            result_path = Path(tmp) / f"result-{number}.json"
            job_path.write_bytes(orjson.dumps(job))
            stderr = open(Path(tmp) / f"stderr-{number}.txt", "w+b")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "curator.build.worker", str(job_path), str(result_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if tally is None else subprocess.PIPE,
                stderr=stderr,
                env=env,
            )
            procs.append((proc, result_path, stderr))
            if tally is not None and proc.stdout is not None:
                reader = threading.Thread(
                    target=tally.read, args=(number, proc.stdout), daemon=True
                )
                reader.start()
                readers.append(reader)
        results = []
        failed = None
        for reader in readers:
            reader.join()  # a worker's stdout ends when it exits
        for proc, result_path, stderr in procs:
            code = proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            stderr.seek(0)
            err = stderr.read().decode("utf-8", "replace")
            stderr.close()
            if code != 0 or not result_path.exists():
                failed = failed or f"a build worker failed (exit {code}):\n{err[-4000:]}"
                continue
            results.append(orjson.loads(result_path.read_bytes()))
        if failed is not None:
            raise WorkerError(failed)
        return results


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m curator.build.worker JOB RESULT", file=sys.stderr)
        return 2
    from curator.build.builder import run_job  # the builder imports this module

    job = orjson.loads(Path(args[0]).read_bytes())

    def report(done: int) -> None:
        sys.stdout.write(f"{done}\n")
        sys.stdout.flush()

    result = run_job(job, report if job.get("progress") else None)
    tmp = Path(f"{args[1]}.tmp")
    tmp.write_bytes(orjson.dumps(result))
    tmp.rename(args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
