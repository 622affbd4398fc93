"""A build worker process: renders one share of the packages of a full build.

``python -m curator.build.worker JOB RESULT`` reads a job (JSON: repository path, data
prefix, commit, build directory, tasks) and writes its result (JSON) next to it. The builder
(:mod:`curator.build.builder`) starts one per CPU for large full builds. A separate
interpreter started with ``-m`` (rather than :mod:`multiprocessing`) does not depend on the
caller's ``__main__`` module, so :func:`curator.build.builder.build` works from any script.

The result is ``{"ok": true, "partial": {...}}`` or, for bad data, ``{"ok": false, "kind":
"override" | "config" | "data", "problems": [...]}``; anything else is a crash (non-zero
exit, traceback on stderr).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
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


def run_workers(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run one worker process per job, all at once; return their results in job order."""
    env = dict(os.environ, PYTHONPATH=_pythonpath())
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
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
            procs.append((proc, result_path, stderr))
        results = []
        failed = None
        for proc, result_path, stderr in procs:
            code = proc.wait()
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
    result = run_job(job)
    tmp = Path(f"{args[1]}.tmp")
    tmp.write_bytes(orjson.dumps(result))
    tmp.rename(args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
