"""What every request handler shares: settings, the build reader, counts and templates.

One :class:`Site` is made by the app factory and injected into handlers as ``site``; there
is no module-level state. It also owns HTML rendering (Jinja2, autoescaped) and the
response helpers that add the security headers every page carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2
from litestar import Request, Response
from litestar.datastructures import State
from litestar.enums import MediaType

from server.build_reader import BuildReader
from server.counts import Counts
from server.settings import ServerSettings

AnyRequest = Request[Any, Any, State]

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"

HTML_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: "—" if n is None else f"{int(n):,}"
    env.filters["day"] = lambda s: "—" if not s else str(s)[:10]
    return env


@dataclass
class Site:
    settings: ServerSettings
    reader: BuildReader
    counts: Counts
    templates: jinja2.Environment

    def render(self, template: str, **context: Any) -> bytes:
        context.setdefault("site_name", self.settings.site_name)
        return self.templates.get_template(template).render(**context).encode()


def html_response(body: bytes, status_code: int = 200) -> Response[bytes]:
    return Response(
        content=body, status_code=status_code, media_type=MediaType.HTML, headers=HTML_HEADERS
    )
