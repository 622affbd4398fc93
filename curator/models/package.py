"""The package record: one WordPress.org plugin or theme as the curator stores it.

Upstream facts are kept verbatim (raw version keys, ``false`` for unknown requirements,
``[]`` where PHP sent an empty array, HTML in ``author`` and entities in ``name``); Composer
normalisation happens at build time. Curator-derived facts (status, closure, when a version
was first seen, the last SVN revision) sit beside them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from curator.layout import PackageType

SCHEMA_VERSION: Final = 1

# Everything WordPress.org may send as "unknown": false, null, or an empty PHP array.
Scalar = str | int | float | bool | None


class PackageStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    NOT_FOUND = "not_found"


class UpstreamInfo(BaseModel):
    """The requested fields of a ``plugin_information`` / ``theme_information`` answer, verbatim.

    Only keys upstream actually sent are stored (dump with ``exclude_unset``); types are the
    unions WordPress.org is known to send, validated strictly so nothing is coerced.
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    name: str
    slug: str
    version: str | bool | None = None
    stable_tag: str | bool | None = None
    versions: dict[str, str] | list[Any] | None = None
    requires: str | bool | None = None
    tested: str | bool | None = None
    requires_php: str | bool | None = None
    requires_plugins: list[str] | dict[str, Any] | None = None
    last_updated: str | bool | None = None
    last_updated_time: str | bool | None = None
    added: str | bool | None = None
    creation_time: str | bool | None = None
    author: str | dict[str, Any] | bool | None = None
    author_profile: str | bool | None = None
    homepage: str | bool | None = None
    short_description: str | bool | None = None
    description: str | bool | None = None
    download_link: str | bool | None = None
    active_installs: int | bool | None = None
    downloaded: int | bool | None = None
    tags: dict[str, str] | list[Any] | None = None

    def version_keys(self) -> list[str]:
        """Raw tag names (the keys of ``versions``), ``[]`` when upstream sent an empty array."""
        return list(self.versions) if isinstance(self.versions, dict) else []


class Closure(BaseModel):
    """What WordPress.org said when it closed a package (HTTP 404, ``"error": "closed"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str | None = Field(None, description="closed_date as sent (Y-m-d)")
    reason: str | bool | None = Field(None, description="reason code as sent, e.g. author-request")
    reason_text: str | bool | None = None
    permanent: bool | None = Field(None, description="from the notice; null when it does not say")
    notice: str | None = Field(None, description="the description text upstream sent")


class PackageRecord(BaseModel):
    """``packages/<plural>/<shard>/<slug>.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    type: PackageType
    slug: str
    status: PackageStatus
    info: UpstreamInfo | None = Field(
        None, description="last good upstream answer; kept when the package closes"
    )
    closure: Closure | None = None
    first_seen: dict[str, str] = Field(
        default_factory=dict,
        description="version key -> UTC time the sync first saw it; only versions that "
        "appeared after the package's first sync (older ones are unknown, never invented)",
    )
    revision: int | None = Field(
        None, description="latest SVN revision seen touching this package, when known"
    )

    def to_json_data(self) -> dict[str, Any]:
        """The record as plain data, keeping only the upstream keys that were sent."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude={"info"})
        data["info"] = (
            None if self.info is None else self.info.model_dump(mode="json", exclude_unset=True)
        )
        return data
