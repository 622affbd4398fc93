"""Throughput probe for the WordPress.org replay.

Starts ``python -m curator.replay`` as a subprocess on the given corpus (default: the real
12,227-record corpus in ../shared when present, else the sample), then fetches
``plugins/info/1.2`` for every slug with httpx at a fixed concurrency and reports requests/s,
plus the server's own CPU time per request (from /proc, Linux): the replay's capacity on one
core regardless of how fast the client is.

httpcore (under httpx's AsyncClient) tries ``import sniffio`` four times per request; when
sniffio is not installed each failed import walks sys.path (~0.15 ms). The probe stubs it out
(``sys.modules["sniffio"] = None`` makes the import fail at once), as a client should.

    .venv/bin/python bench/replay_probe.py [--corpus FILE] [--concurrency 16] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from curator.replay.corpus import load_corpus, sample_corpus_paths

ROOT = Path(__file__).resolve().parent.parent
REAL_CORPUS = ROOT.parent / "shared" / "corpus" / "wporg-plugins-2024-04-16.jsonl.xz"


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _fetch_all(base: str, slugs: list[str], concurrency: int) -> tuple[int, int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for slug in slugs:
        queue.put_nowait(slug)
    ok = bad = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal ok, bad
            while True:
                try:
                    slug = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                response = await client.get(
                    "/plugins/info/1.2/",
                    params={"action": "plugin_information", "request[slug]": slug},
                )
                if response.status_code in (200, 404):
                    ok += 1
                else:
                    bad += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=2, help="round 1 is cold, later ones hit the cache"
    )
    args = parser.parse_args()
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]  # see the docstring
    corpus = args.corpus or (REAL_CORPUS if REAL_CORPUS.exists() else sample_corpus_paths()[0])
    slugs = sorted(load_corpus(corpus))

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "curator.replay", "--corpus", str(corpus)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "replay listening on "
        if not line.startswith(prefix):
            print(f"unexpected first line: {line!r}", file=sys.stderr)
            return 1
        base = line[len(prefix) :]
        print(
            f"corpus {corpus.name}: {len(slugs)} slugs; server ready in "
            f"{time.perf_counter() - started:.2f} s at {base}"
        )
        for round_no in range(1, args.rounds + 1):
            cpu0 = _cpu_seconds(proc.pid)
            t0 = time.perf_counter()
            ok, bad = asyncio.run(_fetch_all(base, slugs, args.concurrency))
            elapsed = time.perf_counter() - t0
            cpu1 = _cpu_seconds(proc.pid)
            total = ok + bad
            server = ""
            if cpu0 is not None and cpu1 is not None and total:
                per = (cpu1 - cpu0) / total
                server = f"; server CPU {per * 1e6:.0f} us/request (~{1 / per:,.0f} req/s per core)"
            print(
                f"round {round_no} ({'cold' if round_no == 1 else 'cached'}): {total} "
                f"requests ({bad} failed) in {elapsed:.2f} s = {total / elapsed:,.0f} req/s "
                f"with httpx at concurrency {args.concurrency}{server}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
