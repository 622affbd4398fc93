"""``curator versions``: Composer's version rules on the command line.

``curator versions normalize`` reads one version string per line on stdin and writes one
compact JSON array ``[input, normalized-or-null]`` per line, in input order. Only the line
feed ends a line: a ``\\r`` (real WordPress.org tags end in one) and every other character stay
part of the input. ``null`` means Composer rejects the string (``normalize`` throws).
Input that is not valid UTF-8 is processed byte for byte, as PHP would, and echoed back with
``\\udcXX`` escapes for the undecodable bytes.
"""

from __future__ import annotations

import json
from typing import BinaryIO

import click
import orjson

from curator.composer import normalize

__all__ = ["versions"]

_BATCH_LINES = 4096
_CACHE_LIMIT = 200_000


@click.group(name="versions")
def versions() -> None:
    """Composer version rules (a pure-Python port of composer/semver)."""


def _row(text: str, normalized: str | None) -> bytes:
    try:
        return orjson.dumps([text, normalized])
    except orjson.JSONEncodeError:  # lone surrogates from undecodable input bytes
        return json.dumps([text, normalized], separators=(",", ":")).encode("ascii")


def normalize_stream(source: BinaryIO, sink: BinaryIO) -> int:
    """Normalise every line of ``source`` into JSON lines on ``sink``; returns the line count."""
    cache: dict[bytes, bytes] = {}
    out: list[bytes] = []
    count = 0
    for raw_line in source:
        raw = raw_line[:-1] if raw_line.endswith(b"\n") else raw_line
        row = cache.get(raw)
        if row is None:
            text = raw.decode("utf-8", "surrogateescape")
            row = _row(text, normalize(text)) + b"\n"
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[raw] = row
        out.append(row)
        count += 1
        if len(out) >= _BATCH_LINES:
            sink.write(b"".join(out))
            out.clear()
    sink.write(b"".join(out))
    sink.flush()
    return count


@versions.command("normalize")
@click.argument("source", type=click.File("rb"), default="-", metavar="[FILE]")
@click.option(
    "-o",
    "--output",
    "sink",
    type=click.File("wb", lazy=False),  # an unwritable path is a usage error (exit 2)
    default="-",
    help="Write the JSON lines to this file (default: stdout).",
)
def normalize_command(source: BinaryIO, sink: BinaryIO) -> None:
    """Normalise versions as Composer does: one per line -> [input, normalized|null].

    Reads FILE, or stdin when FILE is omitted or '-'. Only "\\n" ends a line.

    \b
    Example:
      printf 'v1.1.7\\nrelease-1.1.0\\n' | curator versions normalize
      ["v1.1.7","1.1.7.0"]
      ["release-1.1.0",null]
    """
    normalize_stream(source, sink)
