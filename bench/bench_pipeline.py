"""Benchmark the operator's loop: one ``curator pipeline`` run (sync, build, promote).

    .venv/bin/python bench/bench_pipeline.py [--scales 1,5] [--change 0.01] [--rounds 3]

For each scale (copies of the real corpus under new slugs, as ``bench_sync.py`` makes them:
1 = the 12,227 real plugins, 5 = 61,135) it starts the replay upstream (``curator replay``,
a separate process), creates a data repository and a storage directory, and runs a first
pipeline: import, full build, promote. Then ``--rounds`` times it changes ``--change`` of the
plugins upstream (new releases) and runs the pipeline again, as the timer does every hour.
Each row is the median over the rounds; the steps are the sync report's seconds, the build's
seconds (incremental: it re-renders the changed packages and links the rest) and the
promotion (validation, which re-reads only files the previous validation did not see, and
the atomic switch).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_sync import CORPUS, scaled_corpus  # noqa: E402

from curator.datarepo import create  # noqa: E402
from curator.layout import PackageType  # noqa: E402
from curator.models import RegistryConfig  # noqa: E402
from curator.pipeline import PipelineOptions, run_pipeline  # noqa: E402
from curator.replay.process import ReplayProcess  # noqa: E402
from curator.sync import DEFAULT_AUTHOR, SyncOptions  # noqa: E402


def one_run(repo: Any, storage: Path, options: PipelineOptions) -> dict[str, float]:
    started = time.perf_counter()
    result = run_pipeline(repo, storage, options)
    total = time.perf_counter() - started
    assert result.sync.ok, result.sync.failures[:3]
    sync_s, build_s = result.sync.seconds, result.build.seconds
    return {
        "total": total,
        "sync": sync_s,
        "build": build_s,
        "promote": max(0.0, total - sync_s - build_s),
        "changed": float(len(result.sync.changed_paths)),
        "rendered": float(result.build.rendered),
        "incremental": float(result.build.incremental),
    }


def scenario(corpus: Path, work: Path, change: float, rounds: int) -> dict[str, Any]:
    with ReplayProcess("--corpus", corpus) as replay:
        repo = create(
            work / "data", RegistryConfig(), prefix="", author=DEFAULT_AUTHOR, timestamp=0
        )
        options = PipelineOptions(
            sync=SyncOptions(types=(PackageType.PLUGIN,)),
            upstream=replay.base_url,
            client_options={"concurrency": 16},
        )
        first = one_run(repo, work / "storage", options)
        runs = []
        for seed in range(rounds):
            replay.control("mutate", {"percent": 100 * change, "seed": seed, "type": "plugin"})
            runs.append(one_run(repo, work / "storage", options))
        assert all(r["incremental"] for r in runs)
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        return {"first": first, "median": median}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,5", help="copies of the corpus, comma-separated")
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        base = Path(tmp)
        for copies in (int(c) for c in args.scales.split(",")):
            corpus = base / f"corpus-{copies}.jsonl"
            packages = scaled_corpus(CORPUS, corpus, copies)
            result = scenario(corpus, base / f"run-{copies}", args.change, args.rounds)
            first, median = result["first"], result["median"]
            rows.append(("first run (import, full build)", packages, first))
            rows.append((f"{args.change:.0%} changed (median of {args.rounds})", packages, median))
            print(f"# {packages:,} packages done", file=sys.stderr)
    print("| run | packages | changed files | rendered | sync s | build s | promote s | total s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, packages, r in rows:
        print(
            f"| {label} | {packages:,} | {int(r['changed']):,} | {int(r['rendered']):,} | "
            f"{r['sync']:.2f} | {r['build']:.2f} | {r['promote']:.2f} | {r['total']:.2f} |"
        )


if __name__ == "__main__":
    main()
