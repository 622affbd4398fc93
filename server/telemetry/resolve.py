"""Which notify-batch entries name a package and a version of the promoted build.

Names are compared lower-case (Composer names are case-insensitive); versions may be sent
normalised (what Composer sends) or pretty, and are normalised with Composer's rules. Only a
version the build publishes for that package counts; everything else is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from curator.build.text import is_package_name
from curator.composer.versions import normalize
from server.telemetry.payload import Download

MAX_NAME: Final = 255
MAX_VERSION: Final = 128

VersionsOf = Callable[[str], frozenset[str] | None]


@dataclass(frozen=True)
class Resolved:
    installs: list[tuple[str, str]]  # (package, normalised version)
    ignored: int


def resolve(downloads: Iterable[Download], versions_of: VersionsOf) -> Resolved:
    """Split ``downloads`` into known (package, normalised version) pairs and an ignored count.

    ``versions_of(name)`` gives the normalised versions of a package, or None if unknown."""
    installs: list[tuple[str, str]] = []
    ignored = 0
    for download in downloads:
        name = download.name.strip().lower()
        version = download.version.strip()
        known = (
            versions_of(name)
            if len(name) <= MAX_NAME and is_package_name(name) and len(version) <= MAX_VERSION
            else None
        )
        if known is None:
            ignored += 1
            continue
        if version not in known:
            version = normalize(version) or ""
        if version in known:
            installs.append((name, version))
        else:
            ignored += 1
    return Resolved(installs, ignored)
