"""``GET /``: the browse and search page (HTML, works without JavaScript).

Rendered pages are kept in the build's page cache, keyed on the query and the counts
generation (:class:`server.site.CountsGeneration`), so a stream of installs does not evict
them more often than every ``page_counts_refresh`` seconds; a new build has a new cache.
"""

from __future__ import annotations

from typing import Final

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from server.counts import Ranking
from server.routes._common import first_values, page_url, searchable
from server.search import SearchIndex, SearchQuery, default_sort, parse_query
from server.site import AnyRequest, Site, html_response

SORT_LABELS: Final = (
    ("", "Best match"),
    ("installs", "Active installs"),
    ("updated", "Recently updated"),
    ("name", "Name"),
    ("downloads", "Composer installs"),
)


class BrowseController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", sync_to_thread=False)
    def index(self, request: AnyRequest, site: NamedDependency[Site]) -> Response[bytes]:
        query = parse_query(
            first_values(request, "q", "type", "sort", "page"), max_page=site.settings.max_page
        )
        build, index = searchable(site)
        # Keyed on the counts generation, not the epoch: installs evict cached pages at most
        # every page_counts_refresh seconds (see CountsGeneration). A page shows the counts
        # of when it was made.
        generation = site.generation.current()
        key = ("browse", query.q, query.type or "", query.sort, str(query.page), str(generation))
        body = build.pages.get((*key, ""))
        if body is not None:
            return html_response(body)
        ranking = site.counts.ranking() if query.sort == "downloads" else None
        # Sorted by installs, a page is kept under the plain key only if its order is at least
        # as new as the generation; an older ranking (re-read at most every ranking_refresh
        # seconds) joins the key, so the page is made again once the ranking has caught up.
        order = "" if ranking is None or ranking.epoch >= generation else str(ranking.epoch)
        body = build.pages.get((*key, order)) if order else None
        if body is None:
            body = _render(site, index, query, ranking)
            build.pages.put((*key, order), body)
        return html_response(body)


def _render(site: Site, index: SearchIndex, query: SearchQuery, ranking: Ranking | None) -> bytes:
    result = index.search(query, site.settings.per_page, ranking)
    names = [str(row["name"]) for row in result.rows]
    return site.render(
        "browse.html",
        query=query,
        result=result,
        sorts=SORT_LABELS,
        selected_sort="" if query.sort == default_sort(query.q) else query.sort,
        installs=site.counts.totals(names),
        prev_url=page_url(query, query.page - 1) if query.page > 1 else None,
        next_url=page_url(query, query.page + 1) if query.page < result.pages else None,
    )
