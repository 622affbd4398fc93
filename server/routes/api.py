"""The JSON API: ``GET /api/packages`` (search) and ``GET /api/packages/{vendor}/{slug}``.

Same data and parameters as the HTML pages. The OpenAPI document Litestar generates is at
``/schema/openapi.json`` (and ``.yaml``); the server serves no HTML viewer of it (they load
third-party scripts, see :mod:`server.app`): open the URL in any OpenAPI viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from server.counts import MonthCount
from server.errors import NotFound
from server.routes._common import package_name, searchable
from server.search import SORTS, TYPES, parse_query
from server.site import Site


@dataclass(frozen=True)
class PackageSummary:
    name: str
    type: str
    slug: str
    title: str
    description: str
    status: str
    abandoned: str | None
    version: str | None
    active_installs: int | None
    last_updated: str | None
    composer_installs: int
    url: str


@dataclass(frozen=True)
class SearchResult:
    q: str
    type: str | None
    sort: str
    page: int
    per_page: int
    pages: int
    total: int
    results: list[PackageSummary]


@dataclass(frozen=True)
class VersionInfo:
    version: str
    version_normalized: str | None
    time: str | None
    require: dict[str, str]


@dataclass(frozen=True)
class OverrideInfo:
    scope: str | None
    field: str | None
    reason: str | None
    author: str | None
    date: str | None


@dataclass(frozen=True)
class PackageDetail:
    name: str
    type: str
    slug: str
    title: str
    description: str
    author: str
    status: str
    closure_reason: str | None
    closed_date: str | None
    abandoned: str | None
    version: str | None
    requires_wp: str | None
    tested: str | None
    requires_php: str | None
    active_installs: int | None
    last_updated: str | None
    homepage: str | None
    wporg_url: str
    composer_require: str
    composer_installs: int
    composer_installs_30_days: int
    monthly_installs: list[MonthCount]
    versions: list[VersionInfo]
    overrides: list[OverrideInfo]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _version(v: dict[str, Any]) -> VersionInfo:
    require = v.get("require")
    return VersionInfo(
        version=str(v.get("version")),
        version_normalized=_str_or_none(v.get("version_normalized")),
        time=_str_or_none(v.get("time")),
        require={str(k): str(c) for k, c in require.items()} if isinstance(require, dict) else {},
    )


def _override(o: dict[str, Any]) -> OverrideInfo:
    return OverrideInfo(
        **{k: _str_or_none(o.get(k)) for k in ("scope", "field", "reason", "author", "date")}
    )


class ApiController(Controller):
    path = "/api/packages"
    tags = ("packages",)

    @get("/", sync_to_thread=False, summary="Search packages")
    def search(
        self,
        site: NamedDependency[Site],
        q: Annotated[str | None, Parameter(description="words to find (prefix match)")] = None,
        type: Annotated[str | None, Parameter(description=f"one of {', '.join(TYPES)}")] = None,
        sort: Annotated[str | None, Parameter(description=f"one of {', '.join(SORTS)}")] = None,
        page: Annotated[str | None, Parameter(description="page number, from 1")] = None,
    ) -> SearchResult:
        query = parse_query(
            {"q": q, "type": type, "sort": sort, "page": page}, max_page=site.settings.max_page
        )
        _, index = searchable(site)
        ranking = site.counts.ranking() if query.sort == "downloads" else None
        result = index.search(query, site.settings.per_page, ranking)
        installs = site.counts.totals([str(r["name"]) for r in result.rows])
        return SearchResult(
            q=query.q,
            type=query.type,
            sort=query.sort,
            page=query.page,
            per_page=result.per_page,
            pages=result.pages,
            total=result.total,
            results=[
                PackageSummary(
                    **row,
                    composer_installs=installs.get(str(row["name"]), 0),
                    url=f"/packages/{row['name']}",
                )
                for row in result.rows
            ],
        )

    @get("/{vendor:str}/{slug:str}", sync_to_thread=False, summary="One package")
    def detail(
        self, site: NamedDependency[Site], vendor: FromPath[str], slug: FromPath[str]
    ) -> PackageDetail:
        name = package_name(vendor, slug)
        _, index = searchable(site)
        pkg = index.package(name)
        if pkg is None:
            raise NotFound(detail=f"There is no package named {name!r} in this registry.")
        versions = [_version(v) for v in pkg.pop("versions")]
        overrides = [_override(o) for o in pkg.pop("overrides")]
        return PackageDetail(
            **pkg,
            composer_require=f"composer require {name}",
            composer_installs=site.counts.total(name),
            composer_installs_30_days=site.counts.recent(name, 30),
            monthly_installs=site.counts.monthly(name, 12),
            versions=versions,
            overrides=overrides,
        )
