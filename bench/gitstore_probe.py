"""Measure curator.gitstore on synthetic data: big first commit, small commits, reads, packs.

    .venv/bin/python bench/gitstore_probe.py [--files 12000] [--grow-to 60000] [--runs 200]

Writes a throw-away repository under a temporary directory (or --dir) and prints timings.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from curator import canonical
from curator.gitstore import GitStore

T = TypeVar("T")
AUTHOR = "Probe <probe@example.org>"
REF = "refs/heads/main"
PREFIX = "registry-data/packages/plugins"
CPU_TIME = False  # --cpu: time small commits by process CPU time instead of wall time


def slugs(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    out: set[str] = set()
    while len(out) < n:
        # 36 x 37 possible shards, like real slugs (~1,300 shards).
        head = rng.choice(alphabet) + rng.choice(alphabet + "-")
        out.add(head + "".join(rng.choices(alphabet + "-", k=rng.randint(4, 20))))
    names = sorted(out)
    rng.shuffle(names)
    return names


def record(slug: str, rev: int) -> bytes:
    """About 2 KB of canonical JSON, like a package record."""
    versions = {
        f"{major}.{minor}": {
            "download": f"https://downloads.wordpress.org/plugin/{slug}.{major}.{minor}.zip",
            "requires": "5.8",
            "requires_php": "7.4",
            "time": f"2023-0{1 + minor % 9}-1{major % 9}T12:00:00Z",
        }
        for major in range(1, 4)
        for minor in range(4)
    }
    data = {"slug": slug, "name": slug.replace("-", " ").title(), "rev": rev, "versions": versions}
    return canonical.dumps(data)


def path(slug: str) -> str:
    return f"{PREFIX}/{slug[:2]}/{slug}.json"


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (``git gc``)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, fn: Callable[[], T]) -> T:
    """Run ``fn``; print wall time and this process's CPU time (robust on a busy machine)."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    result = fn()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    print(f"{label:<58} {1000 * wall:9.1f} ms  (cpu {1000 * cpu:.1f} ms)")
    return result


def small_commits(
    store: GitStore, names: list[str], count: int, per_commit: int, seed: int
) -> Iterator[float]:
    rng = random.Random(seed)
    for i in range(count):
        parent = store.resolve(REF)
        changes = {path(s): record(s, seed * 1000 + i) for s in rng.sample(names, per_commit)}
        t0 = time.process_time() if CPU_TIME else time.perf_counter()
        store.commit(
            ref=REF,
            parent=parent,
            changes=changes,
            message=f"run {i}",
            author=AUTHOR,
            timestamp=1_700_000_000 + i,
        )
        yield (time.process_time() if CPU_TIME else time.perf_counter()) - t0


def report_small(label: str, times: list[float]) -> None:
    ms = sorted(1000 * t for t in times)
    print(
        f"{label:<58} median {statistics.median(ms):6.1f} ms  "
        f"min {ms[0]:6.1f}  max {ms[-1]:6.1f}  (n={len(ms)})"
    )


def read_all(repo: Path) -> int:
    with GitStore.open(repo) as store:
        head = store.resolve(REF)
        assert head is not None
        snap = store.snapshot(head)
        total = 0
        for p, _blob in snap.walk(PREFIX):
            data = snap.read(p)
            assert data is not None
            total += 1
        return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=12_000)
    ap.add_argument("--grow-to", type=int, default=60_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--cpu", action="store_true", help="small commits: CPU time, not wall")
    args = ap.parse_args()
    global CPU_TIME
    CPU_TIME = args.cpu
    base = args.dir or Path(tempfile.mkdtemp(prefix="gitstore-probe-"))
    repo = base / "data.git"
    names = slugs(args.grow_to, seed=1)
    first = names[: args.files]
    print(f"repository: {repo}")

    files = {path(s): record(s, 0) for s in first}
    shards = len({s[:2] for s in first})
    size = sum(map(len, files.values())) / len(files)
    print(f"{len(files)} files, {shards} shards, {size:.0f} bytes average")
    with GitStore.init(repo) as store:
        timed(
            f"first commit of {len(files)} files",
            lambda: store.commit(
                ref=REF,
                parent=None,
                changes=files,
                message="initial",
                author=AUTHOR,
                timestamp=1_700_000_000,
            ),
        )
        report_small(
            f"commit 120 changed files at {len(first)} files",
            list(small_commits(store, first, 10, 120, seed=2)),
        )
    packs = store.pack_count()
    n = timed(f"read all blobs via Snapshot (fresh store, {packs} packs)", lambda: read_all(repo))
    assert n == len(first)

    with GitStore.open(repo) as store:
        rest = {path(s): record(s, 0) for s in names[args.files :]}
        head = store.resolve(REF)
        timed(
            f"commit {len(rest)} more files (grow to {len(names)})",
            lambda: store.commit(
                ref=REF, parent=head, changes=rest, message="grow", author=AUTHOR, timestamp=1
            ),
        )
        report_small(
            f"commit 120 changed files at {len(names)} files",
            list(small_commits(store, names, 10, 120, seed=3)),
        )
        head = store.resolve(REF)
        assert head is not None
        log = list(store.log(max_count=2))
        timed(
            "changed_paths between the last two commits",
            lambda: store.changed_paths(log[1].sha, log[0].sha, PREFIX),
        )

    with GitStore.open(repo) as store:
        report_small(
            f"commit 120 changed files, {args.runs} runs (packs accumulate)",
            list(small_commits(store, names, args.runs, 120, seed=4)),
        )
        packs = store.pack_count()
    timed(f"read all {len(names)} blobs with {packs} packs", lambda: read_all(repo))
    with GitStore.open(repo) as store:
        left = timed("repack() (git repack --geometric=2)", store.repack)
        print(f"packs after repack(): {left}")
    timed(f"read all {len(names)} blobs after repack()", lambda: read_all(repo))
    with GitStore.open(repo) as store:
        left = timed("repack(full=True) (git gc)", lambda: store.repack(full=True))
        print(f"packs after repack(full=True): {left}")
    timed(f"read all {len(names)} blobs after repack(full=True)", lambda: read_all(repo))
    with GitStore.open(repo) as store:
        report_small(
            f"commit 120 changed files at {len(names)} files after repack",
            list(small_commits(store, names, 10, 120, seed=5)),
        )


if __name__ == "__main__":
    main()
