"""Override files: trustee-owned patches applied at build time by a pure function.

``overrides/<plural>/<slug>.json``. Every override says why, who and when. Package-level
fields change every version; ``versions`` targets raw version keys or normalised versions.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class VersionOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    require: dict[str, str | None] = Field(
        default_factory=dict,
        description="package -> constraint to set, or null to remove (e.g. php)",
    )
    conflict: dict[str, str] = Field(default_factory=dict)
    yanked: bool = Field(False, description="hide this version from Composer")
    reason: str | None = Field(None, description="why, when it differs from the file's reason")


class OverrideFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    reason: str = Field(min_length=3, description="why the override exists (shown to users)")
    author: str = Field(min_length=1, description="the trustee who wrote it")
    date: dt.date
    abandoned: bool = False
    replacement: str | None = Field(
        None, description="package users should move to (implies abandoned)"
    )
    blocked: bool = Field(False, description="serve no versions at all")
    require: dict[str, str | None] = Field(default_factory=dict)
    conflict: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, VersionOverride] = Field(default_factory=dict)
