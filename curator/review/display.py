"""Showing hostile values safely: bounded, escaped, unambiguous.

Values from override files and upstream records end up in terminal output, CI logs, JSON and
pull-request comments. :func:`literal` shows any value as a JSON literal (so it is exact and
unambiguous: quotes, backslashes and line breaks are escaped) with invisible characters
(control, format and separator characters, which can hide or reorder text) and the backtick
written as ``\\uXXXX`` escapes, cut to a bounded length. Such a literal is plain text: put it
in a code block or code span (:func:`code`) before it goes into Markdown, and escape it for
HTML. :func:`field_path` names a field the way build errors do (``versions."9.9".require.php``);
:func:`show_path` shows a repository path.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Final

__all__ = ["MAX_SHOWN", "code", "field_path", "literal", "show_path"]

MAX_SHOWN: Final = 120  # characters of a value shown before it is cut
MAX_SEGMENT: Final = 60  # characters of one field-path segment shown
_PLAIN_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]+")
_PLAIN_PATH: Final = re.compile(r"[A-Za-z0-9_./-]{1,300}")
_MARKUP: Final = frozenset("`")
_INVISIBLE: Final = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in _MARKUP or unicodedata.category(ch) in _INVISIBLE:
            code = ord(ch)
            if code > 0xFFFF:  # a JSON escape is one UTF-16 unit: write the surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def literal(value: object, *, limit: int = MAX_SHOWN) -> str:
    """``value`` as an escaped JSON literal, cut after ``limit`` characters."""
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[:limit]
        text = _escape(json.dumps(shown, ensure_ascii=False))
        return text if len(value) <= limit else f"{text}… ({len(value)} characters)"
    try:
        encoded = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        encoded = json.dumps(repr(value), ensure_ascii=False)
    return _cut(_escape(encoded), limit)


def _segment(part: str | int) -> str:
    text = str(part)
    if _PLAIN_SEGMENT.fullmatch(text) and len(text) <= MAX_SEGMENT:
        return text
    return literal(text, limit=MAX_SEGMENT)


def field_path(*parts: str | int) -> str:
    """``("versions", "9.9", "require", "php")`` -> ``versions."9.9".require.php``."""
    return ".".join(_segment(p) for p in parts) if parts else "<file>"


def show_path(path: str) -> str:
    """A repository path as is when it is plain, else as an escaped literal."""
    return path if _PLAIN_PATH.fullmatch(path) else literal(path, limit=200)


def code(text: str, *, limit: int = MAX_SHOWN) -> str:
    """``text`` as a Markdown code span: backticks become ``'``, invisible characters are
    escaped, long text is cut. Code spans show ``<`` and ``&`` literally, so HTML in the text
    stays inert."""
    shown = text if len(text) <= limit else text[:limit]
    out = []
    for ch in shown.replace("`", "'"):
        if unicodedata.category(ch) in _INVISIBLE:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    body = "".join(out)
    if not body.strip():
        return '`""`'  # an empty code span would not render as one
    suffix = "" if len(text) <= limit else f"… ({len(text)} characters)"
    return f"`{body}`{suffix}"
