"""``state/sync.json``: discovery cursors, committed in the same commit as the data they cover.

Nothing time-dependent lives here, so a run that changes nothing writes identical bytes
(and makes no commit). Run times and counts are in the commit trailers instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curator.layout import PackageType


class SyncCursor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    revision: int | None = Field(
        None, description="last SVN revision whose changes are reflected in the data"
    )
    pending: list[str] = Field(
        default_factory=list,
        description="slugs still to sync (failed or cut by --limit), sorted; retried next run",
    )


class SyncState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    plugin: SyncCursor = Field(default_factory=SyncCursor)
    theme: SyncCursor = Field(default_factory=SyncCursor)

    def cursor(self, kind: PackageType) -> SyncCursor:
        return self.plugin if kind is PackageType.PLUGIN else self.theme

    def with_cursor(self, kind: PackageType, cursor: SyncCursor) -> SyncState:
        return self.model_copy(update={kind.value: cursor})
