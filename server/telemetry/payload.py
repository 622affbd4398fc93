"""Composer's notify-batch body, parsed and bounded.

Composer (``InstallationManager::notifyInstalls``) posts ``Content-Type: application/json``::

    {"downloads": [{"name": "wp-plugin/akismet", "version": "5.3.1.0"}, ...]}

with ``name`` the package's pretty name and ``version`` its normalised version; towards
packagist.org each entry also carries ``"downloaded": bool``. Other keys are allowed and
ignored. Anything else is a :class:`PayloadError` whose message names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import orjson

MAX_BODY: Final = 64 * 1024
MAX_ENTRIES: Final = 100


class PayloadError(ValueError):
    """A body that is not a notify-batch document (answered with 400)."""


@dataclass(frozen=True)
class Download:
    name: str
    version: str


def parse_notify_batch(body: bytes, *, max_entries: int = MAX_ENTRIES) -> list[Download]:
    """The entries of a notify-batch body; raises :class:`PayloadError`."""
    if not body.strip():
        raise PayloadError("the body is empty; expected a JSON object with a 'downloads' list")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"the body is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(doc, dict):
        raise PayloadError("the body must be a JSON object with a 'downloads' list")
    entries = doc.get("downloads")
    if entries is None:
        raise PayloadError("the body has no 'downloads' list")
    if not isinstance(entries, list):
        raise PayloadError("'downloads' must be a list")
    if len(entries) > max_entries:
        raise PayloadError(f"'downloads' has {len(entries)} entries; at most {max_entries}")
    out: list[Download] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PayloadError(f"downloads[{i}] must be an object with 'name' and 'version'")
        for key in ("name", "version"):
            if not isinstance(entry.get(key), str):
                raise PayloadError(f"downloads[{i}].{key} must be a string")
        out.append(Download(entry["name"], entry["version"]))
    return out
