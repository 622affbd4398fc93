"""Pydantic models of every file in the data tree; ``curator schemas`` exports them.

- :class:`PackageRecord`: ``packages/<plural>/<shard>/<slug>.json`` (curator-owned)
- :class:`RegistryConfig`: ``registry.json``
- :class:`SyncState`: ``state/sync.json``
- :class:`OverrideFile`: ``overrides/<plural>/<slug>.json`` (trustee-owned)
"""

from curator.models.config import RegistryConfig, UpstreamConfig
from curator.models.override import OverrideFile, VersionOverride
from curator.models.package import Closure, PackageRecord, PackageStatus, UpstreamInfo
from curator.models.state import SyncCursor, SyncState

__all__ = [
    "Closure",
    "OverrideFile",
    "PackageRecord",
    "PackageStatus",
    "RegistryConfig",
    "SyncCursor",
    "SyncState",
    "UpstreamConfig",
    "UpstreamInfo",
    "VersionOverride",
]
