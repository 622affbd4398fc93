"""What the curator asks the info APIs for, and which answered keys it keeps.

``request[fields][<name>]=1|0`` switches a field on or off in ``plugins/info/1.2`` and
``themes/info/1.2``. The curator asks explicitly for the fields it stores
(:class:`curator.models.UpstreamInfo`) and switches off every heavy field the 1.2 API would
otherwise send by default or on request (sections, reviews, screenshots, banners, icons,
contributors, ratings, ...), so answers stay small and do not depend on server defaults.
Sources: ``class-plugins-info-api-request.php`` (``$fields``, ``$plugins_info_fields_defaults``
and ``..._12``) and ``class-themes-api.php`` (``$fields`` and ``theme_information()``
defaults) in WordPress/wordpress.org; names the server does not know are ignored by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from urllib.parse import quote

from curator.layout import PackageType
from curator.models import UpstreamConfig, UpstreamInfo

__all__ = ["KEPT_FIELDS", "PLUGIN_FIELDS", "THEME_FIELDS", "info_url", "requested_fields"]

# request[fields][<name>]=1|0 for plugin_information (info/1.2). "On" is what the curator
# stores (curator.models.UpstreamInfo); name/slug/version/author/author_profile/
# requires_plugins are always sent, asking for them is harmless and documents intent.
# "downloadlink" is the server's historic switch for download_link. "Off" is every heavy
# field the 1.2 API would otherwise send by default or on request (description is the full
# HTML description; short_description is kept).
PLUGIN_FIELDS: Final[Mapping[str, bool]] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "name",
                "slug",
                "version",
                "versions",
                "stable_tag",
                "requires",
                "tested",
                "requires_php",
                "requires_plugins",
                "last_updated",
                "added",
                "author",
                "author_profile",
                "homepage",
                "short_description",
                "download_link",
                "downloadlink",
                "active_installs",
                "downloaded",
                "tags",
            ),
            True,
        ),
        **dict.fromkeys(
            (
                "sections",
                "description",
                "reviews",
                "screenshots",
                "banners",
                "icons",
                "contributors",
                "rating",
                "ratings",
                "compatibility",
                "donate_link",
                "language_packs",
                "blocks",
                "block_assets",
                "author_block_count",
                "author_block_rating",
                "blueprints",
                "preview_link",
                "upgrade_notice",
                "business_model",
                "repository_url",
                "support_url",
                "commercial_support_url",
            ),
            False,
        ),
    }
)

# theme_information (info/1.2): "description" needs "sections" off (the API sends one or the
# other); "last_updated" also switches last_updated_time on; "extended_author" keeps author
# the structured object the 1.2 API sends by default; "downloadlink" is download_link.
# Names that only plugins have (added, tested, stable_tag, ...) are ignored by the themes API.
THEME_FIELDS: Final[Mapping[str, bool]] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "name",
                "slug",
                "version",
                "versions",
                "requires",
                "tested",
                "requires_php",
                "requires_plugins",
                "last_updated",
                "last_updated_time",
                "creation_time",
                "added",
                "author",
                "extended_author",
                "author_profile",
                "homepage",
                "short_description",
                "description",
                "download_link",
                "downloadlink",
                "active_installs",
                "downloaded",
                "tags",
                "stable_tag",
            ),
            True,
        ),
        **dict.fromkeys(
            (
                "sections",
                "reviews",
                "reviews_url",
                "rating",
                "ratings",
                "num_ratings",
                "screenshot_url",
                "screenshot_count",
                "screenshots",
                "photon_screenshots",
                "parent",
                "template",
                "theme_url",
                "trac_tickets",
                "is_commercial",
                "is_community",
                "external_repository_url",
                "external_support_url",
            ),
            False,
        ),
    }
)


def _fields_query(fields: Mapping[str, bool]) -> str:
    return "&".join(f"request%5Bfields%5D%5B{name}%5D={int(on)}" for name, on in fields.items())


_FIELDS_QUERY = {
    PackageType.PLUGIN: _fields_query(PLUGIN_FIELDS),
    PackageType.THEME: _fields_query(THEME_FIELDS),
}


def info_url(upstream: UpstreamConfig, kind: PackageType, slug: str) -> str:
    """The info API URL for one package, with the explicit field set."""
    return (
        f"{upstream.api}/{kind.plural}/info/1.2/?action={kind.value}_information"
        f"&request%5Bslug%5D={quote(slug, safe='')}&{_FIELDS_QUERY[kind]}"
    )


def requested_fields(kind: PackageType) -> Mapping[str, bool]:
    """The ``request[fields]`` switches sent for ``kind``."""
    return PLUGIN_FIELDS if kind is PackageType.PLUGIN else THEME_FIELDS


# The keys of an answer that are stored: the model's fields that were asked for. For plugins
# that leaves out description (full HTML), last_updated_time and creation_time (theme-only).
KEPT_FIELDS: Final[Mapping[PackageType, tuple[str, ...]]] = MappingProxyType(
    {
        kind: tuple(name for name in UpstreamInfo.model_fields if requested_fields(kind).get(name))
        for kind in PackageType
    }
)
