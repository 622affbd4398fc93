"""Rendering: one package record (+ its override) -> its Composer v2 metadata files. Pure.

This module owns what users of the registry get for each package, and the repository's root
documents (``packages.json``, ``list.json``, ``report.json``). Nothing here reads files,
talks to git or looks at the clock: the same inputs always give the same bytes.

Per package (``name = <vendor>/<slug>``, vendors from ``registry.json``; a name Composer
would refuse is skipped and reported):

- ``p2/<name>.json``: the tagged versions, newest first (:func:`curator.composer.sort_key`),
  minified as ``composer/2.0`` (:mod:`curator.build.minify`), plus ``security-advisories``
  when the package was closed for a security issue;
- ``p2/<name>~dev.json``: ``dev-trunk`` (plugins) and tags whose stability is ``dev``
  (``1.0-dev``); always written, possibly with an empty list.

Policies:

**Stable and trunk.** A mutable zip is never served under a stable version number. Numbered
versions come only from the keys of ``versions`` (one zip per SVN tag; its dist
``reference`` is the sha1 of the zip URL, stable as long as the URL is). The plugin's trunk zip
(``versions["trunk"]``; else ``download_link`` when it names no version; else
``<downloads>/plugin/<slug>.zip``) is served only as ``dev-trunk``, also when the stable
version is not among the tags, when there are no tags, or when ``stable_tag`` is ``trunk``.
Its dist ``reference`` is a sha1 of the SVN revision, ``last_updated``, ``version`` and the
URL, so it changes whenever trunk does; the reference is also appended to the URL as
``?ref=<reference>`` because Composer caches zips by URL (``FileDownloader``: the cache key is
``sha1(url)``), so an unchanged URL would reinstall a stale trunk from the cache. Themes have
no trunk in SVN: their ``~dev.json`` lists only dev-stability tags (normally none).

**Versions.** ``version_normalized`` is :func:`curator.composer.normalize` of the raw tag
key. Keys Composer rejects (``release-1.2``, ``-1.0``) and keys that normalise to a branch
(``master``, ``dev-x``, `` trunk``: ``dev-*`` names are Composer branches, and ``dev-trunk`` is
ours) are skipped and reported. ``version`` is the raw key, stripped of surrounding whitespace
(``"2.0.3\\r"`` -> ``"2.0.3"``) when the stripped key normalises identically. Two keys with
the same normalised version (``1.0`` and ``1.0.0``) are served once: the key equal to the
stable ``version`` wins, then a key without surrounding whitespace, then the smallest key;
the other is reported as a duplicate.

**Requirements.** Every version requires ``composer/installers: ^1.0 || ^2.0``. WordPress.org
only describes the *current* release, so ``requires_php`` (through
:func:`curator.composer.php_requirement`; unparseable values are reported) and
``requires_plugins`` (``<plugin vendor>/<dep>: *``) apply to ``dev-trunk`` and to the tags
whose version is the stable ``version`` or newer (pre-releases of the next version included);
older tags get neither, since nothing is known about what they needed. Trustees add facts for
older versions with overrides. When ``version`` does not normalise, only ``dev-trunk`` gets them.

**Times.** ``time`` only when known, never invented: the stable version's tag gets
``last_updated`` (themes: ``last_updated_time``); other tags get the time the sync first saw
them (``first_seen``); otherwise no ``time``. ``dev-trunk`` has none.

**Closed packages** (``status`` closed, or not_found) keep their known versions and carry
``"abandoned": true`` on every version. A package closed with reason ``security-issue`` also
gets a security advisory that ``composer audit`` reports: ``packages.json`` says
``"security-advisories": {"metadata": true}`` and the package's ``p2/<name>.json`` carries
``"security-advisories": [{advisoryId, packageName, remoteId, title, link, affectedVersions:
"*", sources, reportedAt}]`` (every field Composer 2.5 needs for a full ``SecurityAdvisory``;
``reportedAt`` is the closure date; without one no advisory is emitted and that is reported).
Packages without advisories carry no ``security-advisories`` key, so Composer keeps asking
other advisory sources about them.

**Overrides** (:class:`curator.models.OverrideFile`, checked by
:mod:`curator.build.overrides`): package-level ``abandoned`` / ``replacement`` (``"abandoned":
"<replacement>"``), ``blocked`` (no versions at all), ``require`` (``null`` removes) and
``conflict`` apply to every version; then ``versions[<raw key | normalised | trunk>]``
changes one version's ``require``/``conflict`` or yanks it (omitted, and reported).

``list.json`` names the packages that serve at least one version. Every version entry has its
keys in one fixed order; ``require`` and ``conflict`` are sorted by package name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

import orjson

from curator import canonical
from curator.build.minify import minify
from curator.build.overrides import OverrideError, check_package_fields
from curator.build.search_index import SearchRow, overrides_in_effect, search_row_from_record
from curator.build.text import (
    dist_url,
    http_url,
    is_package_name,
    is_vendor_name,
    plain_text,
    wporg_time,
)
from curator.composer import VersionKey, normalize, php_requirement, sort_key
from curator.layout import PackageType
from curator.models import OverrideFile, PackageRecord, PackageStatus, RegistryConfig
from curator.models.override import VersionOverride

__all__ = [
    "INSTALLERS",
    "RENDER_FORMAT",
    "REPORT_SECTIONS",
    "ConfigError",
    "Expanded",
    "Rendered",
    "Report",
    "dev_path",
    "expand_entry",
    "expand_package",
    "p2_path",
    "package_name",
    "render_list",
    "render_orphan_override",
    "render_package",
    "render_packages_json",
    "render_report",
    "sort_report",
]

RENDER_FORMAT: Final = 2  # bump when the output for the same input changes
MINIFIED: Final = "composer/2.0"
INSTALLERS: Final = ("composer/installers", "^1.0 || ^2.0")
TRUNK: Final = "trunk"
DEV_TRUNK: Final = "dev-trunk"
WPORG: Final = "https://wordpress.org"
SECURITY_ISSUE: Final = "security-issue"
_TYPES: Final = {PackageType.PLUGIN: "wordpress-plugin", PackageType.THEME: "wordpress-theme"}

# report.json: section -> the fields of its entries, in sort order.
REPORT_SECTIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "skipped_packages": ("package", "reason"),
    "skipped_versions": ("package", "version", "reason"),
    "duplicate_versions": ("package", "version", "kept", "normalized"),
    "yanked_versions": ("package", "version", "reason"),
    "notes": ("package", "field", "value", "reason"),
}

Entry = dict[str, Any]
Report = dict[str, list[dict[str, str]]]


class ConfigError(ValueError):
    """``registry.json`` says something the build cannot use (names the field)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """The output of one package: its files, whether it is listed, and its report entries."""

    kind: PackageType
    slug: str
    name: str  # "<vendor>/<slug>", also when Composer would refuse it (then files is empty)
    files: dict[str, bytes]
    listed: bool
    versions: int
    report: Report = field(default_factory=dict)
    row: SearchRow | None = None  # the search index row (listed packages only)


def package_name(config: RegistryConfig, kind: PackageType, slug: str) -> str:
    return f"{config.vendors.for_type(kind)}/{slug}".lower()


def p2_path(name: str) -> str:
    return f"p2/{name}.json"


def dev_path(name: str) -> str:
    return f"p2/{name}~dev.json"


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _add(report: Report, section: str, **values: str) -> None:
    report.setdefault(section, []).append(values)


@dataclass(slots=True)
class _Tag:
    key: str  # raw key in `versions`
    display: str  # the `version` shown to Composer
    normalized: str
    url: str
    sort: VersionKey


def _display(key: str, normalized: str) -> str:
    stripped = key.strip()
    if stripped == key:
        return key
    return stripped if normalize(stripped) == normalized else key


def _select_tags(
    name: str, versions: Mapping[str, str], stable: str | None, report: Report
) -> list[_Tag]:
    """The tags Composer can use, one per normalised version, newest first."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, raw_url in versions.items():
        if key == TRUNK:
            continue
        normalized = normalize(key)
        reason = None
        url = None
        if normalized is None:
            reason = "not a version Composer accepts"
        elif normalized.startswith("dev-"):
            reason = f"normalises to the branch name {normalized}, not a version"
        else:
            url = dist_url(raw_url)
            if url is None:
                reason = "no http(s) download URL"
        if reason is not None or normalized is None or url is None:
            _add(report, "skipped_versions", package=name, version=key, reason=str(reason))
            continue
        group = groups.get(normalized)
        if group is None:
            groups[normalized] = [(key, url)]
        else:
            group.append((key, url))
    tags = []
    for normalized, keys in groups.items():
        if len(keys) == 1:
            keep, url = keys[0]
        else:
            keep, url = min(keys, key=lambda k: (k[0] != stable, k[0].strip() != k[0], k[0]))
            for other, _url in sorted(keys):
                if other != keep:
                    _add(
                        report,
                        "duplicate_versions",
                        package=name,
                        version=other,
                        kept=keep,
                        normalized=normalized,
                    )
        tags.append(_Tag(keep, _display(keep, normalized), normalized, url, sort_key(normalized)))
    tags.sort(key=attrgetter("sort", "normalized", "key"), reverse=True)
    return tags


def _trunk_url(record: PackageRecord, config: RegistryConfig) -> str:
    info = record.info
    assert info is not None
    versions = info.versions if isinstance(info.versions, dict) else {}
    url = dist_url(versions.get(TRUNK))
    if url is not None:
        return url
    link = dist_url(info.download_link)
    if link is not None and link.split("?", 1)[0].rsplit("/", 1)[-1] == f"{record.slug}.zip":
        return link
    return f"{config.upstream.downloads.rstrip('/')}/{record.type.value}/{record.slug}.zip"


def _with_ref(url: str, ref: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}ref={ref}"


def _authors(record: PackageRecord) -> list[dict[str, str]]:
    info = record.info
    assert info is not None
    author = info.author
    profile: object = info.author_profile
    if isinstance(author, dict):
        name = (
            plain_text(author.get("display_name"))
            or plain_text(author.get("author"))
            or plain_text(author.get("user_nicename"))
        )
        profile = author.get("profile") or profile
    else:
        name = plain_text(author)
    if not name:
        return []
    entry = {"name": name}
    homepage = http_url(profile)
    if homepage is not None:
        entry["homepage"] = homepage
    return [entry]


def _stable_time(record: PackageRecord) -> str | None:
    info = record.info
    assert info is not None
    return wporg_time(info.last_updated_time) or wporg_time(info.last_updated)


def _current_requires(
    record: PackageRecord, config: RegistryConfig, name: str, report: Report
) -> dict[str, str]:
    """The requirements WordPress.org states for the current release (php, plugins)."""
    info = record.info
    assert info is not None
    out: dict[str, str] = {}
    php = php_requirement(info.requires_php)
    if php is not None:
        out["php"] = php
    elif isinstance(info.requires_php, str) and info.requires_php.strip():
        _add(
            report,
            "notes",
            package=name,
            field="requires_php",
            value=info.requires_php,
            reason="not a PHP version; no php requirement",
        )
    deps = info.requires_plugins if isinstance(info.requires_plugins, list) else []
    for dep in deps:
        target = f"{config.vendors.plugin}/{dep}".lower() if isinstance(dep, str) else ""
        if not isinstance(dep, str) or not is_package_name(target) or target == name:
            _add(
                report,
                "notes",
                package=name,
                field="requires_plugins",
                value=dep if isinstance(dep, str) else orjson.dumps(dep).decode(),
                reason="not a plugin this registry can name; requirement dropped",
            )
            continue
        out[target] = "*"
    return out


def _advisory(record: PackageRecord, name: str, report: Report) -> dict[str, Any] | None:
    closure = record.closure
    if record.status is not PackageStatus.CLOSED or closure is None:
        return None
    if closure.reason != SECURITY_ISSUE:
        return None
    reported = wporg_time(closure.date)
    if reported is None:
        _add(
            report,
            "notes",
            package=name,
            field="closure.date",
            value=str(closure.date),
            reason="closed for a security issue on an unknown date; no advisory emitted",
        )
        return None
    plural = record.type.plural
    title_name = plain_text(record.info.name) if record.info is not None else ""
    reason = plain_text(closure.reason_text) or "Security Issue"
    title = f"{title_name or record.slug} was closed on WordPress.org: {reason}"
    return {
        "advisoryId": f"WPORG-{record.type.value.upper()}-CLOSED-{record.slug}-{closure.date}",
        "packageName": name,
        "remoteId": f"{record.type.value}/{record.slug}",
        "title": title,
        "link": f"{WPORG}/{plural}/{record.slug}/",
        "affectedVersions": "*",
        "sources": [{"name": "WordPress.org", "remoteId": f"{record.type.value}/{record.slug}"}],
        "reportedAt": reported,
    }


def _resolve_version_overrides(
    override: OverrideFile,
    path: str,
    versions: Mapping[str, str],
    has_trunk: bool,
) -> dict[str, tuple[str, VersionOverride]]:
    """``normalised version -> (override key, override)``; unknown or clashing keys raise."""
    by_normalized = {normalize(k): k for k in versions if k != TRUNK}
    resolved: dict[str, tuple[str, VersionOverride]] = {}
    problems = []
    for key, change in override.versions.items():
        if key in (TRUNK, DEV_TRUNK):
            target: str | None = DEV_TRUNK if has_trunk else None
        elif key in versions:
            target = normalize(key) or f"invalid:{key}"
        elif key in by_normalized:
            target = key
        else:
            target = None
        where = f"{path}: versions.{orjson.dumps(key).decode()}"
        if target is None:
            problems.append(f"{where}: no such version of this package")
            continue
        if target in resolved:
            other = orjson.dumps(resolved[target][0]).decode()
            problems.append(f"{where}: names the same version as versions.{other}")
            continue
        resolved[target] = (key, change)
    if problems:
        raise OverrideError(problems)
    return resolved


def _links(base: Mapping[str, str], *changes: Mapping[str, str | None]) -> dict[str, str]:
    out = dict(base)
    for change in changes:
        for target, constraint in change.items():
            if constraint is None:
                out.pop(target, None)
            else:
                out[target] = constraint
    return dict(sorted(out.items()))


def expand_entry(name: str, common: Entry, tail: Entry, var: Entry) -> Entry:
    """The full version entry: ``name``, version keys, package fields, the rest, ``tail``."""
    out: Entry = {
        "name": name,
        "version": var["version"],
        "version_normalized": var["version_normalized"],
    }
    out.update(common)
    for key, value in var.items():
        if key != "version" and key != "version_normalized":
            out[key] = value
    out.update(tail)
    return out


def _minified(name: str, common: Entry, tail: Entry, variable: Sequence[Entry]) -> list[Entry]:
    """``minify()`` of the expanded entries, computed on the keys that vary only.

    ``common`` and ``tail`` hold the same objects in every entry, so minify() never writes
    them after the first entry and never removes them; every other key keeps its relative
    order. Minifying the varying keys alone therefore gives the same diffs (tests compare
    both over the real corpus), at a fraction of the cost.
    """
    if not variable:
        return []
    return [expand_entry(name, common, tail, variable[0]), *minify(variable)[1:]]


@dataclass(slots=True)
class Expanded:
    """A package's versions before minification: what a Composer client sees."""

    name: str
    common: Entry
    tail: Entry
    tagged: list[Entry]  # varying keys only; see expand_entry()
    dev: list[Entry]
    advisories: list[Entry]

    def full(self, which: Sequence[Entry]) -> list[Entry]:
        return [expand_entry(self.name, self.common, self.tail, v) for v in which]

    def encode(self, which: Sequence[Entry], *, advisories: bool) -> bytes:
        doc: dict[str, Any] = {
            "minified": MINIFIED,
            "packages": {self.name: _minified(self.name, self.common, self.tail, which)},
        }
        if advisories and self.advisories:
            doc["security-advisories"] = self.advisories
        return orjson.dumps(doc)


def render_package(
    record: PackageRecord,
    override: OverrideFile | None,
    config: RegistryConfig,
    *,
    override_path: str | None = None,
) -> Rendered:
    """Render one package; raises :class:`OverrideError` for a bad override."""
    name = package_name(config, record.type, record.slug)
    report: Report = {}
    expanded = expand_package(record, override, config, report, override_path=override_path)
    if expanded is None:
        return Rendered(record.type, record.slug, name, {}, False, 0, report)
    files = {
        p2_path(name): expanded.encode(expanded.tagged, advisories=True),
        dev_path(name): expanded.encode(expanded.dev, advisories=False),
    }
    count = len(expanded.tagged) + len(expanded.dev)
    row = search_row(record, override, config, expanded) if count else None
    return Rendered(record.type, record.slug, name, files, count > 0, count, report, row)


def search_row(
    record: PackageRecord, override: OverrideFile | None, config: RegistryConfig, expanded: Expanded
) -> SearchRow:
    """The package's search index row (its latest version as Composer sees it)."""
    versions = [{"version": entry["version"]} for entry in expanded.tagged]
    abandoned = expanded.tail.get("abandoned")
    return search_row_from_record(
        record,
        config.vendors.for_type(record.type),
        versions,
        overrides_in_effect(override),
        None if abandoned is None else "true" if abandoned is True else str(abandoned),
        str(expanded.common.get("description", "")),
    )


def expand_package(
    record: PackageRecord,
    override: OverrideFile | None,
    config: RegistryConfig,
    report: Report,
    *,
    override_path: str | None = None,
) -> Expanded | None:
    """The versions of one package (None when its name is invalid); fills ``report``."""
    kind, slug = record.type, record.slug
    name = package_name(config, kind, slug)
    opath = override_path or f"overrides/{kind.plural}/{slug}.json"
    if override is not None:
        problems = check_package_fields(override, opath)
        if problems:
            raise OverrideError(problems)
    if not is_package_name(name):
        _add(report, "skipped_packages", package=name, reason="not a valid Composer package name")
        return None

    info = record.info
    advisory = _advisory(record, name, report)
    out = Expanded(name, {}, {}, [], [], [advisory] if advisory is not None else [])
    if info is None:
        if override is not None and override.versions:
            # nothing is known about this package's versions: every version key is unknown
            _resolve_version_overrides(override, opath, {}, False)
        return _blocked(out, override, report)

    versions = info.versions if isinstance(info.versions, dict) else {}
    stable = info.version if isinstance(info.version, str) else None
    tags = _select_tags(name, versions, stable, report)
    has_trunk = kind is PackageType.PLUGIN
    resolved = (
        _resolve_version_overrides(override, opath, versions, has_trunk)
        if override is not None
        else {}
    )
    stable_normalized = normalize(stable) if stable is not None else None
    current_key = (
        sort_key(stable_normalized)
        if stable_normalized is not None and not stable_normalized.startswith("dev-")
        else None
    )
    current = _current_requires(record, config, name, report)
    installers = {INSTALLERS[0]: INSTALLERS[1]}
    package_require = override.require if override is not None else {}
    require_old = _links(installers, package_require)
    require_current = _links({**installers, **current}, package_require)
    conflict_all = _links({}, override.conflict if override is not None else {})

    common = out.common
    common["type"] = _TYPES[kind]
    description = plain_text(info.short_description) or plain_text(info.description)
    if description:
        common["description"] = description
    common["homepage"] = http_url(info.homepage) or f"{WPORG}/{kind.plural}/{slug}/"
    authors = _authors(record)
    if authors:
        common["authors"] = authors
    common["support"] = {
        "forum": f"{WPORG}/support/{kind.value}/{slug}/",
        "source": f"{config.upstream.trac(kind).rstrip('/')}/browser/{slug}/",
    }
    if record.status is not PackageStatus.OPEN:
        out.tail["abandoned"] = True
    if override is not None and (override.abandoned or override.replacement):
        out.tail["abandoned"] = override.replacement or True
    stable_time = _stable_time(record)
    first_seen = record.first_seen

    def entry(
        version: str, normalized: str, dist: dict[str, str], is_current: bool, time: str | None
    ) -> Entry | None:
        require = require_current if is_current else require_old
        conflict = conflict_all
        change = resolved.get(normalized) if resolved else None
        if change is not None:
            vchange = change[1]
            if vchange.yanked:
                why = vchange.reason or (override.reason if override is not None else "")
                _add(report, "yanked_versions", package=name, version=version,
                     reason=f"yanked by override: {why}")  # fmt: skip
                return None
            require = _links(require, vchange.require)
            conflict = _links(conflict, vchange.conflict)
        var: Entry = {"version": version, "version_normalized": normalized, "dist": dist}
        var["require"] = require
        if conflict:
            var["conflict"] = conflict
        if time is not None:
            var["time"] = time
        return var

    for tag in tags:
        normalized = tag.normalized
        time = None
        if stable_time is not None and (tag.key == stable or normalized == stable_normalized):
            time = stable_time
        elif first_seen:
            time = wporg_time(first_seen.get(tag.key))
        made = entry(
            tag.display,
            normalized,
            {"type": "zip", "url": tag.url, "reference": _sha1(tag.url)},
            current_key is not None and tag.sort >= current_key,
            time,
        )
        if made is None:
            continue
        if normalized.endswith("-dev"):  # parse_stability() == "dev"
            out.dev.append(made)
        else:
            out.tagged.append(made)
    if has_trunk:
        url = _trunk_url(record, config)
        ref = _sha1(f"{record.revision}\n{info.last_updated}\n{info.version}\n{url}")
        dist = {"type": "zip", "url": _with_ref(url, ref), "reference": ref}
        made = entry(DEV_TRUNK, DEV_TRUNK, dist, True, None)
        if made is not None:
            out.dev.insert(0, made)
    return _blocked(out, override, report)


def _blocked(out: Expanded, override: OverrideFile | None, report: Report) -> Expanded:
    if override is not None and override.blocked:
        _add(report, "skipped_packages", package=out.name,
             reason=f"blocked by override: {override.reason}")  # fmt: skip
        out.tagged, out.dev = [], []
    return out


def render_orphan_override(
    kind: PackageType,
    slug: str,
    override: OverrideFile,
    config: RegistryConfig,
    *,
    override_path: str,
) -> Rendered:
    """An override whose package has no record: checked, reported, renders nothing."""
    problems = check_package_fields(override, override_path)
    if problems:
        raise OverrideError(problems)
    name = package_name(config, kind, slug)
    report: Report = {}
    _add(
        report,
        "notes",
        package=name,
        field="override",
        value=override_path,
        reason="override for a package that has no record; ignored",
    )
    return Rendered(kind, slug, name, {}, False, 0, report)


# --- root documents ------------------------------------------------------------------------


def _base_url(config: RegistryConfig) -> str:
    if config.public_url is None:
        return ""
    url = http_url(config.public_url)
    if url is None:
        raise ConfigError(
            f"registry.json: public_url: not an absolute http(s) URL: {config.public_url!r}"
        )
    return url.rstrip("/")


def check_config(config: RegistryConfig) -> None:
    """Raise :class:`ConfigError` for a ``registry.json`` the build cannot use."""
    for kind in PackageType:
        vendor = config.vendors.for_type(kind)
        if not is_vendor_name(vendor):
            raise ConfigError(f"registry.json: vendors.{kind.value}: invalid vendor {vendor!r}")
    if config.vendors.plugin == config.vendors.theme:
        raise ConfigError("registry.json: vendors: plugin and theme vendors must differ")
    if config.notify_batch is not None and http_url(config.notify_batch) is None:
        raise ConfigError(
            f"registry.json: notify_batch: not an absolute http(s) URL: {config.notify_batch!r}"
        )
    _base_url(config)


def render_packages_json(config: RegistryConfig) -> bytes:
    """``packages.json``: a Composer v2 root that reads everything from static files.

    ``list`` points at ``list.json``: Composer reads it whole for ``composer show -a`` and
    ``composer search``. With a filter (``show -a 'wp-plugin/a*'``, ``search ^wp-plugin/a``)
    Composer appends ``?filter=``/``?vendor=`` and expects the server to filter; a static
    host returns every name then (a dynamic server can honour the parameters at that URL).
    """
    check_config(config)
    base = _base_url(config)
    doc: dict[str, Any] = {
        "packages": [],
        "metadata-url": f"{base}/p2/%package%.json",
        "available-package-patterns": [f"{config.vendors.for_type(k)}/*" for k in PackageType],
        "list": f"{base}/list.json",
        "security-advisories": {"metadata": True},
    }
    if config.notify_batch is not None:
        doc["notify-batch"] = config.notify_batch.strip()
    return canonical.dumps(doc)


def render_list(names: Iterable[str]) -> bytes:
    """``list.json``: ``{"packageNames": [...]}``, sorted, compact."""
    return orjson.dumps({"packageNames": sorted(names)})


def sort_report(report: Report) -> Report:
    """Every section present (possibly empty), entries in their fixed order."""
    out: Report = {}
    for section, fields in REPORT_SECTIONS.items():
        entries = report.get(section, [])
        out[section] = sorted(entries, key=lambda e: tuple(e.get(f, "") for f in fields))
    return out


def render_report(report: Report, *, source: Mapping[str, str] | None = None) -> bytes:
    """``report.json``: what the build left out or changed, and why (canonical JSON).

    ``source`` says what the build read (builder, data prefix); incremental builds check it.
    """
    doc: dict[str, Any] = {"format": RENDER_FORMAT, "source": dict(source or {})}
    doc.update(sort_report(report))
    return canonical.dumps(doc)
