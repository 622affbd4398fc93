"""Browse and search pages stay cached under install traffic (the real app, the default SQLite
runtime database): installs evict them at most every ``page_counts_refresh`` seconds of the
injected monotonic clock, the page then shows the new counts, and promoting another build
(or rolling back) serves fresh pages at once. Hits and misses are the page cache's own
counters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock, sample_rows

from curator.storage.local import LocalStorage
from server.app import create_app
from server.build_reader import PageCache
from server.settings import ServerSettings
from server.site import CountsGeneration, Site
from server.telemetry.store import TelemetryStore

Client = TestClient[Any]
INTERVAL = 60.0
THEME = "wp-theme/twentytwentyfour"
PAGES = ("/", "/?q=akismet", "/?type=theme", "/?sort=name&page=1", "/?sort=downloads")


@pytest.fixture
def ticks() -> FakeClock:
    """The app's monotonic clock (seconds)."""
    return FakeClock(1_000.0)


def make_client(
    storage: LocalStorage, clock: FakeClock, ticks: FakeClock, **options: Any
) -> Client:
    settings = ServerSettings(storage=storage.root, page_counts_refresh=INTERVAL, **options)
    return TestClient(create_app(settings, clock=clock, monotonic=ticks))


@pytest.fixture
def client(
    storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, ticks: FakeClock
) -> Iterator[Client]:
    make_build()
    with make_client(storage, clock, ticks) as test_client:
        yield test_client


def cache(client: Client) -> PageCache:
    site: Site = client.app.state["site"]
    return site.reader.current().pages


def store(client: Client) -> TelemetryStore:
    found: TelemetryStore = client.app.state["telemetry"]
    return found


def shown(html: str) -> dict[str, int]:
    """Composer installs per listed package, in the page's order."""
    rows = re.findall(
        r'<h2><a href="/packages/([^"]+)">.*? ([\d,]+) Composer installs?</p>', html, re.S
    )
    assert rows, html
    return {name: int(n.replace(",", "")) for name, n in rows}


def burst(client: Client, count: int) -> None:
    """``count`` counted installs of the theme from as many clients (what ``POST
    /downloads`` records), then one notify-batch of two more packages."""
    for n in range(count):
        assert store(client).record(f"198.51.100.{n}", [(THEME, "1.1")]) == (1, 0)
    body = {
        "downloads": [
            {"name": "wp-plugin/akismet", "version": "5.3.1"},
            {"name": "wp-plugin/contact-form-7", "version": "5.9.3"},
        ]
    }
    assert client.post("/downloads", json=body).json()["accepted"] == 2


def test_a_burst_of_installs_does_not_evict_cached_pages(client: Client) -> None:
    pages = cache(client)
    first = {path: client.get(path).text for path in PAGES}
    assert (pages.hits, pages.misses) == (0, len(PAGES))
    assert shown(first["/"])[THEME] == 0
    for n in range(30):
        assert store(client).record(f"198.51.100.{n}", [(THEME, "1.1")]) == (1, 0)
        for path in PAGES:
            assert client.get(path).text == first[path]
    burst_body = {"downloads": [{"name": "wp-plugin/akismet", "version": "5.3.1"}]}
    assert client.post("/downloads", json=burst_body).json()["accepted"] == 1
    for path in PAGES:
        assert client.get(path).text == first[path]
    assert (pages.hits, pages.misses) == (31 * len(PAGES), len(PAGES))
    # the installs were counted (the package page, keyed on the epoch, shows them at once)
    assert client.get(f"/api/packages/{THEME}").json()["composer_installs"] == 30
    assert len(pages) == len(PAGES)


def test_after_the_interval_pages_show_the_new_counts(client: Client, ticks: FakeClock) -> None:
    pages = cache(client)
    assert shown(client.get("/").text)[THEME] == 0
    burst(client, 5)
    ticks.advance(INTERVAL - 0.001)
    assert shown(client.get("/").text)[THEME] == 0  # still the cached page
    assert (pages.hits, pages.misses) == (1, 1)
    ticks.advance(0.001)
    counts = shown(client.get("/").text)
    assert (counts[THEME], counts["wp-plugin/akismet"], counts["wp-plugin/contact-form-7"]) == (
        5,
        1,
        1,
    )
    assert (pages.hits, pages.misses) == (1, 2)
    order = list(shown(client.get("/?sort=downloads").text))
    assert order[0] == THEME
    # a quiet interval later the next install shows at once
    ticks.advance(INTERVAL)
    assert shown(client.get("/").text)[THEME] == 5
    assert (pages.hits, pages.misses) == (2, 3)
    assert store(client).record("203.0.113.1", [(THEME, "1.0")]) == (1, 0)
    assert shown(client.get("/").text)[THEME] == 6
    assert pages.misses == 4
    # ... and the next ones wait for the interval again
    assert store(client).record("203.0.113.2", [(THEME, "1.0")]) == (1, 0)
    assert shown(client.get("/").text)[THEME] == 6
    ticks.advance(INTERVAL)
    assert shown(client.get("/").text)[THEME] == 7


def test_promoting_another_build_or_rolling_back_serves_fresh_pages_at_once(
    client: Client, make_build: BuildMaker, storage: LocalStorage
) -> None:
    first_build = storage.current()
    assert first_build is not None
    old = cache(client)
    assert "wp-plugin/akismet" in shown(client.get("/").text)
    burst(client, 3)
    assert shown(client.get("/").text)[THEME] == 0  # cached, within the interval
    make_build([r for r in sample_rows() if r.slug != "akismet"], label="b2")
    listed = shown(client.get("/").text)  # the clock has not moved
    assert "wp-plugin/akismet" not in listed and listed[THEME] == 3  # made now: counts now
    new = cache(client)
    assert new is not old and (new.hits, new.misses) == (0, 1)
    assert store(client).record("203.0.113.9", [(THEME, "1.0")]) == (1, 0)
    storage.promote(first_build)  # a rollback
    listed = shown(client.get("/").text)
    assert "wp-plugin/akismet" in listed and listed[THEME] == 4
    assert (cache(client).hits, cache(client).misses) == (0, 1)


def test_the_order_by_installs_waits_for_a_ranking_as_new_as_the_generation(
    storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, ticks: FakeClock
) -> None:
    """With a ranking re-read less often than the generation moves, a page sorted by
    installs shows new counts in the old order only until the ranking catches up."""
    make_build()
    with make_client(storage, clock, ticks, ranking_refresh=3 * INTERVAL) as client:
        pages = cache(client)
        before = list(shown(client.get("/?sort=downloads").text))
        assert before[0] != THEME
        for n in range(3):
            store(client).record(f"198.51.100.{n}", [(THEME, "1.1")])
        ticks.advance(INTERVAL)
        late = shown(client.get("/?sort=downloads").text)
        assert list(late) == before and late[THEME] == 3  # new counts, the old order
        assert client.get("/?sort=downloads").text == client.get("/?sort=downloads").text
        misses = pages.misses
        ticks.advance(2 * INTERVAL)
        caught_up = list(shown(client.get("/?sort=downloads").text))
        assert caught_up[0] == THEME
        assert pages.misses == misses + 1
        hits = pages.hits
        assert list(shown(client.get("/?sort=downloads").text)) == caught_up
        assert pages.hits == hits + 1


# --- the generation on its own --------------------------------------------------------------


class Epochs:
    """An epoch source that counts how often it is asked."""

    def __init__(self) -> None:
        self.value = 0
        self.asked = 0

    def __call__(self) -> int:
        self.asked += 1
        return self.value


def test_the_generation_moves_at_most_once_per_interval() -> None:
    epochs, ticks = Epochs(), FakeClock(0.0)
    generation = CountsGeneration(epochs, 10.0, monotonic=ticks)
    assert generation.current() == 0 and epochs.asked == 1
    epochs.value = 1
    ticks.advance(9.9)
    assert generation.current() == 0 and epochs.asked == 1  # within the interval: not asked
    ticks.advance(0.1)
    assert generation.current() == 1
    epochs.value = 5
    ticks.advance(9)
    assert generation.current() == 1
    ticks.advance(1)
    assert generation.current() == 5
    ticks.advance(100)  # quiet: asked on every call, the first change is taken at once
    assert generation.current() == 5 and generation.current() == 5
    asked = epochs.asked
    epochs.value = 6
    assert generation.current() == 6 and epochs.asked == asked + 1


def test_interval_zero_follows_the_epoch_and_a_negative_one_is_refused() -> None:
    epochs = Epochs()
    generation = CountsGeneration(epochs, 0.0, monotonic=FakeClock(0.0))
    for value in (0, 1, 2):
        epochs.value = value
        assert generation.current() == value
    with pytest.raises(ValueError, match="must not be negative"):
        CountsGeneration(epochs, -1.0)
