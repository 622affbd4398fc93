"""Error answers: HTML pages for people, JSON for the API and repository files.

Every failure is a real status code (400, 404, 405, 413, 415, 503, 500), never a 200 page. Which
form is answered depends on the path: ``/api/``, ``/p2/``, ``/health``, ``/schema``,
``/downloads`` and ``*.json`` get JSON; everything else gets the HTML error page. A 500
never shows a traceback.
"""

from __future__ import annotations

import logging
from typing import Final

from litestar import Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException

from server.build_reader import NoBuildError
from server.search import QueryError
from server.site import HTML_HEADERS, AnyRequest, Site

log = logging.getLogger("server")

_TITLES: Final = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    500: "Server error",
    503: "Service unavailable",
}


class NotFound(HTTPException):
    status_code = 404


class BadRequest(HTTPException):
    status_code = 400


class Unavailable(HTTPException):
    status_code = 503


def wants_json(path: str) -> bool:
    return (
        path.startswith(("/api/", "/p2/", "/schema", "/health", "/downloads"))
        or path.endswith(".json")
        or path == "/api"
    )


def error_response(request: AnyRequest, status: int, message: str) -> Response[object]:
    title = _TITLES.get(status, "Error")
    if wants_json(request.url.path):
        return Response(
            content={"status": status, "error": title, "detail": message},
            status_code=status,
            media_type=MediaType.JSON,
        )
    site: Site = request.app.state["site"]
    body = site.render("error.html", title=title, message=message)
    return Response(
        content=body, status_code=status, media_type=MediaType.HTML, headers=HTML_HEADERS
    )


def http_error(request: AnyRequest, exc: HTTPException) -> Response[object]:
    status = exc.status_code
    if status == 404:
        message = exc.detail if isinstance(exc, NotFound) else "There is nothing at this address."
    elif status == 400:
        message = (
            exc.detail if isinstance(exc, BadRequest) else "The request parameters are not valid."
        )
    elif status == 405:
        message = "This address does not accept that method."
    else:
        message = exc.detail or _TITLES.get(status, "Error")
    response = error_response(request, status, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def query_error(request: AnyRequest, exc: QueryError) -> Response[object]:
    return error_response(request, 400, str(exc))


def no_build(request: AnyRequest, exc: NoBuildError) -> Response[object]:
    return error_response(request, 503, "No package data is being served right now.")


def server_error(request: AnyRequest, exc: Exception) -> Response[object]:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(request, 500, "Something went wrong on our side.")
