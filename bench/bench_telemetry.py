"""Load probe of ``POST /downloads`` (Composer notify-batch): requests/s and latency.

Writes a synthetic build of N packages (default 12,000) into a temporary storage directory,
starts ``uvicorn`` in a child process on a loopback port (proxy headers off, as ``curator
serve`` runs it; 127.0.0.1 is a trusted proxy, so ``X-Forwarded-For`` names the client), and
posts notify-batch bodies from ``--connections`` keep-alive connections of this process
(a minimal HTTP/1.1 client on asyncio streams: httpx would be the bottleneck).
Scenarios: every request a new client (each entry counted: the write path), the same client
again (every entry a duplicate), and bigger batches. Each scenario is bounded by
``--requests`` (capped at 20,000) and ``--seconds``. Nothing leaves 127.0.0.1.

    .venv/bin/python bench/bench_telemetry.py [--packages 12000] [--requests 5000]
        [--connections 8] [--database-url postgresql+psycopg://postgres@127.0.0.1/test]

Target: at least 1,000 notify-batch requests/s on a 2-core machine (SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from curator.build import synthetic
from curator.build.search_index import SEARCH_INDEX_NAME, write_search_index
from curator.storage.local import LocalStorage
from server.search import SearchIndex
from server.settings import ServerSettings

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import rows_for  # the sibling probe's synthetic rows

Body = Callable[[int], tuple[bytes, str]]


def serve(settings: ServerSettings, port: int) -> None:
    import uvicorn

    from server.app import create_app

    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        proxy_headers=False,
        log_level="warning",
        access_log=False,
    )


async def post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes, client_ip: str
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 request on a raw connection (httpx costs more CPU than the
    server's handler: it would measure the client)."""
    writer.write(
        b"POST /downloads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"X-Forwarded-For: {client_ip}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")
    )
    return status, await reader.readexactly(length)


async def load(port: int, make: Body, count: int, seconds: float, connections: int) -> None:
    times: list[float] = []
    statuses: dict[int, int] = {}
    totals = {"accepted": 0, "duplicates": 0, "ignored": 0}
    deadline = time.perf_counter() + seconds
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < count and time.perf_counter() < deadline:
                i = next_index
                next_index += 1
                body, client_ip = make(i)
                t0 = time.perf_counter()
                status, answer = await post(reader, writer, body, client_ip)
                times.append((time.perf_counter() - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    data = orjson.loads(answer)
                    totals["accepted"] += data["accepted"]
                    totals["duplicates"] += data["duplicates"]
                    totals["ignored"] += data["ignored"]
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    total = time.perf_counter() - start
    q = statistics.quantiles(times, n=100)
    print(
        f"  {len(times):6d} requests {len(times) / total:8.0f} req/s  p50 {q[49]:6.2f} ms  "
        f"p95 {q[94]:6.2f} ms  max {max(times):6.1f} ms  statuses {statuses}  "
        f"counted {totals['accepted']} duplicates {totals['duplicates']} "
        f"ignored {totals['ignored']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--packages", type=int, default=12_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    count = min(args.requests, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        storage = LocalStorage(Path(tmp) / "storage")
        names = synthetic.package_names(args.packages * 9 // 10, args.packages // 10)
        index = Path(tmp) / SEARCH_INDEX_NAME
        write_search_index(index, rows_for(names))
        with storage.building("bench-1") as directory:
            synthetic.write(directory, names, extra={SEARCH_INDEX_NAME: index.read_bytes()})
        storage.promote("bench-1")
        reader = SearchIndex(storage.build_path("bench-1") / SEARCH_INDEX_NAME)
        rng = random.Random(3)
        sample = rng.sample(names, min(2_000, len(names)))
        known = [(n, sorted(reader.versions(n) or ())) for n in sample]
        known = [(n, v) for n, v in known if v]
        reader.close()
        print(f"{len(names)} packages; {len(known)} with versions to report")

        settings = ServerSettings(storage=storage.root, database_url=args.database_url)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(settings, port), daemon=True
        )
        server.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or not server.is_alive():
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)

        def batch(i: int, size: int) -> bytes:
            entries = [known[(i * size + k) % len(known)] for k in range(size)]
            downloads = [{"name": n, "version": rng.choice(v)} for n, v in entries]
            return orjson.dumps({"downloads": downloads})

        clients = iter(range(1, 1 << 24))  # a fresh address for every request of every run

        def new_client(size: int) -> Body:
            def make(i: int) -> tuple[bytes, str]:
                n = next(clients)
                return batch(i, size), f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}"

            return make

        same = batch(0, 1)
        scenarios: list[tuple[str, Body]] = [
            ("1 entry, new client each request (counted)", new_client(1)),
            ("1 entry, same client (duplicates)", lambda i: (same, "192.0.2.1")),
            ("5 entries, new client each request", new_client(5)),
            ("20 entries, new client each request", new_client(20)),
        ]
        try:
            # warm-up: every sampled package reported once, so the server's per-build cache of
            # published versions is filled (a cold lookup reads the package's p2 file)
            print("warm-up: each sampled package once")
            every = [(known[i][0], known[i][1][0]) for i in range(len(known))]
            bodies = [
                orjson.dumps(
                    {"downloads": [{"name": n, "version": v} for n, v in every[i : i + 100]]}
                )
                for i in range(0, len(every), 100)
            ]
            asyncio.run(load(port, lambda i: (bodies[i], "192.0.2.2"), len(bodies), 30, 1))
            for label, make in scenarios:
                print(label)
                asyncio.run(load(port, make, 100, 5, args.connections))  # warm-up
                asyncio.run(load(port, make, count, args.seconds, args.connections))
        finally:
            server.terminate()
            server.join(10)


if __name__ == "__main__":
    main()
