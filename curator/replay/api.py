"""The info APIs' request parsing and field selection (``plugins/info/1.2``, ``themes/info/1.2``).

Pure functions: parse a query string the way PHP fills ``$_REQUEST['request']``, decide which
keys of a stored record the real server would send for that request, and render the body.
The stored records are the "all fields on" representation (``plugins/v1/plugin/<slug>``);
the 1.2 endpoints strip fields off it.

Sources of the field lists (WordPress/wordpress.org, read through the code index):

* Plugins: ``wordpress.org/public_html/wp-content/plugins/plugin-directory/standalone/
  class-plugins-info-api-request.php`` — ``$fields`` (every toggleable field, all ``false``),
  ``$plugins_info_fields_defaults`` and ``$plugins_info_fields_defaults_12`` ("Alterations made
  to default fields in the info/1.2 API"), merged with ``array_merge( $fields, defaults,
  defaults_12, requested )``; ``remove_unexpected_fields()`` unsets every field whose flag is
  false (``reviews`` unsets ``sections.reviews``) and leaves keys that are not in ``$fields``
  alone (name, slug, version, author, num_ratings, requires_plugins, ...). The indexed
  revision of that file predates ``versions``/``screenshots``/``preview_link``/
  ``upgrade_notice``/``business_model``/``repository_url``/``support_url``/
  ``commercial_support_url``/``blueprints``; their flags come from the current trunk as mirrored
  in a third-party re-implementation that cites it. The resulting default set is checked against
  a real capture: the 32 keys of
  ``shared/fixtures/wporg/bh-wp-plugin-updater__plugin_information_1.2_woocommerce_9.0.2.json``.
  Unknown names in ``request[fields]`` are ignored (``parse_requested_fields``); a list entry
  ``-name`` switches a field off; when ``icons`` is requested, ``compatibility`` and
  ``description`` default to off.
* Themes: ``wordpress.org/public_html/wp-content/plugins/theme-directory/class-themes-api.php``
  (commit b899ab155edb9ac2fd3513bdcefef540319e1fbe) — ``$fields`` plus the
  ``theme_information()`` defaults and the ``THEMES_API_VERSION >= 1.2`` additions; ``fill_theme()``
  emits each key only when its flag is on (``rating`` also gives ``num_ratings``,
  ``last_updated`` also gives ``last_updated_time``, ``extended_author`` off collapses ``author``
  to the user_nicename, ``sections`` off + ``description`` on gives a ``description`` key).
  PHP merges the raw ``request[fields]`` values, so ``"0"`` and ``""`` are off and anything
  else (even ``"false"``) is on. The real themes API ignores list-style ``fields[]=name``
  entries (numeric keys); the replay accepts them as "on", as the brief asks.

Errors (bodies as the real server sends them): unknown plugin -> 404
``{"error":"Plugin not found."}``; plugin slug failing ``/^[a-z0-9_-]+$/`` -> 404
``{"error":"Invalid plugin slug."}``; closed plugin -> 404 with the stored closed body; unknown
theme -> 404 ``{"error":"Theme not found"}``; blank theme slug -> 200
``{"error":"Slug not provided"}`` (``set_status_header()`` only maps "Theme not found" to 404);
unknown action -> 400 ``{"error":"Action not implemented"}``.

Encoding: compact JSON by orjson. PHP's ``wp_json_encode`` additionally escapes ``/`` as ``\\/``
and non-ASCII as ``\\uXXXX``; the decoded values are identical, byte for byte (``\\r`` in keys
included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote_plus

import orjson

from curator.layout import PackageType

Record = dict[str, Any]
FieldOverrides = tuple[tuple[str, bool], ...]

PLUGIN_SLUG_RE: Final = re.compile(r"[a-z0-9_-]+")

DOWNLOADS_PREFIXES: Final = ("https://downloads.wordpress.org/", "http://downloads.wordpress.org/")

BODY_PLUGIN_NOT_FOUND: Final = b'{"error":"Plugin not found."}'
BODY_INVALID_PLUGIN_SLUG: Final = b'{"error":"Invalid plugin slug."}'
BODY_THEME_NOT_FOUND: Final = b'{"error":"Theme not found"}'
BODY_SLUG_NOT_PROVIDED: Final = b'{"error":"Slug not provided"}'
BODY_ACTION_NOT_IMPLEMENTED: Final = b'{"error":"Action not implemented"}'

ACTIONS: Final = {PackageType.PLUGIN: "plugin_information", PackageType.THEME: "theme_information"}

# --- plugins -------------------------------------------------------------------------------

# Every toggleable plugin field (class-plugins-info-api-request.php, static $fields) and the
# response keys it controls. "downloadlink" is the historical name, "download_link" the current.
PLUGIN_FIELD_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "active_installs": ("active_installs",),
    "added": ("added",),
    "banners": ("banners",),
    "compatibility": ("compatibility",),
    "contributors": ("contributors",),
    "description": ("description",),
    "donate_link": ("donate_link",),
    "downloaded": ("downloaded",),
    "downloadlink": ("download_link",),
    "download_link": ("download_link",),
    "homepage": ("homepage",),
    "icons": ("icons",),
    "last_updated": ("last_updated",),
    "rating": ("rating",),
    "ratings": ("ratings",),
    "reviews": (),  # sections.reviews, handled separately
    "requires": ("requires",),
    "requires_php": ("requires_php",),
    "sections": ("sections",),
    "short_description": ("short_description",),
    "tags": ("tags",),
    "tested": ("tested",),
    "stable_tag": ("stable_tag",),
    "blocks": ("blocks",),
    "block_assets": ("block_assets",),
    "author_block_count": ("author_block_count",),
    "author_block_rating": ("author_block_rating",),
    "language_packs": ("language_packs",),
    "versions": ("versions",),
    "screenshots": ("screenshots",),
    "blueprints": ("blueprints",),
    "preview_link": ("preview_link",),
    "upgrade_notice": ("upgrade_notice",),
    "business_model": ("business_model",),
    "repository_url": ("repository_url",),
    "support_url": ("support_url",),
    "commercial_support_url": ("commercial_support_url",),
}

# $plugins_info_fields_defaults merged with $plugins_info_fields_defaults_12: fields ON by
# default for plugin_information on the 1.2 endpoint. Every other field above is OFF:
# compatibility, description, downloaded, icons, short_description, stable_tag, blocks,
# block_assets, author_block_count, author_block_rating, language_packs, blueprints.
PLUGIN_DEFAULTS_12: Final = frozenset(
    {
        "added",
        "contributors",
        "downloadlink",
        "download_link",
        "donate_link",
        "homepage",
        "last_updated",
        "rating",
        "ratings",
        "requires",
        "requires_php",
        "sections",
        "tags",
        "tested",
        "versions",
        "screenshots",
        "banners",
        "reviews",
        "active_installs",
        "preview_link",
        "upgrade_notice",
        "business_model",
        "repository_url",
        "support_url",
        "commercial_support_url",
    }
)

# --- themes --------------------------------------------------------------------------------

# Theme field flags (class-themes-api.php $fields + theme_information() defaults) and the keys
# fill_theme() emits for each. "description" and "extended_author" are handled separately.
THEME_FIELD_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "description": (),
    "downloaded": ("downloaded",),
    "downloadlink": ("download_link",),
    "last_updated": ("last_updated", "last_updated_time"),
    "creation_time": ("creation_time",),
    "parent": ("parent",),
    "rating": ("rating", "num_ratings"),
    "ratings": ("ratings",),
    "reviews_url": ("reviews_url",),
    "screenshot_count": ("screenshot_count",),
    "screenshot_url": ("screenshot_url",),
    "screenshots": ("screenshots",),
    "sections": ("sections",),
    "tags": ("tags",),
    "template": ("template",),
    "versions": ("versions",),
    "theme_url": ("theme_url",),
    "extended_author": (),
    "photon_screenshots": (),
    "active_installs": ("active_installs",),
    "requires": ("requires",),
    "requires_php": ("requires_php",),
    "trac_tickets": ("trac_tickets",),
    "is_commercial": ("is_commercial",),
    "is_community": ("is_community",),
    "external_repository_url": ("external_repository_url",),
    "external_support_url": ("external_support_url",),
    "upload_date": ("upload_date",),
    "homepage": ("homepage",),
    "num_ratings": (),  # a 1.2 default, but fill_theme() ties num_ratings to "rating"
}

# Flags ON by default for theme_information on the 1.2 endpoint ($fields['screenshot_url'] is
# true in the base list; the rest come from theme_information()'s $defaults).
THEME_DEFAULTS_12: Final = frozenset(
    {
        "screenshot_url",
        "sections",
        "rating",
        "downloaded",
        "downloadlink",
        "last_updated",
        "homepage",
        "tags",
        "template",
        "extended_author",
        "num_ratings",
        "reviews_url",
        "parent",
        "requires",
        "requires_php",
        "creation_time",
        "is_commercial",
        "is_community",
        "external_repository_url",
        "external_support_url",
    }
)


# --- query parsing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InfoRequest:
    """What an info API query string asks for."""

    action: str | None
    slug: str | None
    fields: FieldOverrides  # (name, on) pairs, last value wins, sorted by name


def _php_truthy(value: str) -> bool:
    """PHP's ``(bool) $string``: only ``""`` and ``"0"`` are false."""
    return value not in ("", "0")


def _unquote(raw: str) -> str:
    return unquote_plus(raw) if ("%" in raw or "+" in raw) else raw


def parse_info_query(query: bytes | str, kind: PackageType) -> InfoRequest:
    """Parse ``action=..&request[slug]=..&request[fields][..]=..`` as PHP would.

    Field styles: ``request[fields][name]=0|1``, ``request[fields][]=name`` (``-name`` is off)
    and ``request[fields]=a,b,-c``. Unknown field names are dropped.
    """
    qs = query.decode("utf-8", "replace") if isinstance(query, bytes) else query
    action: str | None = None
    slug: str | None = None
    chosen: dict[str, bool] = {}
    known = PLUGIN_FIELD_KEYS if kind is PackageType.PLUGIN else THEME_FIELD_KEYS

    def add_listed(item: str) -> None:
        item = item.strip()
        on = True
        if item.startswith("-"):
            on, item = False, item[1:]
        if item in known:
            chosen[item] = on

    for pair in qs.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        key = _unquote(key)
        value = _unquote(value)
        if key == "action":
            action = value
        elif key == "request[slug]":
            slug = value
        elif key.startswith("request[fields]"):
            rest = key[len("request[fields]") :]
            if not rest:
                for item in value.split(","):
                    add_listed(item)
            elif rest.startswith("[") and rest.endswith("]"):
                name = rest[1:-1]
                if name == "" or name.isdigit():
                    add_listed(value)
                elif name in known:
                    truthy = _php_truthy(value.strip() if kind is PackageType.THEME else value)
                    chosen[name] = truthy
    return InfoRequest(action, slug, tuple(sorted(chosen.items())))


# --- selection -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selection:
    """The effect of one field request on a record: keys to drop and special cases."""

    drop: frozenset[str]
    drop_reviews: bool = False
    description_from_sections: bool = False
    collapse_author: bool = False


@lru_cache(maxsize=4096)
def plugin_selection(overrides: FieldOverrides) -> Selection:
    flags = {name: name in PLUGIN_DEFAULTS_12 for name in PLUGIN_FIELD_KEYS}
    requested = dict(overrides)
    if requested.get("icons"):
        flags["compatibility"] = False
        flags["description"] = False
    flags.update(requested)
    # download_link is controlled by either spelling; both must agree to drop it.
    if "downloadlink" in requested and "download_link" not in requested:
        flags["download_link"] = requested["downloadlink"]
    elif "download_link" in requested:
        flags["downloadlink"] = requested["download_link"]
    drop = {key for name, on in flags.items() if not on for key in PLUGIN_FIELD_KEYS[name]}
    return Selection(frozenset(drop), drop_reviews=not flags["reviews"])


@lru_cache(maxsize=4096)
def theme_selection(overrides: FieldOverrides) -> Selection:
    flags = {name: name in THEME_DEFAULTS_12 for name in THEME_FIELD_KEYS}
    flags.update(dict(overrides))
    drop = {key for name, on in flags.items() if not on for key in THEME_FIELD_KEYS[name]}
    # fill_theme(): sections wins over description; description alone gives "description".
    if flags["sections"]:
        drop.add("description")
        describe = False
    else:
        describe = flags["description"]
        if not describe:
            drop.add("description")
    return Selection(
        frozenset(drop),
        description_from_sections=describe,
        collapse_author=not flags["extended_author"],
    )


def rewrite_download_url(url: str, downloads_base: str) -> str:
    """``https://downloads.wordpress.org/x`` -> ``<downloads_base>/x``; other URLs unchanged."""
    for prefix in DOWNLOADS_PREFIXES:
        if url.startswith(prefix):
            return downloads_base + url[len(prefix) - 1 :]
    return url


def _rewrite(out: Record, downloads_base: str | None) -> None:
    if downloads_base is None:
        return
    link = out.get("download_link")
    if isinstance(link, str):
        out["download_link"] = rewrite_download_url(link, downloads_base)
    versions = out.get("versions")
    if isinstance(versions, dict) and versions:
        out["versions"] = {
            k: rewrite_download_url(v, downloads_base) if isinstance(v, str) else v
            for k, v in versions.items()
        }


def select_plugin(record: Mapping[str, Any], selection: Selection) -> Record:
    drop = selection.drop
    out = {k: v for k, v in record.items() if k not in drop}
    if selection.drop_reviews:
        sections = out.get("sections")
        if isinstance(sections, dict) and "reviews" in sections:
            out["sections"] = {k: v for k, v in sections.items() if k != "reviews"}
    return out


def select_theme(record: Mapping[str, Any], selection: Selection) -> Record:
    drop = selection.drop
    out = {k: v for k, v in record.items() if k not in drop}
    if selection.description_from_sections and "description" not in out:
        sections = record.get("sections")
        if isinstance(sections, dict) and isinstance(sections.get("description"), str):
            out["description"] = sections["description"]
    if selection.collapse_author:
        author = out.get("author")
        if isinstance(author, dict) and "user_nicename" in author:
            out["author"] = author["user_nicename"]
    return out


def render_info(
    kind: PackageType,
    record: Mapping[str, Any],
    overrides: FieldOverrides,
    downloads_base: str | None,
) -> bytes:
    """The 200 body for an open package: selected fields, download URLs rewritten."""
    if kind is PackageType.PLUGIN:
        out = select_plugin(record, plugin_selection(overrides))
    else:
        out = select_theme(record, theme_selection(overrides))
    _rewrite(out, downloads_base)
    return orjson.dumps(out)


def is_closed(record: Mapping[str, Any]) -> bool:
    """A stored closed body (``{"error":"closed",...}``) rather than package information."""
    return record.get("error") == "closed"
