"""``POST /downloads``: Composer's notify-batch (the ``notify-batch`` URL of packages.json).

Bad input never causes a 5xx: a body over ``telemetry_max_body`` bytes is answered 413, one
that is not a notify-batch document (malformed JSON, wrong types, too many entries) 400, both
with a JSON message. A request whose ``Content-Type`` is not ``application/json`` (what
Composer sends) is answered 415 before its body is read: a web page can make its visitors'
browsers send text/plain, form or untyped POSTs to any site without a CORS preflight, and
would otherwise inflate install counts with every visitor's address. Entries naming an
unknown package or a version the promoted build does not publish are ignored and counted as
such in the answer::

    {"accepted": 2, "duplicates": 1, "ignored": 0}

``accepted`` installs were counted; ``duplicates`` were already counted for this client in
the last 24 hours (see :mod:`server.telemetry.store`).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException

from server.errors import BadRequest
from server.routes._common import searchable
from server.site import AnyRequest, Site
from server.telemetry.clientip import TrustedProxies, client_ip
from server.telemetry.payload import PayloadError, parse_notify_batch
from server.telemetry.resolve import resolve
from server.telemetry.writer import BatchWriter


class PayloadTooLarge(HTTPException):
    status_code = 413


class UnsupportedMediaType(HTTPException):
    status_code = 415


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` value is ``application/json`` (parameters allowed)."""
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


@dataclass(frozen=True)
class NotifyResult:
    accepted: int
    duplicates: int
    ignored: int


async def read_body(request: AnyRequest, limit: int) -> bytes:
    """The request body, or :class:`PayloadTooLarge` as soon as it exceeds ``limit`` bytes."""
    too_large = PayloadTooLarge(detail=f"The body is larger than {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class TelemetryController(Controller):
    path = "/downloads"
    tags = ("telemetry",)

    @post(
        "/",
        status_code=200,
        summary="Report installs (Composer notify-batch)",
        description='Body: `{"downloads": [{"name": "wp-plugin/akismet", "version": '
        '"5.3.1.0"}]}`, as Composer sends it to the `notify-batch` URL.',
    )
    async def notify(
        self,
        request: AnyRequest,
        site: NamedDependency[Site],
        telemetry_writer: NamedDependency[BatchWriter],
        trusted_proxies: NamedDependency[TrustedProxies],
    ) -> NotifyResult:
        settings = site.settings
        if not is_json(request.headers.get("content-type")):
            raise UnsupportedMediaType(detail="The body must be sent as application/json.")
        body = await read_body(request, settings.telemetry_max_body)
        try:
            downloads = parse_notify_batch(body, max_entries=settings.telemetry_max_entries)
        except PayloadError as exc:
            raise BadRequest(detail=str(exc)) from None
        _, index = searchable(site)
        ip = client_ip(
            request.client.host if request.client else None,
            request.headers.getall("x-forwarded-for", []),
            trusted_proxies,
        )
        resolved = resolve(downloads, index.versions)  # per-build cached lookups
        result = await telemetry_writer.record(ip, resolved.installs)
        return NotifyResult(result.accepted, result.duplicate, resolved.ignored)
