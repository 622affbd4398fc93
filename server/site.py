"""What every request handler shares: settings, the build reader, counts and templates.

One :class:`Site` is made by the app factory and injected into handlers as ``site``; there
is no module-level state. It also owns HTML rendering (Jinja2, autoescaped), the response
helpers that add the security headers every page carries, and the :class:`CountsGeneration`
that cached browse and search pages are keyed on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


class CountsGeneration:
    """The counts epoch as cached pages see it: it follows ``epoch()`` (any change of any
    count) but moves at most once every ``interval`` seconds of ``monotonic``.

    Installs arrive continuously, and each one changes the epoch; keyed on the epoch itself,
    no cached page would survive until its next request. Keyed on the generation, a page is
    made again at most once per ``interval``, and still never shows counts more than
    ``interval`` seconds older than the epoch it could have shown: a page made under
    generation ``g`` holds the counts of when it was made (at least ``g``), and the
    generation takes the next epoch at the first question once ``interval`` has passed since
    it took ``g``. The first change after a quiet ``interval`` is therefore taken at once.
    Within ``interval`` of taking an epoch it does not even ask for the epoch.

    Builds are not its business: every build has its own page cache (a promotion or rollback
    starts with an empty one).
    """

    def __init__(
        self,
        epoch: Callable[[], int],
        interval: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0:
            raise ValueError("the counts generation interval must not be negative")
        self._epoch = epoch
        self._interval = interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: int | None = None
        self._taken = -float("inf")  # when ``_value`` was taken (monotonic seconds)

    def current(self) -> int:
        """The epoch that cached pages are keyed on now."""
        now = self._monotonic()
        with self._lock:
            if self._value is not None and now - self._taken < self._interval:
                return self._value
        epoch = self._epoch()
        with self._lock:
            due = now - self._taken >= self._interval
            if self._value is None or (epoch != self._value and due):
                self._value, self._taken = epoch, now
            return self._value


@dataclass
class Site:
    settings: ServerSettings
    reader: BuildReader
    counts: Counts
    templates: jinja2.Environment
    generation: CountsGeneration

    def render(self, template: str, **context: Any) -> bytes:
        context.setdefault("site_name", self.settings.site_name)
        return self.templates.get_template(template).render(**context).encode()


def html_response(body: bytes, status_code: int = 200) -> Response[bytes]:
    return Response(
        content=body, status_code=status_code, media_type=MediaType.HTML, headers=HTML_HEADERS
    )
