"""Micro-benchmark: WporgClient.fetch_info throughput against a trivial local HTTP server.

Starts a raw ASGI app under uvicorn (httptools + uvloop) in a child process; it answers every
request with the same canned ~4 KB plugin record. The client then fetches N packages at
several concurrency levels, through the built-in plain-http path and through httpx, and
reports requests/s and the client's CPU per request (HTTP + JSON + validation), which is what
bounds a sync against a local replay.

    .venv/bin/python bench/upstream_probe.py [--requests 6000] [--concurrency 8 16 32]
                                             [--path fast|httpx|both] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from curator.layout import PackageType
from curator.models import UpstreamConfig
from curator.upstream import Found, WporgClient

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def canned_record(size: int = 4096) -> bytes:
    """A plugin record shaped like the real ones (HTML author, entities, versions map)."""
    record: dict[str, Any] = {
        "name": "Probe &#8211; Plugin",
        "slug": "probe",
        "version": "2.3.1",
        "author": '<a href="https://example.org/">Probe Author</a>',
        "author_profile": "https://profiles.wordpress.org/probe/",
        "requires": "5.8",
        "tested": "6.5",
        "requires_php": False,
        "requires_plugins": [],
        "rating": 96,
        "num_ratings": 12,
        "support_threads": 1,
        "active_installs": 3000,
        "last_updated": "2024-03-21 12:55am GMT",
        "added": "2019-02-01",
        "homepage": "https://example.org/probe",
        "short_description": "A probe record for the upstream client benchmark.",
        "download_link": "https://downloads.wordpress.org/plugin/probe.2.3.1.zip",
        "tags": {"seo": "SEO", "performance": "performance"},
        "stable_tag": "2.3.1",
        "versions": {},
    }
    i = 0
    while len(orjson.dumps(record)) < size:
        v = f"{i // 10}.{i % 10}.0"
        record["versions"][v] = f"https://downloads.wordpress.org/plugin/probe.{v}.zip"
        i += 1
    return orjson.dumps(record)


BODY = canned_record()


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


async def run(base: str, requests: int, concurrency: int, fast: bool) -> tuple[float, float, int]:
    config = UpstreamConfig.from_base(base)
    async with WporgClient(config, concurrency=concurrency, fast_http=fast) as client:
        # warm the pool
        await asyncio.gather(
            *(client.fetch_info(PackageType.PLUGIN, f"w{i}") for i in range(concurrency))
        )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = await asyncio.gather(
            *(client.fetch_info(PackageType.PLUGIN, f"probe-{i}") for i in range(requests))
        )
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ok = sum(isinstance(r, Found) for r in results)
    return wall, cpu, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--uvloop", action="store_true", help="run the client on uvloop")
    parser.add_argument(
        "--path",
        choices=["fast", "httpx", "both"],
        default="both",
        help="the built-in plain-http path, httpx, or both",
    )
    args = parser.parse_args()

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port,), daemon=True)
    server.start()
    try:
        wait_for(port)
        base = f"http://127.0.0.1:{port}"
        print(
            f"body {len(BODY)} bytes, {args.requests} requests per run, client loop: "
            f"{'uvloop' if args.uvloop else 'asyncio'}"
        )
        cols = ("path", 6), ("concurrency", 11), ("req/s", 8), ("wall s", 7), ("CPU µs/req", 11)
        print(" ".join(f"{name:>{width}}" for name, width in cols), f"{'ok':>6}")
        paths = ["fast", "httpx"] if args.path == "both" else [args.path]
        for path in paths:
            for concurrency in args.concurrency:
                coro = run(base, args.requests, concurrency, path == "fast")
                if args.uvloop:
                    import uvloop

                    wall, cpu, ok = uvloop.run(coro)
                else:
                    wall, cpu, ok = asyncio.run(coro)
                print(
                    f"{path:>6} {concurrency:>11} {args.requests / wall:>8.0f} {wall:>7.2f} "
                    f"{cpu / args.requests * 1e6:>11.0f} {ok:>6}"
                )
        print("(CPU = the client process's CPU time per request; a 12,227-package import")
        print(" makes about 12,227 info requests)")
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
