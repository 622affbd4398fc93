"""Reading ``trustees.json`` (:class:`curator.models.TrusteesFile`) from a commit.

:func:`parse_trustees` returns the file or the problems with it, each naming the field
(``trustees.1.login``) and the offending value, as :class:`curator.review.validate.Problem`
entries; :func:`load_trustees` reads the file of one commit and raises
:class:`curator.datarepo.DataError` when it is invalid.
"""

from __future__ import annotations

import json
from typing import Final

import orjson
from pydantic import ValidationError

from curator.datarepo import DataError, DataView
from curator.models import TrusteesFile
from curator.review.display import field_path, literal, show_path
from curator.review.rules import TRUSTEES_FILE
from curator.review.validate import FILE, Problem

__all__ = ["MAX_TRUSTEES_BYTES", "load_trustees", "parse_trustees"]

MAX_TRUSTEES_BYTES: Final = 64 * 1024


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [k for k, _v in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"duplicate key {literal(dupes[0])} (only the last one would count)")
    return dict(pairs)


def parse_trustees(raw: bytes, shown: str) -> TrusteesFile | list[Problem]:
    """The trustees file in ``raw``, or its problems (``shown`` is its path for messages)."""
    where = show_path(shown)
    if len(raw) > MAX_TRUSTEES_BYTES:
        return [Problem(where, FILE, f"file is larger than {MAX_TRUSTEES_BYTES} bytes")]
    try:
        orjson.loads(raw)
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        return [Problem(where, FILE, f"not valid JSON: {exc}")]
    except ValueError as exc:
        return [Problem(where, FILE, str(exc))]
    try:
        return TrusteesFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            shown_field = field_path(*loc) if loc else FILE
            if err["type"] == "missing":
                problems.append(Problem(where, shown_field, "required field is missing"))
            elif err["type"] == "extra_forbidden":
                problems.append(
                    Problem(where, shown_field, "unknown field", literal(err.get("input")))
                )
            else:
                message = str(err["msg"]).removeprefix("Value error, ")
                problems.append(Problem(where, shown_field, message, literal(err.get("input"))))
        return problems


def load_trustees(view: DataView) -> TrusteesFile | None:
    """``trustees.json`` at ``view``'s commit; None when there is none. Raises
    :class:`~curator.datarepo.DataError` (naming the file and field) when it is invalid."""
    raw = view.read(TRUSTEES_FILE)
    if raw is None:
        return None
    parsed = parse_trustees(raw, view.path(TRUSTEES_FILE))
    if isinstance(parsed, list):
        raise DataError("; ".join(p.line() for p in parsed[:5]))
    return parsed
