"""Load probe of the web server: requests/s and p50/p95 latency per endpoint, per scale.

For each scale (default 12,000 and 60,000 packages) it writes a synthetic build (p2 files
from :mod:`curator.build.synthetic`, a search index from synthetic rows) into a temporary
storage directory, starts ``curator serve`` in a child process on a loopback port (as an
operator runs it: uvicorn, access log on, SQLite runtime database in the storage), and sends
sequential keep-alive requests from this process with :mod:`http.client` (a light client,
so the numbers are the server's). Each endpoint is bounded by ``--requests`` (capped at
5,000) and ``--seconds``. Nothing leaves 127.0.0.1.

Endpoints: browse pages 1..50, search (a small set of popular two-word queries: what the page
cache serves), search over distinct slug prefixes (mostly uncached: each query is new), the
JSON API search, package pages, p2 files (and p2 revalidation with ``If-Modified-Since``:
304), and ``POST /downloads`` (notify-batch, one install per request, a new client address
each time, so every request is counted: the write path). ``bench/bench_telemetry.py``
measures notify-batch throughput over several connections.

    .venv/bin/python bench/bench_server.py [--scales 12000,60000] [--requests 2000]

Targets at 60k packages: search, browse and detail p95 under 10 ms, p2 file p95 under 5 ms,
notify-batch at least 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from curator.build import synthetic
from curator.build.search_index import SEARCH_INDEX_NAME, SearchRow, write_search_index
from curator.build.text import is_package_name
from curator.storage.local import LocalStorage

WORDS = [
    "contact",
    "form",
    "seo",
    "gallery",
    "cache",
    "security",
    "backup",
    "slider",
    "shop",
    "social",
    "mail",
    "forms",
]
MAX_REQUESTS = 5_000

Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def rows_for(names: list[str]) -> list[SearchRow]:
    rng = random.Random(1)
    out = []
    for name in names:
        vendor, slug = name.split("/")
        words = rng.sample(WORDS, 3)
        out.append(
            SearchRow(
                name=name,
                type="plugin" if vendor == "wp-plugin" else "theme",
                slug=slug,
                title=" ".join(w.capitalize() for w in words) + f" {slug[:6]}",
                description=f"A plugin for {' and '.join(words)}. " * 3,
                author="Someone",
                status="open",
                closure_reason=None,
                closed_date=None,
                abandoned=None,
                version="1.0.0",
                requires_wp="6.0",
                tested="6.5",
                requires_php="7.4",
                active_installs=rng.randint(0, 1_000_000),
                last_updated=f"2024-{rng.randint(1, 12):02d}-01T00:00:00+00:00",
                homepage=None,
                wporg_url=f"https://wordpress.org/plugins/{slug}/",
                overrides_json="[]",
            )
        )
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(storage: Path) -> Iterator[int]:
    """``curator serve`` on a free loopback port, stopped on exit."""
    port = free_port()
    curator = str(Path(sys.executable).with_name("curator"))
    log = (storage / "serve.log").open("wb")
    proc = subprocess.Popen(
        [curator, "serve", "--storage", str(storage), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status in (200, 503):
                    conn.close()
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"curator serve did not start: {(storage / 'serve.log')}")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def measure(
    port: int, make: Callable[[int], Request], count: int, seconds: float, expect: int
) -> tuple[float, float, float, int]:
    """Sequential keep-alive requests: (req/s, p50 ms, p95 ms, requests sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(min(50, count)):  # warm-up (connection, caches of the first pages)
        method, path, body, headers = make(-1 - i)
        conn.request(method, path, body=body, headers=headers)
        conn.getresponse().read()
    times: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        method, path, body, headers = make(i)
        t0 = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - t0) * 1000)
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status}, expected {expect}")
        if time.perf_counter() - started > seconds:
            break
    total = time.perf_counter() - started
    conn.close()
    q = statistics.quantiles(times, n=100)
    return len(times) / total, q[49], q[94], len(times)


def scenario(packages: int, count: int, seconds: float) -> list[tuple[str, float, float, float]]:
    names = [
        n
        for n in synthetic.package_names(packages * 9 // 10, packages // 10)
        if is_package_name(n)  # the pages refuse names Composer would refuse
    ]
    rng = random.Random(2)
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        storage = LocalStorage(Path(tmp) / "storage")
        index = Path(tmp) / SEARCH_INDEX_NAME
        write_search_index(index, rows_for(names))
        with storage.building("bench-1") as directory:
            synthetic.write(directory, names, extra={SEARCH_INDEX_NAME: index.read_bytes()})
        storage.promote("bench-1")
        modified = {}
        with serving(storage.root) as port:
            conn = http.client.HTTPConnection("127.0.0.1", port)
            for name in names[:200]:
                conn.request("GET", f"/p2/{name}.json")
                response = conn.getresponse()
                response.read()
                modified[name] = response.getheader("Last-Modified") or ""
            conn.close()
            revalidated = list(modified)
            prefixes = [n.split("/")[1][: rng.randint(3, 6)] for n in rng.sample(names, 4000)]

            def get(path: str) -> Request:
                return ("GET", path, None, {})

            def notify(i: int) -> Request:
                name = rng.choice(names)
                body = json.dumps({"downloads": [{"name": name, "version": "dev-trunk"}]})
                client = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
                headers = {"Content-Type": "application/json", "X-Forwarded-For": client}
                return ("POST", "/downloads", body.encode(), headers)

            def revalidate(i: int) -> Request:
                name = revalidated[i % len(revalidated)]
                headers = {"If-Modified-Since": modified[name]}
                return ("GET", f"/p2/{name}.json", None, headers)

            cases: list[tuple[str, Callable[[int], Request], int]] = [
                ("browse (page 1..50)", lambda i: get(f"/?page={rng.randint(1, 50)}"), 200),
                (
                    "search (popular, 2 words)",
                    lambda i: get(f"/?q={'+'.join(rng.sample(WORDS, 2))}"),
                    200,
                ),
                (
                    "search (distinct prefixes)",
                    lambda i: get(f"/?q={prefixes[i % len(prefixes)]}"),
                    200,
                ),
                ("search (JSON API)", lambda i: get(f"/api/packages?q={rng.choice(WORDS)}"), 200),
                ("package page", lambda i: get(f"/packages/{rng.choice(names)}"), 200),
                ("p2 file", lambda i: get(f"/p2/{rng.choice(names)}.json"), 200),
                ("p2 file, If-Modified-Since", revalidate, 304),
                ("notify-batch (POST /downloads)", notify, 200),
            ]
            results = []
            for label, make, expect in cases:
                rate, p50, p95, _sent = measure(port, make, count, seconds, expect)
                results.append((label, rate, p50, p95))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="12000,60000")
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per endpoint")
    args = parser.parse_args()
    count = max(100, min(args.requests, MAX_REQUESTS))
    table: dict[int, list[tuple[str, float, float, float]]] = {}
    for scale in (int(s) for s in args.scales.split(",")):
        table[scale] = scenario(scale, count, args.seconds)
        print(f"# {scale:,} packages done", flush=True)
    print()
    print("| endpoint | packages | req/s | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for scale, rows in table.items():
        for label, rate, p50, p95 in rows:
            print(f"| {label} | {scale:,} | {rate:,.0f} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
