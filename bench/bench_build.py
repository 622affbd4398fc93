"""Benchmark ``curator build``: full and incremental builds at corpus and WordPress.org scale.

    .venv/bin/python bench/bench_build.py [--scales 12227,60000] [--change 0.01] [--keep DIR]

For each scale it makes a data repository without HTTP (records from the real corpus in
``../shared/corpus``, through :mod:`curator.build.seed`; above 12,227 packages the corpus is
replicated under new slugs ``<slug>-x2``, ...), then, each in a fresh subprocess so peak RSS
is the build's own:

1. a full build into a storage directory;
2. one commit that gives ``--change`` of the packages a new release (a new tag, version,
   first-seen time and SVN revision), then an incremental build from the first build.

It prints one row per build: seconds, CPU seconds of the builder and its workers (user +
system; a check on wall times from a shared machine), peak RSS of the builder process and of
its largest worker process (``VmHWM`` of each; ``getrusage`` would include the parent's peak,
which a child inherits across fork+exec), and the phase timings.
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curator.build.seed import AUTHOR, commit_records, mutate, records_from_lines  # noqa: E402
from curator.datarepo import DataRepo, create  # noqa: E402
from curator.layout import PackageType  # noqa: E402
from curator.models import RegistryConfig  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "wporg-plugins-2024-04-16.jsonl.xz"
CHUNK = 10_000


def make_repo(path: Path, count: int, lines: list[dict[str, Any]]) -> tuple[DataRepo, float]:
    started = time.perf_counter()
    repo = create(path, RegistryConfig(), prefix="", author=AUTHOR, timestamp=1_700_000_000)
    replicas = math.ceil(count / len(lines))
    batch = []
    for record in records_from_lines(PackageType.PLUGIN, lines, replicas=replicas, limit=count):
        batch.append(record)
        if len(batch) == CHUNK:
            commit_records(repo, batch)
            batch = []
    if batch:
        commit_records(repo, batch)
    repo.store.repack(full=True)
    return repo, time.perf_counter() - started


def child(repo_path: str, storage_path: str) -> None:
    """Run one build (incremental if the storage has one) and print its result as JSON."""
    from curator.build.builder import build, peak_rss_kb
    from curator.storage.local import LocalStorage

    repo = DataRepo.open(Path(repo_path), prefix="")
    result = build(repo, None, LocalStorage(Path(storage_path)), None)
    out = result.to_json()
    # VmHWM, not getrusage: ru_maxrss carries the parent's peak across fork+exec
    out["rss_self_mb"] = peak_rss_kb() / 1024
    out["rss_workers_mb"] = result.worker_peak_rss_mb
    print(json.dumps(out))


def run_child(repo: Path, storage: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(repo), str(storage)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the builder and its workers
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def row(label: str, result: dict[str, Any]) -> str:
    counts = result["counts"]
    phases = " ".join(f"{k}={v:.2f}" for k, v in result["timings"].items())
    return (
        f"| {label:<26} | {counts['packages']:>8,} | {counts['versions']:>9,} | "
        f"{counts['files']:>7,} | {result['rendered']:>8,} | {result['seconds']:>7.2f} | "
        f"{result['cpu_seconds']:>7.2f} | "
        f"{result['rss_self_mb']:>7.0f} | {result['rss_workers_mb']:>7.0f} | {phases} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="12227,60000")
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--keep", type=Path, help="keep repositories and builds here")
    parser.add_argument("--child", nargs=2, metavar=("REPO", "STORAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with lzma.open(CORPUS) as fh:
        lines = [orjson.loads(line) for line in fh.read().splitlines() if line.strip()]
    scales = [int(s) for s in args.scales.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        base = args.keep or Path(tmp)
        rows = []
        for count in scales:
            repo_path, storage = base / f"repo-{count}", base / f"storage-{count}"
            repo, seeded = make_repo(repo_path, count, lines)
            print(f"# {count:,} packages seeded in {seeded:.1f} s", file=sys.stderr)
            full = run_child(repo_path, storage)
            assert not full["incremental"]
            rows.append(row(f"full, {count:,}", full))
            changes = mutate(repo, args.change, seed=1)
            commit_records(repo, [], extra=changes)
            inc = run_child(repo_path, storage)
            assert inc["incremental"], inc
            rows.append(row(f"incremental {args.change:.0%}, {count:,}", inc))
            print(rows[-2], file=sys.stderr)
            print(rows[-1], file=sys.stderr)
    print(
        "| build                      | packages |  versions |   files | rendered | seconds "
        "| CPU s   | RSS MB  | wkr MB  | phases (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for line in rows:
        print(line)


if __name__ == "__main__":
    main()
