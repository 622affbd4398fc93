"""``curator validate``: every override file at a commit, checked for form and meaning.

:func:`validate_view` walks ``overrides/`` of one commit and returns a :class:`Validation`
whose :class:`Problem` entries each name the file, the field (``versions."1.2.3".require.php``,
``<file>`` for the file as a whole, ``<path>`` for its name), the offending value (an escaped,
bounded JSON literal, see :mod:`curator.review.display`) and what is wrong. It reads only the
override files and the records they name (plus ``registry.json`` for the vendor names).

Checks, per file:

- **path**: ``overrides/plugins/<slug>.json`` or ``overrides/themes/<slug>.json`` with a valid
  slug (:func:`curator.layout.is_valid_slug`). Anything else under ``overrides/`` (another
  folder, nested folders, another extension, names such as ``..json``, ``.x.json``,
  ``Bad Name.json``, ``%2e%2e.json``) is a problem, as is a symbolic link or a submodule;
- **form**: at most :data:`MAX_FILE_BYTES`, UTF-8 JSON without duplicate keys, an object that
  matches :class:`curator.models.OverrideFile` (unknown fields, wrong types, missing
  ``reason``/``author``/``date``). Flags are JSON booleans (the model would read ``"no"`` as
  false), ``date`` is ``YYYY-MM-DD``, texts are not blank, have no control characters and are
  bounded (:data:`MAX_TEXT`);
- **meaning**: the package has a record in ``packages/``; every ``versions`` key names one of
  its versions (a raw tag key, a normalised version, or ``trunk``/``dev-trunk`` for plugins)
  and no two keys name the same one; every ``require``/``conflict`` key is a Composer package
  or platform name other than the package itself and every constraint parses with Composer's
  rules (:func:`curator.composer.is_valid_constraint`; ``null`` removes a require only);
  ``replacement`` is a package name other than the package itself;
- **the build agrees**: a file that passes is also rendered with the build's own function
  (:func:`curator.build.render.expand_package`); anything it rejects is a problem too.

Overrides carry no URLs: :class:`~curator.models.OverrideFile` has no field that holds one
(``extra="forbid"``), so a ``dist`` or ``url`` key is rejected as an unknown field and a dist
URL can never be redirected by an override. Should such a field be added, its hosts need a check
here.

Names are checked with :mod:`curator.review.names` (linear time) before anything reaches the
renderer, whose name patterns backtrack exponentially on hostile input.
"""

from __future__ import annotations

import json
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from pydantic import ValidationError

from curator.build.overrides import OverrideError
from curator.build.render import expand_package, package_name
from curator.composer import is_valid_constraint, normalize
from curator.datarepo import DataError, DataView
from curator.layout import (
    OVERRIDES_DIR,
    PackageType,
    is_valid_slug,
    package_path,
)
from curator.models import OverrideFile, PackageRecord, RegistryConfig
from curator.records import decode
from curator.review.display import field_path, literal, show_path
from curator.review.names import is_package_name, is_platform_name

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TEXT",
    "Problem",
    "Validation",
    "check_override",
    "check_override_path",
    "validate_view",
]

MAX_FILE_BYTES: Final = 256 * 1024
MAX_TEXT: Final = 1000  # reason, author
MAX_CONSTRAINT: Final = 1000
MAX_KNOWN_SHOWN: Final = 8  # versions listed in "no such version" messages
TRUNK_KEYS: Final = ("trunk", "dev-trunk")
FILE: Final = "<file>"
PATH: Final = "<path>"
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_PLAIN_FIELD: Final = re.compile(r"[A-Za-z0-9_.-]{1,200}")
_KINDS: Final = {k.plural: k for k in PackageType}
_GITLINK: Final = 0o160000


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file: ``path: field: message (value: ...)``."""

    path: str  # shown path in the repository (prefix included), see display.show_path
    field: str  # field path, "<file>" or "<path>"
    message: str
    value: str | None = None  # escaped, bounded JSON literal of the offending value

    def line(self) -> str:
        text = f"{self.path}: {self.field}: {self.message}"
        return text if self.value is None else f"{text} (value: {self.value})"

    def to_json(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "field": self.field,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class Validation:
    """The result of checking every override file at one commit."""

    commit: str
    files: int  # override files examined (well named or not)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "ok": self.ok,
            "files": self.files,
            "problems": [p.to_json() for p in self.problems],
        }


# --- paths ---------------------------------------------------------------------------------


def check_override_path(rel: str) -> tuple[PackageType, str] | str:
    """``(kind, slug)`` for a well-named override path (relative to the data tree), else why
    it is not one."""
    parts = rel.split("/")
    if parts[0] != OVERRIDES_DIR or len(parts) < 2:
        return "not under overrides/"
    if any(p in ("", ".", "..") for p in parts) or "\\" in rel:
        return "path escapes its folder ('..', '.', empty segment or backslash)"
    if len(parts) == 2:
        return "not in a package folder: expected overrides/plugins/ or overrides/themes/"
    kind = _KINDS.get(parts[1])
    if kind is None:
        return "unknown folder: expected overrides/plugins/ or overrides/themes/"
    if len(parts) > 3:
        return "nested folder: override files sit directly in overrides/<plugins|themes>/"
    name = parts[2]
    if not name.endswith(".json"):
        return "not a .json file"
    slug = name[: -len(".json")]
    if not is_valid_slug(slug):
        return "not a valid slug: expected [a-z0-9_][a-z0-9_.-]* (at most 200) before .json"
    return kind, slug


# --- one file ------------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one override file."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.problems: list[Problem] = []

    def add(
        self,
        where: tuple[str | int, ...],
        message: str,
        value: object = None,
        *,
        show_value: bool = True,
    ) -> None:
        self.problems.append(
            Problem(
                self.shown,
                field_path(*where),
                message,
                literal(value) if show_value else None,
            )
        )


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    counts = Counter(k for k, _v in pairs)
    dupes = sorted(k for k, n in counts.items() if n > 1)
    if dupes:
        raise _DuplicateKeyError(dupes)
    return dict(pairs)


class _DuplicateKeyError(ValueError):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys)
        self.keys = keys


def _parse_json(raw: bytes, check: _Checker) -> object | None:
    if len(raw) > MAX_FILE_BYTES:
        check.add((), f"file is larger than {MAX_FILE_BYTES} bytes", len(raw))
        return None
    try:
        data: object = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        check.add((), f"not valid JSON: {exc}", show_value=False)
        return None
    try:
        json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs)
    except _DuplicateKeyError as exc:
        for key in exc.keys:
            check.add((), "duplicate key (only the last one would count)", key)
        return None
    return data


def _model(data: object, check: _Checker) -> OverrideFile | None:
    try:
        return OverrideFile.model_validate(data)
    except ValidationError as exc:
        named = {p.field for p in check.problems}  # said better by the checks before
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if field_path(*loc) in named:
                continue
            kind = err["type"]
            if kind == "missing":
                check.add(loc, "required field is missing", show_value=False)
            elif kind == "extra_forbidden":
                check.add(loc, "unknown field (not part of the override format)", err["input"])
            else:
                check.add(loc, str(err["msg"]), err.get("input"))
        return None


def _is_bad_text(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" for ch in text)


def _check_text(check: _Checker, where: tuple[str | int, ...], value: object, limit: int) -> None:
    if not isinstance(value, str):
        return  # the model reports the type
    if not value.strip():
        check.add(where, "must not be blank", value)
    elif len(value) > limit:
        check.add(where, f"longer than {limit} characters", value)
    elif _is_bad_text(value):
        check.add(where, "contains control or invisible formatting characters", value)


def _check_form(data: Mapping[str, Any], check: _Checker) -> None:
    """Strictness the (lax) model does not give: real booleans, a plain date, clean texts."""
    for flag in ("abandoned", "blocked"):
        if flag in data and not isinstance(data[flag], bool):
            check.add((flag,), "must be true or false (a JSON boolean)", data[flag])
    date = data.get("date")
    if date is not None and not (isinstance(date, str) and _DATE_RE.fullmatch(date)):
        check.add(("date",), "must be a date written YYYY-MM-DD", date)
    _check_text(check, ("reason",), data.get("reason"), MAX_TEXT)
    _check_text(check, ("author",), data.get("author"), MAX_TEXT)
    versions = data.get("versions")
    if isinstance(versions, dict):
        for key, change in versions.items():
            if not isinstance(change, dict):
                continue
            if "yanked" in change and not isinstance(change["yanked"], bool):
                check.add(
                    ("versions", key, "yanked"),
                    "must be true or false (a JSON boolean)",
                    change["yanked"],
                )
            if change.get("reason") is not None:
                _check_text(check, ("versions", key, "reason"), change["reason"], MAX_TEXT)


def _dict(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``{}`` (the model reports the wrong type)."""
    return value if isinstance(value, dict) else {}


def _check_links(
    check: _Checker,
    links: object,
    where: tuple[str, ...],
    *,
    own_name: str,
    allow_null: bool,
) -> None:
    for target, constraint in _dict(links).items():
        at = (*where, target)
        if not (is_package_name(target) or is_platform_name(target)):
            check.add(
                at,
                "not a Composer package or platform name (lower-case vendor/name, "
                "php, ext-*, lib-*)",
                target,
            )
        elif target == own_name:
            check.add(at, "a package cannot name itself here", target)
        if constraint is None:
            if not allow_null:
                check.add(at, "a constraint is required (null only removes a require)", None)
        elif not isinstance(constraint, str):
            continue  # the model reports the type
        elif len(constraint) > MAX_CONSTRAINT:
            check.add(at, f"constraint longer than {MAX_CONSTRAINT} characters", constraint)
        elif not is_valid_constraint(constraint):
            check.add(at, "not a constraint Composer accepts", constraint)


def _check_fields(data: Mapping[str, Any], check: _Checker, own_name: str) -> None:
    """Names and constraints, checked on the parsed JSON (so a file with a type error still
    gets every other problem reported)."""
    replacement = data.get("replacement")
    if isinstance(replacement, str):
        if not is_package_name(replacement):
            check.add(
                ("replacement",),
                "not a Composer package name (lower-case vendor/name)",
                replacement,
            )
        elif replacement == own_name:
            check.add(("replacement",), "a package cannot replace itself", replacement)
    _check_links(check, data.get("require"), ("require",), own_name=own_name, allow_null=True)
    _check_links(check, data.get("conflict"), ("conflict",), own_name=own_name, allow_null=False)
    for key, change in _dict(data.get("versions")).items():
        base = ("versions", key)
        change = _dict(change)
        _check_links(
            check, change.get("require"), (*base, "require"), own_name=own_name, allow_null=True
        )
        _check_links(
            check, change.get("conflict"), (*base, "conflict"), own_name=own_name, allow_null=False
        )


def _known_versions(record: PackageRecord) -> list[str]:
    return [k for k in record.info.version_keys() if k != "trunk"] if record.info else []


def _check_versions(keys: list[str], record: PackageRecord, check: _Checker, name: str) -> None:
    """Each ``versions`` key names one version of the package, as the build resolves them."""
    raw = _known_versions(record)
    raw_set = set(raw)
    normalised = {n for n in (normalize(k) for k in raw) if n is not None}
    has_trunk = record.type is PackageType.PLUGIN
    targets: dict[str, str] = {}
    for key in keys:
        target: str | None
        if key in TRUNK_KEYS:
            target = "dev-trunk" if has_trunk else None
        elif key in raw_set:
            target = normalize(key) or f"invalid:{key}"
        elif key in normalised:
            target = key
        else:
            target = None
        if target is None:
            shown = ", ".join(raw[-MAX_KNOWN_SHOWN:]) if raw else "none"
            more = " (themes have no trunk)" if key in TRUNK_KEYS else ""
            check.add(
                ("versions", key),
                f"no such version of {name}{more}; known tags: {literal(shown)}",
                key,
            )
            continue
        if target in targets:
            check.add(
                ("versions", key),
                f"names the same version as versions.{literal(targets[target])}",
                key,
            )
            continue
        targets[target] = key


def _check_with_build(
    override: OverrideFile, record: PackageRecord, config: RegistryConfig, check: _Checker
) -> None:
    """The build's own verdict (a safety net: the checks above should have said it all)."""
    try:
        expand_package(record, override, config, {}, override_path=check.shown)
    except OverrideError as exc:
        for text in exc.problems:
            rest = text.removeprefix(f"{check.shown}: ")
            where, _sep, message = rest.partition(": ")
            shown_where = where if _PLAIN_FIELD.fullmatch(where) else literal(where, limit=100)
            check.problems.append(
                Problem(check.shown, shown_where, "rejected by the build", literal(message))
            )


def check_override(
    shown: str,
    kind: PackageType,
    slug: str,
    raw: bytes,
    record: PackageRecord | None,
    config: RegistryConfig,
    *,
    record_path: str,
    record_error: str | None = None,
) -> list[Problem]:
    """The problems of one well-named override file (``shown`` is its path for messages).

    ``record`` is the package's record at the same commit: None when there is none, or when
    it cannot be read (then ``record_error`` says why)."""
    check = _Checker(shown)
    data = _parse_json(raw, check)
    if data is None:
        return check.problems
    name = package_name(config, kind, slug)
    fields = _dict(data)
    if fields:
        _check_form(fields, check)
        _check_fields(fields, check, name)
    override = _model(data, check)
    if record is None and record_error is not None:
        check.add((), f"its package record {show_path(record_path)} is invalid: {record_error}")
    elif record is None:
        check.add(
            (), f"no package {name}: {show_path(record_path)} does not exist at this commit", slug
        )
    elif record.type is not kind or record.slug != slug:
        check.add(
            (), f"the record at {show_path(record_path)} is not {kind.value} {slug}", record.slug
        )
    else:
        _check_versions(list(_dict(fields.get("versions"))), record, check, name)
        if override is not None and not check.problems and is_package_name(name):
            _check_with_build(override, record, config, check)
    return check.problems


# --- a commit ------------------------------------------------------------------------------


def _walk(view: DataView, rel: str) -> Iterator[tuple[str, int, str]]:
    """Every entry below ``rel`` that is not a folder, as ``(rel path, mode, id)``, sorted."""
    for name, (mode, sha) in sorted(view.snapshot.list_dir(view.path(rel)).items()):
        child = f"{rel}/{name}"
        if stat.S_ISDIR(mode):
            yield from _walk(view, child)
        else:
            yield child, mode, sha


def _read_record(
    view: DataView, kind: PackageType, slug: str
) -> tuple[PackageRecord | None, str | None]:
    """The record of a package (or None), and why it could not be read (or None)."""
    raw = view.read(package_path(kind, slug))
    if raw is None:
        return None, None
    try:
        return decode(raw), None
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, literal(first, limit=200)


def validate_view(view: DataView) -> Validation:
    """Check every override file at ``view``'s commit."""
    config = view.config()  # raises DataError when registry.json is missing or invalid
    problems: list[Problem] = []
    files = 0
    for rel, mode, _sha in _walk(view, OVERRIDES_DIR):
        files += 1
        shown = show_path(view.path(rel))
        where = check_override_path(rel)
        if isinstance(where, str):
            problems.append(Problem(shown, PATH, f"not an override file: {where}"))
            continue
        if stat.S_ISLNK(mode):
            problems.append(Problem(shown, PATH, "a symbolic link, not a file"))
            continue
        if not stat.S_ISREG(mode):
            what = "a submodule" if mode == _GITLINK else "not a regular file"
            problems.append(Problem(shown, PATH, f"{what}, not an override file"))
            continue
        kind, slug = where
        raw = view.read(rel)
        if raw is None:  # pragma: no cover - listed a moment ago
            raise DataError(f"{view.path(rel)}: listed but unreadable")
        record, record_error = _read_record(view, kind, slug)
        problems.extend(
            check_override(
                shown,
                kind,
                slug,
                raw,
                record,
                config,
                record_path=view.path(package_path(kind, slug)),
                record_error=record_error,
            )
        )
    return Validation(view.commit, files, problems)
