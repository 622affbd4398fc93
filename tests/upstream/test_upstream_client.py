"""WporgClient over an injected httpx.MockTransport: field sets, classification, retries,
rate limits, concurrency and discovery. Sleeps are recorded, never slept."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest

from curator import __version__
from curator.layout import PackageType
from curator.models import UpstreamConfig
from curator.upstream import (
    PLUGIN_FIELDS,
    THEME_FIELDS,
    Changes,
    Closed,
    Failed,
    FailureKind,
    Found,
    NotFound,
    UpstreamError,
    WporgClient,
    retry_after_seconds,
)

P, T = PackageType.PLUGIN, PackageType.THEME
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "wporg"
BASE = "http://replay.test"
R = TypeVar("R")

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the real-world tests need ../shared beside the checkout")
    return path.read_bytes()


class Harness:
    """A client on a MockTransport, with every request and every sleep recorded."""

    def __init__(self, handler: Handler, **options: Any) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

        async def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            response = handler(request)
            if not isinstance(response, httpx.Response):
                response = await response
            return response

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        options.setdefault("rng", random.Random(7))
        self.client = WporgClient(
            UpstreamConfig.from_base(BASE),
            transport=httpx.MockTransport(record),
            sleep=sleep,
            **options,
        )

    def run(self, make: Callable[[WporgClient], Awaitable[R]]) -> R:
        async def go() -> R:
            async with self.client:
                return await make(self.client)

        return asyncio.run(go())

    def info(self, kind: PackageType, slug: str) -> Any:
        return self.run(lambda c: c.fetch_info(kind, slug))


def respond(status: int = 200, body: bytes = b"", **headers: str) -> httpx.Response:
    ctype = headers.pop("content_type", "application/json")
    return httpx.Response(
        status,
        content=body,
        headers={"content-type": ctype, **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


def sequence(*responses: httpx.Response | Exception) -> Handler:
    """Answer with each response in turn (an exception is raised); the last one repeats."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


DOLLY = "dd32-wporg-plugins-data__hello-dolly.json"


# --- the request -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [P, T])
def test_info_request_asks_for_the_explicit_field_set(kind: PackageType) -> None:
    h = Harness(lambda r: respond(404, b'{"error":"Plugin not found."}'))
    assert h.info(kind, "hello-dolly") == NotFound("Plugin not found.")
    [request] = h.requests
    assert request.method == "GET"
    assert request.url.path == f"/{kind.plural}/info/1.2/"
    pairs = parse_qsl(request.url.query.decode(), keep_blank_values=True)
    params = dict(pairs)
    assert len(params) == len(pairs)  # no key sent twice
    assert params.pop("action") == f"{kind.value}_information"
    assert params.pop("request[slug]") == "hello-dolly"
    fields: dict[str, str] = {}
    for key, value in params.items():
        match = re.fullmatch(r"request\[fields\]\[(\w+)\]", key)
        assert match is not None, key
        fields[match[1]] = value
    expected = PLUGIN_FIELDS if kind is P else THEME_FIELDS
    assert fields == {name: "1" if on else "0" for name, on in expected.items()}
    on = {name for name, v in fields.items() if v == "1"}
    off = {name for name, v in fields.items() if v == "0"}
    assert {"versions", "version", "name", "requires", "requires_php", "last_updated"} <= on
    assert {"download_link", "active_installs", "downloaded", "tags", "homepage"} <= on
    assert {"sections", "screenshots", "reviews", "ratings", "rating"} <= off
    if kind is P:
        assert {"tested", "stable_tag", "added", "requires_plugins", "short_description"} <= on
        assert {"description", "banners", "icons", "contributors", "compatibility"} <= off
        assert {"donate_link", "language_packs", "blocks", "block_assets", "upgrade_notice"} <= off
    else:
        assert {"description", "creation_time", "last_updated_time", "extended_author"} <= on
        assert {"screenshot_url", "parent", "template", "reviews_url"} <= off
    assert request.headers["user-agent"].startswith(f"wp-composer-curator/{__version__} (+")


def test_user_agent_can_be_overridden_and_slugs_are_quoted() -> None:
    h = Harness(lambda r: respond(404, b'{"error":"Invalid plugin slug."}'), user_agent="me/1.0")
    assert h.info(P, "odd slug&x=1") == NotFound("Invalid plugin slug.")
    [request] = h.requests
    assert request.headers["user-agent"] == "me/1.0"
    assert dict(parse_qsl(request.url.query.decode()))["request[slug]"] == "odd slug&x=1"


# --- classification ---------------------------------------------------------------------------


def test_found_from_a_real_record() -> None:
    h = Harness(
        lambda r: respond(200, fixture("dd32-wporg-plugins-data__wingipay-payment-gateway.json"))
    )
    result = h.info(P, "wingipay-payment-gateway")
    assert isinstance(result, Found)
    assert result.info.versions == []
    assert result.info.requires is False
    assert result.info.tags == []
    assert "sections" not in result.raw
    assert h.client.stats.results == {"found": 1}
    assert h.client.stats.requests == 1


def test_closed_not_found_and_theme_not_found() -> None:
    closed = fixture(
        "roots-wp-packages__plugin_information_1.2_closed_yalw_permanent_FROM_GO_TEST_STRING.json"
    )
    h = Harness(lambda r: respond(404, closed))
    result = h.info(P, "yalw")
    assert isinstance(result, Closed)
    assert (result.closure.date, result.closure.permanent) == ("2026-04-09", True)
    assert len(h.requests) == 1

    theme = fixture("server-source__theme_information_1.2_error_not_found_HTTP404.json")
    h = Harness(lambda r: respond(404, theme))
    assert h.info(T, "nope") == NotFound("Theme not found")
    assert len(h.requests) == 1  # a 404 is never retried
    assert h.sleeps == []


def test_html_body_is_retried_once_then_fails() -> None:
    page = b"<html><body>Briefly unavailable for scheduled maintenance.</body></html>"
    h = Harness(lambda r: respond(200, page, content_type="text/html; charset=UTF-8"))
    result = h.info(P, "akismet")
    assert result == Failed(
        "HTTP 200 with a non-JSON body (text/html) after 1 retry", FailureKind.MALFORMED
    )
    assert len(h.requests) == 2
    assert h.client.stats.failures == {"malformed": 1}


def test_truncated_body_then_good_body_is_found() -> None:
    body = fixture(DOLLY)
    h = Harness(sequence(respond(200, body[:1000]), respond(200, body)))
    result = h.info(P, "hello-dolly")
    assert isinstance(result, Found)
    assert result.info.stable_tag == "1.7.3"
    assert len(h.requests) == 2
    assert h.client.stats.retries == 1


def test_malformed_retries_can_be_switched_off() -> None:
    h = Harness(lambda r: respond(200, b'{"name": "x", "sl'), malformed_retries=0)
    result = h.info(P, "x")
    assert isinstance(result, Failed) and result.kind is FailureKind.MALFORMED
    assert "after" not in result.reason
    assert len(h.requests) == 1


def test_invalid_record_is_final() -> None:
    record = orjson.loads(fixture(DOLLY))
    record["versions"] = "1.0"
    h = Harness(lambda r: respond(200, orjson.dumps(record)))
    result = h.info(P, "hello-dolly")
    assert isinstance(result, Failed)
    assert result.reason.startswith("invalid field 'versions': ")
    assert len(h.requests) == 1


@pytest.mark.parametrize("status", [400, 403, 410])
def test_other_client_errors_are_not_retried(status: int) -> None:
    h = Harness(lambda r: respond(status, b"no"))
    assert h.info(P, "x") == Failed(f"HTTP {status}", FailureKind.HTTP_STATUS)
    assert len(h.requests) == 1


# --- retries ------------------------------------------------------------------------------------


def test_5xx_then_success() -> None:
    h = Harness(sequence(respond(503), respond(502), respond(200, fixture(DOLLY))))
    result = h.info(P, "hello-dolly")
    assert isinstance(result, Found)
    assert len(h.requests) == 3
    assert h.client.stats.retries == 2
    assert h.client.stats.errors == {"server_error": 2}
    # full jitter: uniform in [0, backoff * 2**(n-1)]
    assert len(h.sleeps) == 2
    assert 0 <= h.sleeps[0] <= 0.5
    assert 0 <= h.sleeps[1] <= 1.0


def test_timeout_and_connection_errors_then_success() -> None:
    h = Harness(
        sequence(
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            respond(200, fixture(DOLLY)),
        )
    )
    assert isinstance(h.info(P, "hello-dolly"), Found)
    assert h.client.stats.errors == {"timeout": 1, "connection": 1}


@pytest.mark.parametrize(
    ("failure", "reason", "kind"),
    [
        (respond(503), "HTTP 503 after 3 retries", FailureKind.SERVER_ERROR),
        (respond(500, b"<html>oops</html>"), "HTTP 500 after 3 retries", FailureKind.SERVER_ERROR),
        (httpx.ReadTimeout("slow"), "timeout after 3 retries", FailureKind.TIMEOUT),
        (httpx.ConnectTimeout("slow"), "timeout after 3 retries", FailureKind.TIMEOUT),
        (
            httpx.ConnectError("refused"),
            "connection error (ConnectError: refused) after 3 retries",
            FailureKind.CONNECTION,
        ),
    ],
)
def test_exhausted_retries_fail_naming_the_last_error(
    failure: httpx.Response | Exception, reason: str, kind: FailureKind
) -> None:
    h = Harness(sequence(failure))
    assert h.info(P, "x") == Failed(reason, kind)
    assert len(h.requests) == 4
    assert h.client.stats.failures == {kind.value: 1}
    assert h.client.stats.results == {"failed": 1}


def test_backoff_is_capped_by_max_backoff() -> None:
    h = Harness(sequence(respond(503)), retries=8, backoff=1.0, max_backoff=3.0)
    h.info(P, "x")
    assert len(h.sleeps) == 8
    assert all(0 <= s <= 3.0 for s in h.sleeps)


def test_429_honours_retry_after_seconds() -> None:
    h = Harness(sequence(respond(429, retry_after="7"), respond(200, fixture(DOLLY))))
    assert isinstance(h.info(P, "hello-dolly"), Found)
    assert h.sleeps == [7.0]
    assert h.client.stats.errors == {"rate_limited": 1}


def test_429_retry_after_http_date_is_capped() -> None:
    later = "Wed, 01 Jan 2200 00:00:00 GMT"
    h = Harness(
        sequence(respond(429, retry_after=later), respond(200, fixture(DOLLY))), max_backoff=12.5
    )
    assert isinstance(h.info(P, "hello-dolly"), Found)
    assert h.sleeps == [12.5]


def test_429_counts_against_retries() -> None:
    h = Harness(sequence(respond(429, retry_after="1")), retries=2)
    assert h.info(P, "x") == Failed("HTTP 429 after 2 retries", FailureKind.RATE_LIMITED)
    assert len(h.requests) == 3
    assert h.sleeps == [1.0, 1.0]


def test_429_without_retry_after_backs_off() -> None:
    h = Harness(sequence(respond(429), respond(200, fixture(DOLLY))))
    assert isinstance(h.info(P, "hello-dolly"), Found)
    assert len(h.sleeps) == 1 and 0 <= h.sleeps[0] <= 0.5


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(" 3 ") == 3.0
    assert retry_after_seconds("-5") == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("nan") is None
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == 30.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0.0


def test_a_bug_in_the_transport_becomes_a_failure_not_an_exception() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    h = Harness(broken)
    result = h.info(P, "x")
    assert result == Failed("internal error: RuntimeError: boom", FailureKind.INTERNAL)


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_concurrency_bound_is_respected(concurrency: int) -> None:
    body = fixture(DOLLY)
    state = {"now": 0, "max": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        for _ in range(5):
            await asyncio.sleep(0)
        state["now"] -= 1
        return respond(200, body)

    h = Harness(slow, concurrency=concurrency)
    results = h.run(lambda c: asyncio.gather(*(c.fetch_info(P, f"p{i}") for i in range(60))))
    assert all(isinstance(r, Found) for r in results)
    assert state["max"] == concurrency
    assert h.client.stats.requests == 60


# --- discovery ----------------------------------------------------------------------------------


def test_svn_listing_from_the_fixture() -> None:
    page = fixture("wpdirectory-wporg__plugins_list.html")
    h = Harness(lambda r: respond(200, page, content_type="text/html; charset=UTF-8"))
    listing = h.run(lambda c: c.svn_listing(P))
    assert listing.revision == 1902056
    assert listing.slugs == ["my-wp-health-check", "woocommerce", "wordpress-seo", "wordfence"]
    assert str(h.requests[0].url) == f"{BASE}/svn/plugins/"


def test_svn_listing_of_themes_goes_to_the_themes_repository() -> None:
    page = fixture("wpdirectory-wporg__themes_list.html")
    h = Harness(lambda r: respond(200, page, content_type="text/html"))
    assert h.run(lambda c: c.svn_listing(T)).revision == 95831
    assert str(h.requests[0].url) == f"{BASE}/svn/themes/"


def test_discovery_retries_then_raises_upstream_error_with_the_url() -> None:
    h = Harness(sequence(respond(503)))
    with pytest.raises(UpstreamError) as caught:
        h.run(lambda c: c.svn_listing(P))
    assert str(caught.value) == f"GET {BASE}/svn/plugins/: HTTP 503 after 3 retries"
    assert caught.value.url == f"{BASE}/svn/plugins/"
    assert len(h.requests) == 4


def test_discovery_404_raises_at_once() -> None:
    h = Harness(lambda r: respond(404, b"not here", content_type="text/plain"))
    with pytest.raises(UpstreamError, match=r"HTTP 404$"):
        h.run(lambda c: c.head_revision(T))
    assert len(h.requests) == 1


def test_discovery_of_a_page_that_is_not_a_listing() -> None:
    h = Harness(
        lambda r: respond(200, b"<html><body>Hello</body></html>", content_type="text/html")
    )
    with pytest.raises(UpstreamError, match=r"no 'Revision N'.* after 1 retry"):
        h.run(lambda c: c.svn_listing(P))
    assert len(h.requests) == 2
    assert h.client.stats.failures == {"malformed": 1}


def test_head_revision_from_the_fixture() -> None:
    text = fixture("wpdirectory-wporg__plugins_latest-revision.txt")
    h = Harness(lambda r: respond(200, text, content_type="text/plain"))
    assert h.run(lambda c: c.head_revision(P)) == 1902056
    url = h.requests[0].url
    assert url.path == "/trac/plugins/log/"
    assert dict(url.params) == {"format": "changelog", "limit": "1"}


class FakeTrac:
    """A Trac changelog over a synthetic history: revision r touches slug-(r % 7), and theme
    paths look like <slug>/<version>/...; ``cap`` limits entries per answer."""

    def __init__(self, head: int, *, cap: int | None = None, missing: frozenset[int] = frozenset()):
        self.head = head
        self.cap = cap
        self.missing = missing
        self.pages: list[tuple[int, int, int]] = []

    def entry(self, rev: int) -> str:
        slug = f"slug-{rev % 7}"
        return (
            f"Mon, 02 Jul 2018 10:00:00 GMT author{rev} [{rev}]\n"
            f"\t* {slug}/1.{rev} (added)\n\t* {slug}/1.{rev}/style.css (added)\n\n"
            f"\tNew version {rev}\n\n\n"
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        head = "#\n# ChangeLog for /\n#\n# Generated by Trac 1.2.2\n\n"
        if "rev" not in params:
            assert params == {"format": "changelog", "limit": "1"}
            return respond(200, (head + self.entry(self.head)).encode(), content_type="text/plain")
        assert params["verbose"] == "on" and params["format"] == "changelog"
        rev, stop, limit = int(params["rev"]), int(params["stop_rev"]), int(params["limit"])
        self.pages.append((rev, stop, limit))
        revs = [r for r in range(rev, stop - 1, -1) if r not in self.missing][:limit]
        if self.cap is not None:
            revs = revs[: self.cap]
        body = head + "".join(self.entry(r) for r in revs)
        return respond(200, body.encode(), content_type="text/plain")


def expected_changes(
    since: int, head: int, missing: frozenset[int] = frozenset()
) -> dict[str, int]:
    changed: dict[str, int] = {}
    for rev in range(since + 1, head + 1):
        if rev not in missing:
            changed[f"slug-{rev % 7}"] = rev
    return changed


def test_changed_since_paginates_from_head_down() -> None:
    trac = FakeTrac(head=125)
    h = Harness(trac, log_page_size=10)
    changes = h.run(lambda c: c.changed_since(T, 100))
    assert changes == Changes(head=125, slugs=expected_changes(100, 125))
    assert trac.pages == [(125, 116, 10), (115, 106, 10), (105, 101, 5)]
    assert str(h.requests[0].url).startswith(f"{BASE}/trac/themes/log/?")


def test_changed_since_survives_a_server_side_cap_and_gaps() -> None:
    missing = frozenset({110, 111, 112, 113, 114, 115, 116, 117})
    trac = FakeTrac(head=125, cap=4, missing=missing)
    h = Harness(trac, log_page_size=10)
    changes = h.run(lambda c: c.changed_since(P, 100))
    assert changes == Changes(head=125, slugs=expected_changes(100, 125, missing))
    assert trac.pages[0] == (125, 116, 10)
    assert trac.pages[1] == (121, 112, 10)  # continued below what the capped page returned


def test_changed_since_at_head_asks_only_for_the_head() -> None:
    trac = FakeTrac(head=125)
    h = Harness(trac)
    assert h.run(lambda c: c.changed_since(P, 125)) == Changes(head=125, slugs={})
    assert len(h.requests) == 1
    assert trac.pages == []


def test_changed_since_with_the_real_changelog_text() -> None:
    head = fixture("wpdirectory-wporg__plugins_latest-revision.txt")
    log = fixture("wpdirectory-wporg__plugins_changelog.txt")

    def handler(request: httpx.Request) -> httpx.Response:
        if "rev" in request.url.params:
            return respond(200, log, content_type="text/plain; charset=utf-8")
        return respond(200, head, content_type="text/plain")

    h = Harness(handler)
    changes = h.run(lambda c: c.changed_since(P, 1901051))
    assert changes.head == 1902056
    assert changes.slugs == {
        "yandex-money-checkout": 1901056,
        "amazify": 1901055,
        "businesspress": 1901053,
        "wp-quiz": 1901052,
    }


def test_changelog_page_that_is_not_a_changelog_raises() -> None:
    head = fixture("wpdirectory-wporg__plugins_latest-revision.txt")

    def handler(request: httpx.Request) -> httpx.Response:
        if "rev" in request.url.params:
            return respond(200, b"<html>Trac is down</html>", content_type="text/html")
        return respond(200, head, content_type="text/plain")

    h = Harness(handler)
    with pytest.raises(UpstreamError, match="not a Trac changelog after 1 retry"):
        h.run(lambda c: c.changed_since(P, 1902000))


def test_stats_snapshot() -> None:
    h = Harness(sequence(respond(503), respond(200, fixture(DOLLY))))
    h.info(P, "hello-dolly")
    assert h.client.stats.as_dict() == {
        "requests": 2,
        "retries": 1,
        "errors": {"server_error": 1},
        "failures": {},
        "results": {"found": 1},
    }


def test_invalid_options_are_rejected() -> None:
    config = UpstreamConfig.from_base(BASE)
    for bad in ({"concurrency": 0}, {"retries": -1}, {"log_page_size": 0}):
        with pytest.raises(ValueError):
            WporgClient(config, **bad)  # type: ignore[arg-type]
