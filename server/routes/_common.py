"""Helpers shared by the controllers: the current build's search index, names, query dicts."""

from __future__ import annotations

from urllib.parse import urlencode

from curator.build.text import is_package_name
from server.build_reader import Build
from server.errors import NotFound, Unavailable
from server.search import SearchIndex, SearchQuery
from server.site import AnyRequest, Site


def searchable(site: Site) -> tuple[Build, SearchIndex]:
    """The promoted build and its search index; 503 when the index is missing."""
    build = site.reader.current()
    if build.search is None:
        raise Unavailable(detail="The search index of the current build is not available.")
    return build, build.search


def package_name(vendor: str, slug: str) -> str:
    """``vendor/slug`` if it passes Composer's name rule, else a 404 (before any lookup)."""
    name = f"{vendor}/{slug}"
    if len(name) > 255 or not is_package_name(name):
        raise NotFound(detail=f"There is no package named {name[:120]!r}.")
    return name


def first_values(request: AnyRequest, *keys: str) -> dict[str, str | None]:
    """The first value of each query parameter in ``keys`` (None when absent)."""
    params = request.query_params
    return {key: params.get(key) for key in keys}


def page_url(query: SearchQuery, page: int, path: str = "/") -> str:
    params = query.params(page)
    return f"{path}?{urlencode(params)}" if params else path
