"""``registry.json``: the registry's vendors, upstream endpoints and discovery sources."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from curator.layout import PackageType

DEFAULT_UPSTREAM = {
    "api": "https://api.wordpress.org",
    "downloads": "https://downloads.wordpress.org",
    "plugins_svn": "https://plugins.svn.wordpress.org",
    "themes_svn": "https://themes.svn.wordpress.org",
    "plugins_trac": "https://plugins.trac.wordpress.org",
    "themes_trac": "https://themes.trac.wordpress.org",
}


# ``ed25519:`` and the base64 of a raw 32-byte public key (see curator.signing)
SigningKeyPin = Annotated[str, StringConstraints(pattern=r"^ed25519:[A-Za-z0-9+/]{43}=$")]


class UpstreamConfig(BaseModel):
    """Base URLs of every WordPress.org endpoint the curator talks to (no trailing slash)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api: str = DEFAULT_UPSTREAM["api"]
    downloads: str = DEFAULT_UPSTREAM["downloads"]
    plugins_svn: str = DEFAULT_UPSTREAM["plugins_svn"]
    themes_svn: str = DEFAULT_UPSTREAM["themes_svn"]
    plugins_trac: str = DEFAULT_UPSTREAM["plugins_trac"]
    themes_trac: str = DEFAULT_UPSTREAM["themes_trac"]

    @classmethod
    def from_base(cls, base: str) -> UpstreamConfig:
        """Point every endpoint at one base URL (a local replay); layout in curator.replay."""
        b = base.rstrip("/")
        return cls(
            api=b,
            downloads=f"{b}/downloads",
            plugins_svn=f"{b}/svn/plugins",
            themes_svn=f"{b}/svn/themes",
            plugins_trac=f"{b}/trac/plugins",
            themes_trac=f"{b}/trac/themes",
        )

    def svn(self, kind: PackageType) -> str:
        return self.plugins_svn if kind is PackageType.PLUGIN else self.themes_svn

    def trac(self, kind: PackageType) -> str:
        return self.plugins_trac if kind is PackageType.PLUGIN else self.themes_trac


class DiscoveryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    svn: bool = Field(True, description="discover slugs from the SVN listings and log")
    plugins: list[str] = Field(default_factory=list, description="fixed plugin slugs to sync")
    themes: list[str] = Field(default_factory=list, description="fixed theme slugs to sync")

    def fixed(self, kind: PackageType) -> list[str]:
        return self.plugins if kind is PackageType.PLUGIN else self.themes


class Vendors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plugin: str = "wp-plugin"
    theme: str = "wp-theme"

    def for_type(self, kind: PackageType) -> str:
        return self.plugin if kind is PackageType.PLUGIN else self.theme


class RegistryConfig(BaseModel):
    """``registry.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    name: str = "WordPress.org Composer registry"
    vendors: Vendors = Field(default_factory=Vendors)
    upstream: UpstreamConfig = Field(default_factory=UpstreamConfig)
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    public_url: str | None = Field(None, description="where the built repository is served")
    notify_batch: str | None = Field(None, description="absolute notify-batch URL, if any")
    signing_keys: list[SigningKeyPin] = Field(
        default_factory=list,
        description="public keys ('ed25519:<base64>') whose signature of manifest.json "
        "`curator verify --against` accepts; several allow a key rotation",
    )
