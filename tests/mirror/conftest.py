"""Helpers for the mirror tests: a static HTTP server on 127.0.0.1 (a CDN stand-in) and a
data repository of the sample corpus in two commits, with a signing key pinned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from curator import canonical
from curator.build.seed import commit_records, record_from_line
from curator.datarepo import DataRepo
from curator.layout import REGISTRY_FILE, PackageType
from curator.signing import SigningKey

Lines = list[tuple[PackageType, bytes]]
SAMPLE = Path(__file__).resolve().parents[2] / "curator" / "replay" / "sample"


def sample_corpus() -> Lines:
    """The shipped sample corpus as (kind, line) pairs."""
    lines: Lines = []
    for name, kind in (("plugins.jsonl", PackageType.PLUGIN), ("themes.jsonl", PackageType.THEME)):
        lines.extend((kind, line) for line in (SAMPLE / name).read_bytes().splitlines() if line)
    return lines


class _QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a CDN does
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops the SYNs of parallel clients (1 s stalls)


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP (``http.server``); yields ``http://127.0.0.1:PORT``."""
    handler = partial(_QuietHandler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class History:
    """Two commits of a data repository: ``old`` (part of the corpus, keys pinned) and
    ``new`` (all of it)."""

    old: str
    new: str


def pin_keys(repo: DataRepo, keys: list[str]) -> dict[str, bytes | None]:
    """The change to ``registry.json`` that pins ``keys`` (for ``commit_records(extra=)``)."""
    config = repo.view().config().model_copy(update={"signing_keys": keys})
    return {REGISTRY_FILE: canonical.dumps(config.model_dump(mode="json"))}


def seed_history(repo: DataRepo, key: SigningKey | None, lines: Lines | None = None) -> History:
    lines = sample_corpus() if lines is None else lines
    records = [r for r in (record_from_line(kind, line) for kind, line in lines) if r is not None]
    half = len(records) // 2
    extra = pin_keys(repo, [key.public.pinned]) if key is not None else None
    old = commit_records(repo, records[:half], extra=extra, message="sync: first half\n")
    new = commit_records(repo, records[half:], message="sync: second half\n")
    return History(old, new)
