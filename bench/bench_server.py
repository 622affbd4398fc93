"""Load probe of the web server: requests/s and p50/p95 latency per endpoint.

Writes a synthetic build of N packages (default 12,000: p2 files from
curator.build.synthetic plus a search index from synthetic rows) into a temporary storage
directory, starts uvicorn on a loopback port in this process, and sends at most
``--requests`` (default 2,000, capped at 2,000) sequential keep-alive requests per endpoint
from a client thread. Stops by itself; nothing leaves 127.0.0.1.

    .venv/bin/python bench/bench_server.py [--packages 12000] [--requests 2000]

Targets: p95 under 10 ms for pages, under 5 ms for p2 files.
"""

from __future__ import annotations

import argparse
import logging
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from curator.build import synthetic
from curator.build.search_index import SEARCH_INDEX_NAME, SearchRow, write_search_index
from curator.storage.local import LocalStorage
from server.app import create_app
from server.settings import ServerSettings

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=12_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    count = min(args.requests, 2_000)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        storage = LocalStorage(Path(tmp) / "storage")
        names = synthetic.package_names(args.packages * 9 // 10, args.packages // 10)
        rows = rows_for(names)
        index = Path(tmp) / SEARCH_INDEX_NAME
        started = time.perf_counter()
        write_search_index(index, rows)
        print(f"search index: {len(rows)} rows in {time.perf_counter() - started:.2f}s")
        with storage.building("bench-1") as directory:
            synthetic.write(directory, names, extra={SEARCH_INDEX_NAME: index.read_bytes()})
        storage.promote("bench-1")

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        app = create_app(ServerSettings(storage=storage.root))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        rng = random.Random(2)
        cases = {
            "browse (page 1..50)": lambda: f"/?page={rng.randint(1, 50)}",
            "search (2 words)": lambda: f"/?q={'+'.join(rng.sample(WORDS, 2))}",
            "search (api)": lambda: f"/api/packages?q={rng.choice(WORDS)[:3]}",
            "detail": lambda: f"/packages/{rng.choice(names)}",
            "p2 file": lambda: f"/p2/{rng.choice(names)}.json",
        }
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                for label, make in cases.items():
                    urls = [make() for _ in range(count)]
                    for url in urls[:50]:  # warm-up
                        client.get(url)
                    times = []
                    start = time.perf_counter()
                    for url in urls:
                        t0 = time.perf_counter()
                        r = client.get(url)
                        times.append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, (url, r.status_code)
                    total = time.perf_counter() - start
                    q = statistics.quantiles(times, n=100)
                    print(
                        f"{label:22} {count / total:8.0f} req/s  p50 {q[49]:6.2f} ms  "
                        f"p95 {q[94]:6.2f} ms  max {max(times):6.1f} ms"
                    )
        finally:
            server.should_exit = True
            thread.join(10)


if __name__ == "__main__":
    main()
