"""Composer's ``composer/2.0`` metadata minification, ported from composer/metadata-minifier.

``MetadataMinifier::minify`` keeps the first version entry whole; each next entry holds only
the keys whose value differs from the previous *expanded* entry, plus ``"__unset"`` for keys
the previous entry had and this one lacks. ``MetadataMinifier::expand`` undoes it. The port is
literal, including PHP semantics that matter for exactness:

- ``isset()`` is false for a key whose value is ``null``, so a ``None`` value is always
  written and then also marked ``"__unset"`` (Composer does the same; the renderer never emits
  ``null``);
- ``!==`` on arrays compares keys, order, values and types (``1 !== 1.0``, ``1 !== true``),
  so :func:`identical` does too, unlike Python's ``==``;
- an empty first entry (falsy in PHP) does not count as "previous data".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import compress
from operator import is_not
from typing import Any

__all__ = ["UNSET", "expand", "identical", "minify"]

UNSET = "__unset"


def identical(a: Any, b: Any) -> bool:
    """PHP ``$a === $b`` for JSON-decoded values (dicts compare in order)."""
    if a is b:
        return True
    if type(a) is not type(b) or a != b:  # === implies == for JSON values
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return all(identical(x, y) for x, y in zip(a, b, strict=True))
    return True


def minify(versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``MetadataMinifier::minify($versions)``."""
    minified: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for version in versions:
        if not last:
            last = dict(version)
            minified.append(dict(version))
            continue
        entry: dict[str, Any] = {}
        if list(last) == list(version) and None not in version.values():
            # Same keys in the same order, none null: only a key holding another object
            # than before can have changed, and nothing is removed. (C-level fast path.)
            maybe: Iterable[str] = list(
                compress(version, map(is_not, last.values(), version.values()))
            )
            gone = False
        else:
            maybe = list(version)
            gone = True
        for key in maybe:
            value = version[key]
            known = last.get(key)
            if (
                known is not None
                and type(known) is type(value)
                and (known == value if type(value) is str else identical(known, value))
            ):
                continue
            entry[key] = value
            last[key] = value
        if gone:
            for key in [k for k in last if version.get(k) is None]:
                entry[key] = UNSET
                del last[key]
        minified.append(entry)
    return minified


def expand(versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``MetadataMinifier::expand($versions)``."""
    expanded: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for data in versions:
        if not current:
            current = dict(data)
            expanded.append(dict(current))
            continue
        for key, value in data.items():
            if value == UNSET and isinstance(value, str):
                current.pop(key, None)
            else:
                current[key] = value
        expanded.append(dict(current))
    return expanded
