"""Pydantic models of every file in the data tree; ``curator schemas`` exports them.

- :class:`PackageRecord`: ``packages/<plural>/<shard>/<slug>.json`` (curator-owned)
- :class:`RegistryConfig`: ``registry.json``
- :class:`SyncState`: ``state/sync.json``
- :class:`OverrideFile`: ``overrides/<plural>/<slug>.json`` (trustee-owned)
- :class:`TrusteesFile`: ``trustees.json`` (who may change what)
"""

from curator.models.config import RegistryConfig, UpstreamConfig
from curator.models.override import OverrideFile, VersionOverride
from curator.models.package import Closure, PackageRecord, PackageStatus, UpstreamInfo
from curator.models.state import SyncCursor, SyncState
from curator.models.trustees import BotIdentity, Trustee, TrusteesFile

__all__ = [
    "BotIdentity",
    "Closure",
    "OverrideFile",
    "PackageRecord",
    "PackageStatus",
    "RegistryConfig",
    "SyncCursor",
    "SyncState",
    "Trustee",
    "TrusteesFile",
    "UpstreamConfig",
    "UpstreamInfo",
    "VersionOverride",
]
