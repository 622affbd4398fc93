"""Benchmark the sync: initial import, 1% incremental, and commit cost at 12k vs 60k packages.

Runs the replay in a child process (its own core) and the curator in this process, as an
operator would run `curator sync` against a nearby upstream. Prints a table.

    .venv/bin/python bench/bench_sync.py [--corpus ../shared/corpus/...jsonl.xz] [--scale 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import lzma
import statistics
import tempfile
from pathlib import Path

import orjson

from curator.datarepo import DataRepo, create
from curator.layout import PackageType
from curator.models import RegistryConfig, UpstreamConfig
from curator.replay.process import ReplayProcess
from curator.sync import DEFAULT_AUTHOR, SyncOptions, SyncReport, SyncRunner
from curator.upstream import WporgClient

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "wporg-plugins-2024-04-16.jsonl.xz"
P = PackageType.PLUGIN


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(hours=1)
        return self.now


def sync(repo: DataRepo, base: str, clock: Clock, concurrency: int) -> SyncReport:
    async def go() -> SyncReport:
        async with WporgClient(UpstreamConfig.from_base(base), concurrency=concurrency) as c:
            return await SyncRunner(repo, c, clock=clock).run(SyncOptions(types=(P,)))

    report = asyncio.run(go())
    assert report.ok, report.failures[:3]
    return report


def scaled_corpus(source: Path, target: Path, copies: int) -> int:
    """Replicate every record under new slugs (<slug>-x2, ...): a WordPress.org-sized corpus."""
    count = 0
    with lzma.open(source) as src, target.open("wb") as out:
        for line in src:
            record = orjson.loads(line)
            slug = record["slug"]
            for n in range(1, copies + 1):
                new = dict(record)
                if n > 1:
                    new_slug = f"{slug}-x{n}"
                    new["slug"] = new_slug
                    raw = orjson.dumps(new).replace(
                        f"/plugin/{slug}.".encode(), f"/plugin/{new_slug}.".encode()
                    )
                else:
                    raw = orjson.dumps(new)
                out.write(raw + b"\n")
                count += 1
    return count


def scenario(
    corpus: Path, work: Path, changed: int, rounds: int, concurrency: int
) -> dict[str, float]:
    with ReplayProcess("--corpus", corpus) as replay:
        repo = create(work, RegistryConfig(), prefix="", author=DEFAULT_AUTHOR, timestamp=0)
        clock = Clock()
        imported = sync(repo, replay.base_url, clock, concurrency)
        total = imported.counts.total()
        noop = sync(repo, replay.base_url, clock, concurrency)
        assert noop.commit is None
        incremental, commits = [], []
        for seed in range(rounds):
            percent = 100 * changed / total
            out = replay.control("mutate", {"percent": percent, "seed": seed, "type": "plugin"})
            report = sync(repo, replay.base_url, clock, concurrency)
            assert len(report.changed_paths) == len(out["changed"]) + 1
            incremental.append(report.seconds)
            commits.append(report.timings["commit"])
        return {
            "packages": total,
            "import": imported.seconds,
            "import_commit": imported.timings["commit"],
            "noop": noop.seconds,
            "changed": changed,
            "incremental": statistics.median(incremental),
            "commit": statistics.median(commits),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--scale", type=int, default=5, help="copies for the scale corpus")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        base = Path(tmp)
        real = scenario(args.corpus, base / "real", 122, args.rounds, args.concurrency)
        big_corpus = base / "scaled.jsonl"
        n = scaled_corpus(args.corpus, big_corpus, args.scale)
        big = scenario(big_corpus, base / "big", 122, args.rounds, args.concurrency)
        print()
        print(f"sync benchmark (concurrency {args.concurrency}, median of {args.rounds} rounds)")
        print(f"{'scenario':<52}{'packages':>10}{'seconds':>10}")
        rows = [
            ("initial import: discover + update + commit", real["packages"], real["import"]),
            ("  of which the one commit", real["packages"], real["import_commit"]),
            ("second run, nothing changed (no commit)", real["packages"], real["noop"]),
            (
                "1% changed (122 pkgs): discover + update + commit",
                real["packages"],
                real["incremental"],
            ),
            ("  commit of 122 changed files", real["packages"], real["commit"]),
            (f"scale corpus import ({n} packages)", big["packages"], big["import"]),
            ("  commit of 122 changed files", big["packages"], big["commit"]),
            ("  122 changed: discover + update + commit", big["packages"], big["incremental"]),
        ]
        for label, pkgs, secs in rows:
            print(f"{label:<52}{int(pkgs):>10}{secs:>10.3f}")


if __name__ == "__main__":
    main()
