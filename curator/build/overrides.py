"""Override files at build time: parsing and checking them, with errors a trustee can act on.

An override file (``overrides/plugins/<slug>.json``, :class:`curator.models.OverrideFile`)
changes what users get; the build applies it with a pure function
(:mod:`curator.build.render`). This module owns reading one (bytes -> model) and checking it
against the package it patches. Every problem is reported as
``<file>: <field>: <what is wrong>``, for example::

    overrides/plugins/akismet.json: versions."9.9".require.php: invalid constraint ">>7"

so a failing build (or the override PR check) names the file and the field. Checks:

- the file is JSON and matches the model (unknown fields, wrong types);
- ``replacement`` is a valid Composer package name;
- every ``require``/``conflict`` key is a package name or a platform package (``php``,
  ``ext-*``, ...) and every constraint is one Composer accepts (``null`` removes a require);
- every ``versions`` key names a version of the package: a raw tag key (``"1.0"``,
  ``"2.0.3\\r"``), ``trunk``/``dev-trunk``, or a normalised version (``"1.0.0.0"``), and no
  two keys name the same version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

import orjson
from pydantic import ValidationError

from curator.build.text import is_package_name, is_platform_name
from curator.composer import is_valid_constraint
from curator.models import OverrideFile

__all__ = [
    "OverrideError",
    "check_links",
    "check_package_fields",
    "field_path",
    "parse_override",
]

_PLAIN_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]+")


class OverrideError(ValueError):
    """One or more problems with override files; each names the file and the field."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def field_path(*parts: str | int) -> str:
    """``("versions", "9.9", "require", "php")`` -> ``versions."9.9".require.php``."""
    out = []
    for part in parts:
        text = str(part)
        out.append(text if _PLAIN_SEGMENT.fullmatch(text) else _quote(text))
    return ".".join(out)


def _quote(text: str) -> str:
    return orjson.dumps(text).decode()


def parse_override(raw: bytes, path: str) -> OverrideFile:
    """The override in ``raw``; :class:`OverrideError` naming ``path`` and the field if bad."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise OverrideError([f"{path}: not valid JSON ({exc})"]) from None
    try:
        return OverrideFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = field_path(*err["loc"]) if err["loc"] else "<file>"
            problems.append(f"{path}: {where}: {err['msg']}")
        raise OverrideError(problems) from None


def check_links(
    links: Mapping[str, str | None], *, path: str, where: tuple[str, ...], allow_null: bool
) -> list[str]:
    """Problems with a ``require``/``conflict`` map of an override (empty if none)."""
    problems = []
    for target, constraint in links.items():
        field = field_path(*where, target)
        if not (is_package_name(target) or is_platform_name(target)):
            problems.append(f"{path}: {field}: invalid package name {_quote(target)}")
        if constraint is None:
            if not allow_null:
                problems.append(f"{path}: {field}: a constraint is required")
        elif not is_valid_constraint(constraint):
            problems.append(f"{path}: {field}: invalid constraint {_quote(constraint)}")
    return problems


def check_package_fields(override: OverrideFile, path: str) -> list[str]:
    """Problems with the package-level fields (those that need no record to check)."""
    problems = []
    if override.replacement is not None and not is_package_name(override.replacement):
        problems.append(f"{path}: replacement: invalid package name {_quote(override.replacement)}")
    problems += check_links(override.require, path=path, where=("require",), allow_null=True)
    problems += check_links(override.conflict, path=path, where=("conflict",), allow_null=False)
    for key, version in override.versions.items():
        base = ("versions", key)
        problems += check_links(
            version.require, path=path, where=(*base, "require"), allow_null=True
        )
        problems += check_links(
            version.conflict, path=path, where=(*base, "conflict"), allow_null=False
        )
    return problems
