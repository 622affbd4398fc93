"""Composer's rules for versions and constraints, as a pure-Python port of composer/semver.

The registry publishes a WordPress.org tag as a Composer version only if Composer itself
accepts it, under the exact name Composer gives it; see :mod:`curator.composer.versions`.
"""

from __future__ import annotations

from curator.composer.versions import (
    Stability,
    VersionKey,
    compare,
    is_valid_constraint,
    normalize,
    normalize_branch,
    parse_constraints,
    parse_stability,
    php_requirement,
    php_version_compare,
    sort_key,
)

__all__ = [
    "Stability",
    "VersionKey",
    "compare",
    "is_valid_constraint",
    "normalize",
    "normalize_branch",
    "parse_constraints",
    "parse_stability",
    "php_requirement",
    "php_version_compare",
    "sort_key",
]
