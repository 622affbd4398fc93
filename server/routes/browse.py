"""``GET /``: the browse and search page (HTML, works without JavaScript)."""

from __future__ import annotations

from typing import Final

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from server.routes._common import first_values, page_url, searchable
from server.search import default_sort, parse_query
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
        # The page shows counts (a new count, a new page); sorted by them, its order is the
        # ranking's, which may be refreshed later than the counts.
        epoch = str(site.counts.epoch())
        ranking = site.counts.ranking() if query.sort == "downloads" else None
        order = "" if ranking is None else str(ranking.epoch)
        key = ("browse", query.q, query.type or "", query.sort, str(query.page), epoch, order)
        body = build.pages.get(key)
        if body is None:
            result = index.search(query, site.settings.per_page, ranking)
            names = [str(row["name"]) for row in result.rows]
            body = site.render(
                "browse.html",
                query=query,
                result=result,
                sorts=SORT_LABELS,
                selected_sort="" if query.sort == default_sort(query.q) else query.sort,
                installs=site.counts.totals(names),
                prev_url=page_url(query, query.page - 1) if query.page > 1 else None,
                next_url=page_url(query, query.page + 1) if query.page < result.pages else None,
            )
            build.pages.put(key, body)
        return html_response(body)
