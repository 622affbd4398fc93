"""``curator diff A B``: what a Composer user would see change between two commits.

:func:`diff_commits` diffs the data trees of the two commits
(:meth:`curator.gitstore.GitStore.changed_paths`, cost proportional to the change), takes
every package whose record (``packages/...``) or override file (``overrides/...``) changed,
expands it at both commits with the build's own pure function
(:func:`curator.build.render.expand_package`, each side with its own ``registry.json``) and
compares what Composer reads: the served versions, their ``require``/``conflict``, the
download of each tag, ``abandoned``, the security advisory and the package's description
fields. Packages whose files changed without a visible effect are only counted.

:func:`render_text` gives a short Markdown summary (a pull-request comment); ``to_json()`` the
data. JSON format (``"format": 1``; lists of versions are newest first, ``dev-trunk`` first;
packages sorted by name; values are raw, escape them before putting them into HTML)::

    {
      "format": 1,
      "base": "<sha of A>", "head": "<sha of B>",
      "config_changed": false,          # registry.json differs (vendors, URLs): see below
      "files_changed": 3,               # package and override files that differ
      "unchanged": 1,                   # of their packages, those with no visible change
      "ignored_paths": ["overrides/x.json"],   # under overrides/ but not an override file
      "invalid_paths": ["overrides/plugins/Bad.json"],  # named like one, bad slug: the
                                        # build refuses the commit (curator validate says why)
      "packages": [{
        "name": "wp-plugin/akismet", "type": "plugin", "slug": "akismet",
        "package": "changed",           # "added" / "removed": its record appeared / went
        "files": ["override"],          # which of its files changed: "record", "override"
        "versions": {"added": [], "removed": [], "yanked": ["5.0"], "unyanked": [],
                     "dist_changed": []},   # tags whose download URL changed
        "links": [{"kind": "require", "target": "php", "old": ">=7.4", "new": ">=8.0",
                   "versions": ["dev-trunk", "5.3.2"]}],   # old/new null: absent
        "abandoned": {"old": false, "new": "wp-plugin/other"},   # or null: unchanged
        "status": {"old": "open", "new": "closed"},               # or null
        "blocked": {"old": false, "new": true},                   # or null
        "advisory": {"old": false, "new": true},                  # or null
        "metadata": ["description"],    # package fields that differ (description, ...)
        "errors": []                    # a side that cannot be rendered: nothing compared
      }]
    }

A version that is yanked is listed under ``yanked`` (not ``removed``), one that comes back
under ``unyanked`` (not ``added``). ``dev-trunk``'s download changes with every trunk commit
and is not listed under ``dist_changed``. When ``registry.json`` changed, only the packages
whose own files changed are compared (with each side's configuration); a vendor rename
changes every package and is flagged by ``config_changed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from curator.build.overrides import OverrideError, parse_override
from curator.build.render import check_config, expand_package, package_name
from curator.composer import normalize, sort_key
from curator.datarepo import DataError, DataRepo, DataView
from curator.layout import (
    OVERRIDES_DIR,
    REGISTRY_FILE,
    PackageType,
    override_path,
    parse_package_path,
)
from curator.models import OverrideFile, RegistryConfig
from curator.review.display import code, literal
from curator.review.names import is_package_name, is_platform_name
from curator.review.validate import check_override_path

__all__ = [
    "FORMAT",
    "Change",
    "DiffResult",
    "LinkChange",
    "PackageDiff",
    "diff_commits",
    "diff_views",
    "render_text",
]

FORMAT: Final = 1
DEV_TRUNK: Final = "dev-trunk"
MAX_LISTED: Final = 12  # versions named per line in the text summary
MAX_ERROR: Final = 500  # characters kept of one error message
_METADATA: Final = ("type", "description", "homepage", "authors", "support")

Key = tuple[PackageType, str]
Entry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """A value before and after."""

    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class LinkChange:
    """One ``require``/``conflict`` entry that changed the same way on some versions."""

    kind: Literal["require", "conflict"]
    target: str
    old: str | None
    new: str | None
    versions: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "old": self.old,
            "new": self.new,
            "versions": self.versions,
        }


@dataclass(slots=True)
class PackageDiff:
    """The Composer-visible changes of one package."""

    name: str
    type: PackageType
    slug: str
    package: Literal["added", "removed", "changed"] = "changed"
    files: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    yanked: list[str] = field(default_factory=list)
    unyanked: list[str] = field(default_factory=list)
    dist_changed: list[str] = field(default_factory=list)
    links: list[LinkChange] = field(default_factory=list)
    abandoned: Change | None = None
    status: Change | None = None
    blocked: Change | None = None
    advisory: Change | None = None
    metadata: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        """Whether a Composer user (or the build) would notice anything."""
        return bool(
            self.added
            or self.removed
            or self.yanked
            or self.unyanked
            or self.dist_changed
            or self.links
            or self.abandoned
            or self.status
            or self.blocked
            or self.advisory
            or self.metadata
            or self.errors
        )

    def to_json(self) -> dict[str, Any]:
        def opt(change: Change | None) -> dict[str, Any] | None:
            return None if change is None else change.to_json()

        return {
            "name": self.name,
            "type": self.type.value,
            "slug": self.slug,
            "package": self.package,
            "files": self.files,
            "versions": {
                "added": self.added,
                "removed": self.removed,
                "yanked": self.yanked,
                "unyanked": self.unyanked,
                "dist_changed": self.dist_changed,
            },
            "links": [link.to_json() for link in self.links],
            "abandoned": opt(self.abandoned),
            "status": opt(self.status),
            "blocked": opt(self.blocked),
            "advisory": opt(self.advisory),
            "metadata": self.metadata,
            "errors": self.errors,
        }


@dataclass(slots=True)
class DiffResult:
    """Every Composer-visible change between two commits."""

    base: str
    head: str
    config_changed: bool = False
    files_changed: int = 0
    unchanged: int = 0
    ignored_paths: list[str] = field(default_factory=list)
    invalid_paths: list[str] = field(default_factory=list)
    packages: list[PackageDiff] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "base": self.base,
            "head": self.head,
            "config_changed": self.config_changed,
            "files_changed": self.files_changed,
            "unchanged": self.unchanged,
            "ignored_paths": self.ignored_paths,
            "invalid_paths": self.invalid_paths,
            "packages": [p.to_json() for p in self.packages],
        }


# --- one side ------------------------------------------------------------------------------


class _Unrenderable(Exception):
    pass


@dataclass(slots=True)
class _Side:
    """One package at one commit, as Composer sees it."""

    exists: bool = False
    status: str | None = None
    versions: dict[str, Entry] = field(default_factory=dict)  # display version -> entry
    yanked: set[str] = field(default_factory=set)
    abandoned: bool | str = False
    blocked: bool = False
    advisory: bool = False
    common: Entry = field(default_factory=dict)


def _unsafe_names(override: OverrideFile) -> list[str]:
    """Names in ``override`` that are not Composer names (checked in linear time, since the
    renderer's own name patterns backtrack exponentially on hostile names)."""
    maps: list[Mapping[str, str | None]] = [override.require, override.conflict]
    for change in override.versions.values():
        maps += [change.require, change.conflict]
    bad = [t for m in maps for t in m if not (is_package_name(t) or is_platform_name(t))]
    if override.replacement is not None and not is_package_name(override.replacement):
        bad.append(override.replacement)
    return bad


def _side(view: DataView, config: RegistryConfig, kind: PackageType, slug: str) -> _Side:
    record = view.record(kind, slug)
    rel = override_path(kind, slug)
    raw = view.read(rel)
    override = None if raw is None else parse_override(raw, view.path(rel))
    out = _Side(blocked=bool(override is not None and override.blocked))
    if override is not None:
        bad = _unsafe_names(override)
        if bad:
            names = ", ".join(literal(name, limit=60) for name in bad[:3])
            raise _Unrenderable(f"{view.path(rel)}: not a Composer package name: {names}")
    if record is None:
        return out
    out.exists = True
    out.status = record.status.value
    name = package_name(config, kind, slug)
    if not is_package_name(name):
        return out  # the build skips it: nothing served
    report: dict[str, list[dict[str, str]]] = {}
    expanded = expand_package(
        record, override, config, report, override_path=view.path(rel) if raw else None
    )
    if expanded is None:  # pragma: no cover - the name was checked above
        return out
    for entry in expanded.full(expanded.dev) + expanded.full(expanded.tagged):
        out.versions[str(entry["version"])] = entry
    out.yanked = {e["version"] for e in report.get("yanked_versions", [])}
    out.abandoned = expanded.tail.get("abandoned", False)
    out.advisory = bool(expanded.advisories)
    out.common = expanded.common
    return out


# --- comparing -----------------------------------------------------------------------------


def _order(versions: Iterable[str], normalized: Mapping[str, str]) -> list[str]:
    """``dev-trunk`` first, then newest first (Composer's order), then unparsable ones."""

    def key(version: str) -> tuple[int, Any]:
        if version == DEV_TRUNK:
            return (3, ())
        norm = normalized.get(version) or normalize(version)
        if norm is None:
            return (0, version)
        try:
            return (2, sort_key(norm))
        except ValueError:
            return (1, norm)

    return sorted(set(versions), key=key, reverse=True)


def _links(
    kind: Literal["require", "conflict"], a: Mapping[str, Entry], b: Mapping[str, Entry]
) -> list[LinkChange]:
    groups: dict[tuple[str, str | None, str | None], list[str]] = {}
    for version in a.keys() & b.keys():
        old: Mapping[str, str] = a[version].get(kind, {})
        new: Mapping[str, str] = b[version].get(kind, {})
        for target in old.keys() | new.keys():
            before, after = old.get(target), new.get(target)
            if before != after:
                groups.setdefault((target, before, after), []).append(version)
    normalized = {v: str(e["version_normalized"]) for v, e in b.items()}
    rank = {v: n for n, v in enumerate(_order(b.keys(), normalized))}
    changes = [
        LinkChange(kind, target, before, after, _order(versions, normalized))
        for (target, before, after), versions in groups.items()
    ]
    # per target, the change of the newest version first
    return sorted(changes, key=lambda c: (c.target, rank[c.versions[0]]))


def _compare(diff: PackageDiff, a: _Side, b: _Side) -> None:
    normalized = {v: str(e["version_normalized"]) for s in (a, b) for v, e in s.versions.items()}
    yanked = b.yanked - a.yanked
    unyanked = {v for v in a.yanked - b.yanked if v in b.versions}
    diff.yanked = _order(yanked, normalized)
    diff.unyanked = _order(unyanked, normalized)
    diff.added = _order(b.versions.keys() - a.versions.keys() - unyanked, normalized)
    diff.removed = _order(a.versions.keys() - b.versions.keys() - yanked, normalized)
    both = a.versions.keys() & b.versions.keys()
    diff.dist_changed = _order(
        (v for v in both if v != DEV_TRUNK and a.versions[v]["dist"] != b.versions[v]["dist"]),
        normalized,
    )
    diff.links = _links("require", a.versions, b.versions)
    diff.links += _links("conflict", a.versions, b.versions)
    if a.abandoned != b.abandoned:
        diff.abandoned = Change(a.abandoned, b.abandoned)
    if a.status != b.status:
        diff.status = Change(a.status, b.status)
    if a.blocked != b.blocked:
        diff.blocked = Change(a.blocked, b.blocked)
    if a.advisory != b.advisory:
        diff.advisory = Change(a.advisory, b.advisory)
    if a.exists and b.exists:
        diff.metadata = [k for k in _METADATA if a.common.get(k) != b.common.get(k)]
    if not a.exists and b.exists:
        diff.package = "added"
    elif a.exists and not b.exists:
        diff.package = "removed"


def _config(view: DataView) -> RegistryConfig:
    config = view.config()
    check_config(config)
    return config


def _changed(repo: DataRepo, base: str, head: str, result: DiffResult) -> dict[Key, set[str]]:
    keys: dict[Key, set[str]] = {}
    for path, _status in repo.store.changed_paths(base, head, repo.prefix):
        rel = path[len(repo.prefix) :]
        if rel == REGISTRY_FILE:
            result.config_changed = True
            continue
        parsed = parse_package_path(rel)
        if parsed is not None:
            keys.setdefault(parsed, set()).add("record")
            result.files_changed += 1
            continue
        if rel.startswith(f"{OVERRIDES_DIR}/"):
            where = check_override_path(rel)
            if isinstance(where, str):
                # the build skips what is not shaped like overrides/<kind>/<name>.json, and
                # fails on such a file whose name is no valid slug
                if where.startswith("not a valid slug"):
                    result.invalid_paths.append(path)
                else:
                    result.ignored_paths.append(path)
                continue
            keys.setdefault(where, set()).add("override")
            result.files_changed += 1
    return keys


def diff_views(repo: DataRepo, a: DataView, b: DataView) -> DiffResult:
    """The Composer-visible changes from ``a`` to ``b`` (two views of ``repo``)."""
    result = DiffResult(a.commit, b.commit)
    keys = _changed(repo, a.commit, b.commit, result)
    config_a, config_b = _config(a), _config(b)
    for (kind, slug), files in sorted(keys.items(), key=lambda k: (k[0][0].value, k[0][1])):
        diff = PackageDiff(package_name(config_b, kind, slug), kind, slug, files=sorted(files))
        sides: list[_Side] = []
        for label, view, config in (("A", a, config_a), ("B", b, config_b)):
            try:
                sides.append(_side(view, config, kind, slug))
            except (OverrideError, DataError, _Unrenderable) as exc:
                problems = exc.problems if isinstance(exc, OverrideError) else [str(exc)]
                problems = [p if len(p) <= MAX_ERROR else f"{p[:MAX_ERROR]}…" for p in problems]
                diff.errors += [
                    f"cannot render at {label} ({view.commit[:12]}): {p}" for p in problems
                ]
        if not diff.errors:
            _compare(diff, sides[0], sides[1])
        if diff.visible:
            result.packages.append(diff)
        else:
            result.unchanged += 1
    result.packages.sort(key=lambda d: (d.name, d.type.value, d.slug))
    return result


def diff_commits(repo: DataRepo, base: str, head: str) -> DiffResult:
    """:func:`diff_views` of two revisions (sha, short sha, ref names).

    Raises :class:`curator.gitstore.UnknownRevisionError` for a revision that does not exist,
    :class:`curator.datarepo.DataError` or :class:`curator.build.render.ConfigError` when a
    side's ``registry.json`` is missing or unusable."""
    return diff_views(repo, repo.view(base), repo.view(head))


# --- text ----------------------------------------------------------------------------------


def _list(items: list[str]) -> str:
    shown = ", ".join(code(v) for v in items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown if more <= 0 else f"{shown} and {more} more"


def _constraint(value: str | None) -> str:
    return "(none)" if value is None else code(value)


def _abandoned(value: bool | str) -> str:
    if value is False:
        return "no"
    return "yes" if value is True else f"yes, use {code(str(value))}"


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _package_lines(diff: PackageDiff) -> list[str]:
    what = {"added": "new package", "removed": "package removed", "changed": ""}[diff.package]
    files = " and ".join(diff.files)
    notes = ", ".join(x for x in (what, f"{files} changed") if x)
    lines = [f"#### {code(diff.name)} ({notes})"]
    lines += [f"- ⚠️ {code(e, limit=300)}" for e in diff.errors]
    if diff.status is not None:
        lines.append(f"- status: {diff.status.old or '(none)'} → {diff.status.new or '(none)'}")
    if diff.blocked is not None:
        after = "yes (no versions served)" if diff.blocked.new else "no"
        lines.append(f"- blocked: {_yes(diff.blocked.old)} → {after}")
    if diff.abandoned is not None:
        lines.append(
            f"- abandoned: {_abandoned(diff.abandoned.old)} → {_abandoned(diff.abandoned.new)}"
        )
    if diff.advisory is not None:
        lines.append(f"- security advisory: {'added' if diff.advisory.new else 'removed'}")
    for label, versions in (
        ("versions added", diff.added),
        ("versions removed", diff.removed),
        ("yanked", diff.yanked),
        ("unyanked", diff.unyanked),
        ("download changed", diff.dist_changed),
    ):
        if versions:
            lines.append(f"- {label}: {_list(versions)}")
    for link in diff.links:
        lines.append(
            f"- {link.kind} {code(link.target)}: {_constraint(link.old)} → "
            f"{_constraint(link.new)} on {_list(link.versions)}"
        )
    if diff.metadata:
        lines.append(f"- metadata changed: {', '.join(diff.metadata)}")
    return lines


def render_text(result: DiffResult, *, max_packages: int | None = None) -> str:
    """A short Markdown summary, grouped per package, in a stable order; with
    ``max_packages``, the first that many packages and a count of the rest (a pull-request
    comment holds at most 65,536 characters)."""
    lines = [f"### Composer changes {code(result.base[:12])} → {code(result.head[:12])}", ""]
    count = len(result.packages)
    summary = (
        ("1 package changes" if count == 1 else f"{count} packages change") + " for Composer users"
        if count
        else "No Composer-visible changes"
    )
    extra = f"{result.files_changed} record or override file(s) changed"
    if result.unchanged:
        extra += f", {result.unchanged} package(s) without a visible effect"
    lines.append(f"{summary} ({extra}).")
    if result.config_changed:
        lines += ["", "⚠️ `registry.json` changed: every package may be affected."]
    if result.invalid_paths:
        paths = _list(result.invalid_paths)
        lines += [
            "",
            f"⛔ override files with invalid names (the build fails on them; "
            f"`curator validate` says why): {paths}",
        ]
    if result.ignored_paths:
        paths = _list(result.ignored_paths)
        lines += ["", f"⚠️ not override files (ignored by the build): {paths}"]
    shown = result.packages if max_packages is None else result.packages[:max_packages]
    for diff in shown:
        lines += ["", *_package_lines(diff)]
    if len(shown) < count:
        lines += ["", f"… and {count - len(shown)} more package(s) (see `curator diff --json`)."]
    return "\n".join(lines) + "\n"
