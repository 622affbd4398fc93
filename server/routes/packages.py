"""``GET /packages/{vendor}/{slug}``: one package's page (versions, banners, overrides)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from curator.build.text import is_package_name
from server.admin.web import is_https
from server.counts import MonthCount
from server.errors import NotFound
from server.routes._common import package_name, searchable
from server.site import AnyRequest, Site, html_response
from server.telemetry.clientip import TrustedProxies

CHART_MONTHS: Final = 12
RECENT_DAYS: Final = 30
_CHART_W: Final = 480
_CHART_H: Final = 120


@dataclass(frozen=True)
class Bar:
    month: str
    installs: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    total: int


def make_chart(months: list[MonthCount]) -> Chart:
    """Bar geometry of a monthly installs chart (an inline SVG, no JavaScript)."""
    top = max((m.installs for m in months), default=0)
    slot = _CHART_W / max(1, len(months))
    bars = []
    for i, m in enumerate(months):
        h = 0.0 if top == 0 else round(m.installs / top * (_CHART_H - 5), 1)
        bars.append(Bar(m.month, m.installs, round(i * slot + 2, 1), _CHART_H - h, slot - 4, h))
    return Chart(_CHART_W, _CHART_H, bars, sum(m.installs for m in months))


def version_rows(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for v in versions:
        require = v.get("require") if isinstance(v.get("require"), dict) else {}
        assert isinstance(require, dict)
        other = ", ".join(f"{k} {c}" for k, c in sorted(require.items()) if k != "php")
        rows.append(
            {
                "version": v.get("version"),
                "time": v.get("time"),
                "php": require.get("php"),
                "other": other,
            }
        )
    return rows


def repository_url(site: Site, request: AnyRequest, trusted: TrustedProxies) -> str:
    """The repository URL of the setup snippet: ``public_url``, or the request's base URL,
    made ``https`` when a trusted proxy says the client came over HTTPS (the rule of the
    admin cookies, :func:`server.admin.web.is_https`; anyone else's header is ignored)."""
    if site.settings.public_url:
        return site.settings.public_url.rstrip("/")
    base = request.base_url
    if base.scheme == "http" and is_https(request, trusted):
        base = base.with_replacements(scheme="https")
    return str(base).rstrip("/")


class PackagesController(Controller):
    path = "/packages"
    include_in_schema = False

    @get("/{vendor:str}/{slug:str}", sync_to_thread=False)
    def detail(
        self,
        request: AnyRequest,
        site: NamedDependency[Site],
        trusted_proxies: NamedDependency[TrustedProxies],
        vendor: FromPath[str],
        slug: FromPath[str],
    ) -> Response[bytes]:
        name = package_name(vendor, slug)
        build, index = searchable(site)
        repo_url = repository_url(site, request, trusted_proxies)
        key = ("package", name, repo_url, str(site.counts.epoch()))
        body = build.pages.get(key)
        if body is None:
            pkg = index.package(name)
            if pkg is None:
                raise NotFound(detail=f"There is no package named {name!r} in this registry.")
            abandoned = pkg.get("abandoned")
            replacement = (
                abandoned if isinstance(abandoned, str) and is_package_name(abandoned) else None
            )
            pkg["versions"] = version_rows(pkg["versions"])
            body = site.render(
                "package.html",
                pkg=pkg,
                replacement=replacement,
                repo_url=repo_url,
                installs=site.counts.total(name),
                recent_installs=site.counts.recent(name, RECENT_DAYS),
                recent_days=RECENT_DAYS,
                chart=make_chart(site.counts.monthly(name, CHART_MONTHS)),
            )
            build.pages.put(key, body)
        return html_response(body)
