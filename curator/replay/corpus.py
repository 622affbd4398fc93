"""Recorded WordPress.org records on disk: reading and writing JSON-lines corpora.

A corpus file holds one API record per line (``plugin_information`` / ``theme_information``
with all fields on), as ``.jsonl``, ``.jsonl.xz`` or ``.jsonl.gz``. A line whose ``error`` is
``"closed"`` is a closed plugin's body, stored as is. Records are keyed by ``slug``; a later
line for the same slug wins. Also locates the sample corpus shipped for the demo.
"""

from __future__ import annotations

import gc
import gzip
import lzma
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

Record = dict[str, Any]
PathLike = str | os.PathLike[str]

_SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


class CorpusError(ValueError):
    """A corpus line that is not a JSON object with a string ``slug``."""


def read_corpus_bytes(path: PathLike) -> bytes:
    """The decompressed bytes of a corpus file (by suffix: ``.xz``, ``.gz`` or plain)."""
    p = Path(path)
    if p.suffix == ".xz":
        with lzma.open(p) as fh:
            return fh.read()
    if p.suffix == ".gz":
        with gzip.open(p) as fh:
            return fh.read()
    return p.read_bytes()


def iter_records(data: bytes, *, source: str = "<corpus>") -> Iterator[Record]:
    """Every record in JSON-lines ``data``; blank lines are skipped."""
    loads = orjson.loads
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except orjson.JSONDecodeError as exc:
            raise CorpusError(f"{source}:{number}: invalid JSON: {exc}") from None
        if not isinstance(record, dict) or not isinstance(record.get("slug"), str):
            raise CorpusError(f"{source}:{number}: not a record with a string 'slug'")
        yield record


def load_corpus(path: PathLike) -> dict[str, Record]:
    """Load one corpus file: ``{slug: record}`` in file order."""
    data = read_corpus_bytes(path)
    # Millions of new containers: the cyclic GC would rescan them over and over (2x slower).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return {r["slug"]: r for r in iter_records(data, source=str(path))}
    finally:
        if enabled:
            gc.enable()


def load_corpora(paths: Sequence[PathLike]) -> dict[str, Record]:
    """Load several corpus files into one mapping; later files win on duplicate slugs."""
    merged: dict[str, Record] = {}
    for path in paths:
        merged.update(load_corpus(path))
    return merged


def dump_records(records: Iterable[Mapping[str, Any]]) -> bytes:
    """JSON-lines bytes (compact JSON, one record per line, trailing newline)."""
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_corpus(records: Iterable[Mapping[str, Any]], path: PathLike) -> None:
    """Write ``records`` as a corpus file (compressed by suffix, like :func:`load_corpus`)."""
    data = dump_records(records)
    p = Path(path)
    if p.suffix == ".xz":
        with lzma.open(p, "wb") as fh:
            fh.write(data)
    elif p.suffix == ".gz":
        p.write_bytes(gzip.compress(data, mtime=0))
    else:
        p.write_bytes(data)


def sample_corpus_paths() -> tuple[Path, Path]:
    """``(plugins.jsonl, themes.jsonl)`` of the sample corpus shipped with the project."""
    return _SAMPLE_DIR / "plugins.jsonl", _SAMPLE_DIR / "themes.jsonl"
