"""The WordPress.org HTTP client: the only code in the curator that talks to WordPress.org.

:class:`WporgClient` asks for:

- package info (``plugins/info/1.2`` / ``themes/info/1.2``) with an explicit field set
  (:mod:`curator.upstream.fields`): the fields the curator stores on, the heavy defaults
  (sections, reviews, banners, screenshots, ...) off;
- the SVN root listings (every slug, streamed into an incremental parser);
- the Trac changelog (head revision, and every package changed since a revision).

Transport: one shared :class:`httpx.AsyncClient` (keep-alive, a pool sized to
``concurrency``; an injectable ``transport`` for tests) serves ``https://`` — the real
WordPress.org. Plain ``http://`` upstreams (the local replay) go through a small built-in
HTTP/1.1 keep-alive client (:mod:`curator.upstream._fasthttp`) unless ``fast_http=False``, a
``transport`` is injected or an HTTP proxy is configured: httpx costs 1-3 ms of CPU per
request on the CI machines, the built-in path about 0.1 ms, and a replay sync is bound by the
client's CPU (``bench/upstream_probe.py``). A semaphore bounds requests in flight on both.

Retries: timeouts, connection errors, 408 and 5xx are retried with exponential backoff and full
jitter (``uniform(0, min(max_backoff, backoff * 2**(n-1)))``); 429 (and 503) honour
``Retry-After`` (seconds or an HTTP date, capped at ``max_backoff``), and also count against
``retries``. A 404 or any other 4xx is final. A 200 whose body is not JSON or is truncated is
retried, but at most ``malformed_retries`` times (default once): truncation is usually
transient, while a body that is malformed every time should not cost a package the whole retry
budget. A well-formed answer that fails validation is final (it would fail the same way again).

Per-package problems never raise: :meth:`WporgClient.fetch_info` returns
:class:`~curator.upstream.results.Failed` naming the last error. Discovery calls raise
:class:`~curator.upstream.results.UpstreamError` when they finally fail.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime
import email.utils
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self, TypeVar
from urllib.request import getproxies

import httpx

from curator import __version__
from curator.layout import PackageType
from curator.models import UpstreamConfig
from curator.upstream._fasthttp import FastHTTP, HTTPProtocolError
from curator.upstream.fields import info_url
from curator.upstream.parse import (
    ParseError,
    SvnListingParser,
    changed_slugs,
    parse_info_response,
    parse_trac_changelog,
)
from curator.upstream.results import (
    Changes,
    Closed,
    Failed,
    FailureKind,
    Found,
    InfoResult,
    LogEntry,
    NotFound,
    SvnListing,
    UpstreamError,
)

__all__ = ["CONTACT", "ClientStats", "WporgClient", "default_user_agent", "retry_after_seconds"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Where WordPress.org admins can find out what this client is (sent in the User-Agent).
# PLACEHOLDER: set to the project's public home (or a contact address) once it has one.
CONTACT = "https://github.com/wp-composer-curator/wp-composer-curator"

_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504}) | frozenset(range(505, 600))


def default_user_agent() -> str:
    return f"wp-composer-curator/{__version__} (+{CONTACT})"


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": HTTP dates are UTC
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


@dataclass
class ClientStats:
    """Counters for the sync summary.

    ``requests``: HTTP requests sent; ``retries``: of those, repeats; ``errors``: every failed
    attempt by :class:`FailureKind` value (retried or final); ``failures``: final failures by
    kind (a package that ended :class:`Failed`, or discovery that raised); ``results``:
    fetch_info outcomes (found, closed, not_found, failed).
    """

    requests: int = 0
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "errors": dict(sorted(self.errors.items())),
            "failures": dict(sorted(self.failures.items())),
            "results": dict(sorted(self.results.items())),
        }


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes
    content_type: str | None
    retry_after: str | None


class _Again(Exception):
    """Raised by an attempt that may be repeated: what went wrong, how long the server asked
    to wait (``Retry-After``), and whether the body was malformed (a smaller budget)."""

    def __init__(
        self, failure: Failed, *, delay: float | None = None, malformed: bool = False
    ) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.delay = delay
        self.malformed = malformed


class _GiveUp(Exception):
    """Raised when an answer is final and unusable, or the retry budget is spent."""

    def __init__(self, failure: Failed) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _connection_failure(exc: BaseException) -> Failed:
    detail = " ".join(str(exc).split())
    detail = f": {detail[:100]}" if detail else ""
    return Failed(f"connection error ({type(exc).__name__}{detail})", FailureKind.CONNECTION)


class WporgClient:
    """Async client for the WordPress.org APIs, SVN listings and Trac logs.

    Use as ``async with WporgClient(config) as client: ...`` (or call :meth:`aclose`).

    - ``transport``: an httpx transport to use instead of the network (``httpx.MockTransport``
      in tests); injecting one turns the built-in plain-http path off unless ``fast_http=True``;
    - ``concurrency``: requests in flight at most (and the connection pool size);
    - ``timeout``: seconds for one whole request; ``retries``: repeats after the first try;
      ``backoff``/``max_backoff``: the jittered exponential delay and its cap (also the cap of
      a ``Retry-After``); ``malformed_retries``: repeats allowed for an unreadable 200 body;
    - ``user_agent``: replaces :func:`default_user_agent`;
    - ``sleep`` and ``rng``: injected so tests are instant and deterministic;
    - ``log_page_size``: revisions per Trac changelog request in :meth:`changed_since`;
    - ``fast_http``: None (auto: plain ``http://`` without a transport or proxy), True, False.

    :attr:`stats` counts requests, retries and failures for the sync summary.
    """

    def __init__(
        self,
        upstream: UpstreamConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 16,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        user_agent: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        malformed_retries: int = 1,
        log_page_size: int = 1000,
        fast_http: bool | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if retries < 0 or malformed_retries < 0:
            raise ValueError("retries must be >= 0")
        if log_page_size < 1:
            raise ValueError("log_page_size must be >= 1")
        self.upstream = upstream
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.malformed_retries = malformed_retries
        self.log_page_size = log_page_size
        self.user_agent = user_agent or default_user_agent()
        self.stats = ClientStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": self.user_agent},
            follow_redirects=True,
        )
        if fast_http is None:
            proxies = getproxies()
            fast_http = transport is None and "http" not in proxies and "all" not in proxies
        self._fast = (
            FastHTTP(
                timeout=timeout,
                max_idle=concurrency,
                headers={"User-Agent": self.user_agent, "Accept": "*/*"},
            )
            if fast_http
            else None
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._fast is not None:
            await self._fast.aclose()
        await self._client.aclose()

    # -----------------------------------------------------------------------------------------
    # package info

    async def fetch_info(self, kind: PackageType, slug: str) -> InfoResult:
        """What WordPress.org says about one package. Never raises for per-package problems."""
        url = info_url(self.upstream, kind, slug)

        async def attempt() -> InfoResult:
            got = self._check_transport(await self._get(url))
            result = parse_info_response(kind, got.status, got.body, content_type=got.content_type)
            if (
                isinstance(result, Failed)
                and result.kind is FailureKind.MALFORMED
                and got.status == 200
            ):
                raise _Again(result, malformed=True)
            if isinstance(result, Failed):
                self.stats.errors[result.kind.value] += 1
            return result

        result: InfoResult
        try:
            result = await self._run(attempt)
        except _GiveUp as gave_up:
            result = gave_up.failure
        except Exception as exc:  # a bug must not sink the whole run; it is logged in full
            log.exception("fetching %s %s failed unexpectedly", kind.value, slug)
            result = Failed(f"internal error: {type(exc).__name__}: {exc}", FailureKind.INTERNAL)
        self._count(result)
        return result

    def _count(self, result: InfoResult) -> None:
        if isinstance(result, Found):
            self.stats.results["found"] += 1
        elif isinstance(result, Closed):
            self.stats.results["closed"] += 1
        elif isinstance(result, NotFound):
            self.stats.results["not_found"] += 1
        else:
            self.stats.results["failed"] += 1
            self.stats.failures[result.kind.value] += 1

    # -----------------------------------------------------------------------------------------
    # discovery

    async def svn_listing(self, kind: PackageType) -> SvnListing:
        """Every slug in the SVN root of ``kind`` and the listing's revision."""
        url = f"{self.upstream.svn(kind)}/"

        async def attempt() -> SvnListing:
            parser = SvnListingParser()
            self._check_discovery(await self._get(url, feed=parser.feed))
            try:
                return parser.close()
            except ParseError as exc:
                raise _Again(Failed(str(exc), FailureKind.MALFORMED), malformed=True) from None

        return await self._discover(url, attempt)

    async def head_revision(self, kind: PackageType) -> int:
        """The newest revision of the ``kind`` SVN repository (from the Trac changelog)."""
        url = f"{self.upstream.trac(kind)}/log/?format=changelog&limit=1"
        entries = await self._discover(url, self._log_attempt(url, require_entries=True))
        return max(e.revision for e in entries)

    async def changed_since(self, kind: PackageType, revision: int) -> Changes:
        """Packages changed in revisions ``revision+1 .. head``, read in pages, newest first."""
        head = await self.head_revision(kind)
        slugs: dict[str, int] = {}
        floor = max(revision, 0) + 1
        newest = head
        while newest >= floor:
            oldest = max(floor, newest - self.log_page_size + 1)
            url = (
                f"{self.upstream.trac(kind)}/log/?verbose=on&format=changelog"
                f"&rev={newest}&stop_rev={oldest}&limit={newest - oldest + 1}"
            )
            entries = await self._discover(url, self._log_attempt(url, require_entries=False))
            page = [e for e in entries if oldest <= e.revision <= newest]
            for slug, rev in changed_slugs(page).items():
                if slugs.get(slug, -1) < rev:
                    slugs[slug] = rev
            seen = min((e.revision for e in page), default=oldest)
            # A page that stopped short (a server-side cap) continues below what it returned;
            # an empty remainder then ends the range.
            newest = seen - 1 if page and seen > oldest else oldest - 1
        return Changes(head, slugs)

    def _log_attempt(
        self, url: str, *, require_entries: bool
    ) -> Callable[[], Awaitable[list[LogEntry]]]:
        async def attempt() -> list[LogEntry]:
            got = self._check_discovery(await self._get(url))
            text = got.body.decode("utf-8", errors="replace")
            entries = parse_trac_changelog(text)
            if not entries and (require_entries or not text.lstrip().startswith("#")):
                what = "no changelog entries" if require_entries else "not a Trac changelog"
                raise _Again(Failed(what, FailureKind.MALFORMED), malformed=True)
            return entries

        return attempt

    def _check_discovery(self, got: _Response | Failed) -> _Response:
        """A discovery attempt's 200 response; anything else raises _Again or _GiveUp."""
        got = self._check_transport(got)
        if got.status != 200:
            raise _GiveUp(Failed(f"HTTP {got.status}", FailureKind.HTTP_STATUS))
        return got

    async def _discover(self, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._run(attempt)
        except _GiveUp as gave_up:
            failure = gave_up.failure
            self.stats.failures[failure.kind.value] += 1
            raise UpstreamError(f"GET {url}: {failure.reason}", url=url) from None

    # -----------------------------------------------------------------------------------------
    # transport and retries

    async def _get(
        self, url: str, *, feed: Callable[[str], None] | None = None
    ) -> _Response | Failed:
        """One GET under the concurrency bound; transport errors become :class:`Failed`.

        With ``feed``, a 200 body is decoded as UTF-8 and streamed into it as text instead of
        being returned. Plain ``http://`` goes through the fast path when it is enabled.
        """
        decoder = codecs.getincrementaldecoder("utf-8")("replace") if feed is not None else None
        async with self._semaphore:
            self.stats.requests += 1
            if self._fast is not None and url.startswith("http://"):
                return await self._get_fast(self._fast, url, feed, decoder)
            try:
                if feed is None or decoder is None:
                    response = await self._client.get(url)
                    return _Response(
                        response.status_code,
                        response.content,
                        response.headers.get("content-type"),
                        response.headers.get("retry-after"),
                    )
                async with self._client.stream("GET", url) as response:
                    body = b""
                    if response.status_code == 200:
                        async for chunk in response.aiter_bytes():
                            feed(decoder.decode(chunk))
                        feed(decoder.decode(b"", True))
                    else:
                        body = await response.aread()
                    return _Response(
                        response.status_code,
                        body,
                        response.headers.get("content-type"),
                        response.headers.get("retry-after"),
                    )
            except httpx.TimeoutException:
                return Failed("timeout", FailureKind.TIMEOUT)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                return _connection_failure(exc)

    @staticmethod
    async def _get_fast(
        fast: FastHTTP,
        url: str,
        feed: Callable[[str], None] | None,
        decoder: codecs.IncrementalDecoder | None,
    ) -> _Response | Failed:
        on_body = None
        if feed is not None and decoder is not None:
            dec = decoder

            def on_body(chunk: bytes) -> None:
                feed(dec.decode(chunk))

        try:
            response = await fast.get(url, on_body=on_body)
        except TimeoutError:
            return Failed("timeout", FailureKind.TIMEOUT)
        except (OSError, HTTPProtocolError) as exc:
            return _connection_failure(exc)
        if feed is not None and decoder is not None and response.status == 200:
            feed(decoder.decode(b"", True))
        headers = response.headers
        return _Response(
            response.status, response.body, headers.get("content-type"), headers.get("retry-after")
        )

    def _check_transport(self, got: _Response | Failed) -> _Response:
        """Raise _Again for a transport error or a retryable status; else the response."""
        if isinstance(got, Failed):
            raise _Again(got)
        if got.status not in _RETRY_STATUSES:
            return got
        kind = FailureKind.RATE_LIMITED if got.status == 429 else FailureKind.SERVER_ERROR
        if got.status == 408:
            kind = FailureKind.TIMEOUT
        delay = None
        if got.status in (429, 503):
            wait = retry_after_seconds(got.retry_after)
            if wait is not None:
                delay = min(wait, self.max_backoff)
        raise _Again(Failed(f"HTTP {got.status}", kind), delay=delay)

    def _backoff_delay(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(max_backoff, backoff * 2**(retry-1))]."""
        cap = min(self.max_backoff, self.backoff * (2 ** (retry - 1)))
        return self._rng.uniform(0.0, cap)

    async def _run(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it returns, raising :class:`_GiveUp` when it cannot.

        ``_Again`` from the attempt is retried while the budget lasts (``retries``; for
        malformed bodies also ``malformed_retries``); the final failure says how many retries
        were made.
        """
        retries = 0
        malformed = 0
        while True:
            try:
                return await attempt()
            except _Again as again:
                failure = again.failure
                self.stats.errors[failure.kind.value] += 1
                if retries >= self.retries or (
                    again.malformed and malformed >= self.malformed_retries
                ):
                    if retries:
                        noun = "retry" if retries == 1 else "retries"
                        failure = Failed(f"{failure.reason} after {retries} {noun}", failure.kind)
                    raise _GiveUp(failure) from None
                delay = again.delay
                was_malformed = again.malformed
            except _GiveUp as gave_up:
                self.stats.errors[gave_up.failure.kind.value] += 1
                raise
            retries += 1
            malformed += was_malformed
            self.stats.retries += 1
            wait = delay if delay is not None else self._backoff_delay(retries)
            log.debug("retry %d in %.2fs after %s", retries, wait, failure.reason)
            await self._sleep(wait)
