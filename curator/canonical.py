"""Canonical JSON: the one byte encoding used for every file the curator writes.

Sorted keys, 2-space indent, UTF-8 (no ``\\u`` escapes for non-ASCII), trailing newline.
Writing the same data twice yields the same bytes, hence the same git blob.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def dumps(data: Any) -> bytes:
    """Encode ``data`` as canonical JSON bytes."""
    return orjson.dumps(data, option=_OPTIONS)


def loads(raw: bytes | str) -> Any:
    """Decode JSON bytes (canonical or not)."""
    return orjson.loads(raw)
