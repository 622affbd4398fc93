"""Generated download archives: small, deterministic zips standing in for real packages.

A plugin zip holds ``<slug>/`` with ``<slug>.php`` (a plugin header: Plugin Name, Version,
Requires at least/PHP, Requires Plugins, ...) and ``readme.txt``; a theme zip holds ``<slug>/``
with ``style.css`` (a theme header), ``index.php`` and ``readme.txt``. Every entry has a fixed
timestamp and permissions, so the same record and version always give the same bytes.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

from curator.layout import PackageType

ZIP_TIME: Final = (2024, 1, 1, 0, 0, 0)
_TAG_RE: Final = re.compile(r"<[^>]*>")


def _clean(value: Any) -> str:
    """One header line: HTML stripped, entities decoded, no line breaks."""
    if not isinstance(value, str):
        return ""
    text = html.unescape(_TAG_RE.sub("", value))
    return " ".join(text.split())


def _header_fields(kind: PackageType, record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The record facts that go into the generated files (hashable, for the cache)."""
    author = record.get("author")
    if isinstance(author, Mapping):
        author = author.get("display_name") or author.get("user_nicename")
    contributors = record.get("contributors")
    tags = record.get("tags")
    requires_plugins = record.get("requires_plugins")
    parent = record.get("template")
    facts = {
        "name": _clean(record.get("name")) or str(record.get("slug", "")),
        "author": _clean(author),
        "description": _clean(record.get("short_description"))
        or _clean(
            (record.get("sections") or {}).get("description", "")
            if isinstance(record.get("sections"), Mapping)
            else ""
        ),
        "requires": _clean(record.get("requires")),
        "requires_php": _clean(record.get("requires_php")),
        "tested": _clean(record.get("tested")),
        "stable_tag": _clean(record.get("stable_tag")),
        "contributors": ", ".join(contributors) if isinstance(contributors, Mapping) else "",
        "tags": ", ".join(str(t) for t in tags) if isinstance(tags, Mapping) else "",
        "requires_plugins": ", ".join(str(p) for p in requires_plugins)
        if isinstance(requires_plugins, list)
        else "",
        "template": _clean(parent),
    }
    facts["description"] = facts["description"][:150]
    return tuple(facts.items())


def _write(files: list[tuple[str, str]], top: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        entries = [(f"{top}/", None), *((f"{top}/{name}", body) for name, body in files)]
        for name, body in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3
            if body is None:
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, body.encode())
    return buf.getvalue()


def _line(label: str, value: str) -> str:
    return f"{label}: {value}\n" if value else ""


@lru_cache(maxsize=2048)
def _plugin_zip(slug: str, version: str, facts: tuple[tuple[str, str], ...]) -> bytes:
    f = dict(facts)
    php = (
        "<?php\n/**\n"
        f" * Plugin Name: {f['name']}\n"
        f" * Plugin URI: https://wordpress.org/plugins/{slug}/\n"
        + (f" * Description: {f['description']}\n" if f["description"] else "")
        + f" * Version: {version}\n"
        + (f" * Requires at least: {f['requires']}\n" if f["requires"] else "")
        + (f" * Requires PHP: {f['requires_php']}\n" if f["requires_php"] else "")
        + (f" * Requires Plugins: {f['requires_plugins']}\n" if f["requires_plugins"] else "")
        + (f" * Author: {f['author']}\n" if f["author"] else "")
        + " * License: GPLv2 or later\n"
        f" * Text Domain: {slug}\n"
        " */\n\n"
        "defined( 'ABSPATH' ) || exit;\n"
    )
    readme = (
        f"=== {f['name']} ===\n"
        + _line("Contributors", f["contributors"])
        + _line("Tags", f["tags"])
        + _line("Requires at least", f["requires"])
        + _line("Tested up to", f["tested"])
        + _line("Requires PHP", f["requires_php"])
        + _line("Stable tag", f["stable_tag"] or version)
        + "License: GPLv2 or later\n\n"
        + (f"{f['description']}\n\n" if f["description"] else "")
        + "== Description ==\n\n"
        "A generated stand-in for the WordPress.org package (curator replay).\n\n"
        f"== Changelog ==\n\n= {version} =\n* Release.\n"
    )
    return _write([(f"{slug}.php", php), ("readme.txt", readme)], slug)


@lru_cache(maxsize=2048)
def _theme_zip(slug: str, version: str, facts: tuple[tuple[str, str], ...]) -> bytes:
    f = dict(facts)
    style = (
        "/*\n"
        f"Theme Name: {f['name']}\n"
        f"Theme URI: https://wordpress.org/themes/{slug}/\n"
        + _line("Author", f["author"])
        + _line("Description", f["description"])
        + f"Version: {version}\n"
        + _line("Requires at least", f["requires"])
        + _line("Requires PHP", f["requires_php"])
        + _line("Template", f["template"])
        + "License: GNU General Public License v2 or later\n"
        "License URI: http://www.gnu.org/licenses/gpl-2.0.html\n"
        f"Text Domain: {slug}\n"
        "*/\n"
    )
    index = "<?php\n// Silence is golden.\n"
    readme = (
        f"=== {f['name']} ===\n"
        + _line("Requires at least", f["requires"])
        + _line("Requires PHP", f["requires_php"])
        + "License: GPLv2 or later\n\n"
        "A generated stand-in for the WordPress.org theme (curator replay).\n"
    )
    return _write([("style.css", style), ("index.php", index), ("readme.txt", readme)], slug)


def package_zip(kind: PackageType, slug: str, version: str, record: Mapping[str, Any]) -> bytes:
    """The archive for ``slug`` at ``version`` (the version string goes into the header with
    surrounding whitespace, such as a stray ``\\r``, removed)."""
    facts = _header_fields(kind, record)
    clean_version = version.strip()
    if kind is PackageType.PLUGIN:
        return _plugin_zip(slug, clean_version, facts)
    return _theme_zip(slug, clean_version, facts)
