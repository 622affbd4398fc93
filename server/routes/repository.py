"""The Composer repository files of the promoted build: ``/packages.json``, ``/list.json``,
``/p2/{vendor}/{file}``.

In production a CDN serves these; the server serves them too so one machine works end to
end. Names are validated (Composer's name rule) before any path is built, so nothing outside
``p2/`` can be named. Validators: ``ETag`` is the file's sha256 from the manifest,
``Last-Modified`` is when the current build was promoted (see :mod:`server.build_reader`);
``If-None-Match`` wins over ``If-Modified-Since`` (RFC 9110).
"""

from __future__ import annotations

import email.utils
from typing import Final

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath

from curator.build.text import is_package_name, is_vendor_name
from server.build_reader import Build
from server.errors import NotFound
from server.site import AnyRequest, Site

CACHE_CONTROL: Final = "public, max-age=60"


def _not_modified(request: AnyRequest, etag: str | None, modified: int) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        if etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = request.headers.get("if-modified-since")
    if ims is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(ims)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        return False
    return modified <= int(since.timestamp())


def serve_file(request: AnyRequest, build: Build, rel: str) -> Response[bytes]:
    """``rel`` (already validated) of ``build`` with validators, or a 404."""
    etag = build.etag(rel)
    if etag is None:  # not part of the build: never look at the disk
        raise NotFound(detail=f"/{rel} is not in this repository.")
    modified = int(build.promoted_at)
    headers = {
        "ETag": etag,
        "Last-Modified": email.utils.formatdate(modified, usegmt=True),
        "Cache-Control": CACHE_CONTROL,
    }
    if _not_modified(request, etag, modified):
        return Response(content=b"", status_code=304, headers=headers)
    try:
        data = (build.path / rel).read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(detail=f"/{rel} is not in this repository.") from exc
    return Response(content=data, media_type=MediaType.JSON, headers=headers)


class RepositoryController(Controller):
    path = "/"
    include_in_schema = False

    @get("/packages.json", sync_to_thread=False)
    def packages_json(self, request: AnyRequest, site: NamedDependency[Site]) -> Response[bytes]:
        return serve_file(request, site.reader.current(), "packages.json")

    @get("/list.json", sync_to_thread=False)
    def list_json(self, request: AnyRequest, site: NamedDependency[Site]) -> Response[bytes]:
        return serve_file(request, site.reader.current(), "list.json")

    @get("/p2/{vendor:str}/{file:str}", sync_to_thread=False)
    def p2(
        self,
        request: AnyRequest,
        site: NamedDependency[Site],
        vendor: FromPath[str],
        file: FromPath[str],
    ) -> Response[bytes]:
        stem = file.removesuffix(".json")
        slug = stem.removesuffix("~dev")
        if (
            stem == file
            or not is_vendor_name(vendor)
            or not is_package_name(f"{vendor}/{slug}")
            or len(file) > 260
        ):
            raise NotFound(detail="There is no such package file.")
        return serve_file(request, site.reader.current(), f"p2/{vendor}/{file}")
