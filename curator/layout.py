"""Where things live inside the data tree, and which names may become paths.

The data tree (under the repository prefix) is::

    registry.json
    packages/plugins/<shard>/<slug>.json
    packages/themes/<shard>/<slug>.json
    overrides/plugins/<slug>.json
    overrides/themes/<slug>.json
    state/sync.json

``<shard>`` is the slug's first two characters. Every function here is pure; slugs are
validated before they are turned into a path, so hostile upstream names cannot escape.
"""

from __future__ import annotations

import re
from enum import StrEnum

REGISTRY_FILE = "registry.json"
STATE_FILE = "state/sync.json"
PACKAGES_DIR = "packages"
OVERRIDES_DIR = "overrides"

# WordPress.org accepts /^[a-z0-9_-]+$/ for slugs; we also allow dots for old SVN names but
# never a leading dot, so "." and ".." cannot occur. 200 characters bounds path length.
_SLUG_RE = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,199}")


class PackageType(StrEnum):
    """The two kinds of WordPress.org package."""

    PLUGIN = "plugin"
    THEME = "theme"

    @property
    def plural(self) -> str:
        return f"{self.value}s"


class InvalidSlugError(ValueError):
    """A slug that must not become a package name or a path."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"invalid slug {slug!r}: expected [a-z0-9_][a-z0-9_.-]* (at most 200)")
        self.slug = slug


def is_valid_slug(slug: str) -> bool:
    return _SLUG_RE.fullmatch(slug) is not None


def check_slug(slug: str) -> str:
    """Return ``slug`` unchanged, or raise :class:`InvalidSlugError`."""
    if not is_valid_slug(slug):
        raise InvalidSlugError(slug)
    return slug


def shard(slug: str) -> str:
    """The shard directory of a slug: its first two characters."""
    return check_slug(slug)[:2]


def normalize_prefix(prefix: str) -> str:
    """``"registry-data"`` -> ``"registry-data/"``; ``""`` and ``"/"`` -> ``""``."""
    parts = [p for p in prefix.strip().split("/") if p]
    for part in parts:
        if part in (".", "..") or "\\" in part:
            raise ValueError(f"invalid prefix {prefix!r}")
    return "".join(f"{p}/" for p in parts)


def package_path(kind: PackageType, slug: str) -> str:
    """Path of a package record relative to the data tree."""
    return f"{PACKAGES_DIR}/{kind.plural}/{shard(slug)}/{slug}.json"


def override_path(kind: PackageType, slug: str) -> str:
    return f"{OVERRIDES_DIR}/{kind.plural}/{check_slug(slug)}.json"


def packages_root(kind: PackageType) -> str:
    return f"{PACKAGES_DIR}/{kind.plural}"


def parse_package_path(path: str) -> tuple[PackageType, str] | None:
    """Inverse of :func:`package_path`; ``None`` for anything else."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != PACKAGES_DIR or not parts[3].endswith(".json"):
        return None
    kinds = {k.plural: k for k in PackageType}
    kind = kinds.get(parts[1])
    slug = parts[3][: -len(".json")]
    if kind is None or not is_valid_slug(slug) or parts[2] != slug[:2]:
        return None
    return kind, slug
