"""``POST /downloads`` through Litestar's test client: counting, what pages and the API show
afterwards, sorting by installs, the page cache, the in-process rollup, and every kind of bad
input (never a 5xx)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock

from curator.storage.local import LocalStorage
from server.app import create_app
from server.runtime import schema
from server.settings import ServerSettings
from server.site import Site
from server.telemetry.store import TelemetryStore

Client = TestClient[Any]
HOUR = 3600


def notify(*entries: tuple[str, str]) -> dict[str, Any]:
    return {"downloads": [{"name": n, "version": v} for n, v in entries]}


def page_installs(html: str) -> tuple[int, int]:
    """(all-time, last 30 days) Composer installs on a package page."""
    found = re.findall(r"<dt>Composer installs[^<]*</dt><dd>([\d,]+)</dd>", html)
    assert len(found) == 2, html
    return int(found[0].replace(",", "")), int(found[1].replace(",", ""))


def make_client(
    storage: LocalStorage, clock: FakeClock, database_url: str | None = None, **options: Any
) -> Client:
    settings = ServerSettings(
        storage=storage.root,
        public_url="https://repo.example.org",
        database_url=database_url,
        ranking_refresh=0,
        page_counts_refresh=0,  # counts on browse pages at once (test_page_cache_counts.py)
        **options,
    )
    return TestClient(create_app(settings, clock=clock))


@pytest.fixture
def tclient(
    storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, database_url: str
) -> Iterator[Client]:
    """A client of an app whose runtime database is SQLite or PostgreSQL, over a build."""
    make_build()
    with make_client(storage, clock, database_url) as client:
        yield client


@pytest.fixture
def sclient(storage: LocalStorage, make_build: BuildMaker, clock: FakeClock) -> Iterator[Client]:
    """The same on the default SQLite database (bad-input tests)."""
    make_build()
    with make_client(storage, clock) as client:
        yield client


def store_of(client: Client) -> TelemetryStore:
    store: TelemetryStore = client.app.state["telemetry"]
    return store


def test_an_install_shows_on_pages_and_api_once_per_client(
    tclient: Client, clock: FakeClock
) -> None:
    detail = "/packages/wp-plugin/akismet"
    api = "/api/packages/wp-plugin/akismet"
    assert page_installs(tclient.get(detail).text) == (0, 0)
    r = tclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0")))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"accepted": 1, "duplicates": 0, "ignored": 0}
    assert page_installs(tclient.get(detail).text) == (1, 1)
    data = tclient.get(api).json()
    assert data["composer_installs"] == 1 and data["composer_installs_30_days"] == 1
    assert data["monthly_installs"][-1] == {"month": "2026-03", "installs": 1}
    # the same client again, pretty version or normalised: not counted again within 24 h
    again = tclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1")))
    assert again.json() == {"accepted": 0, "duplicates": 1, "ignored": 0}
    clock.advance(23 * HOUR + 59 * 60)
    assert (
        tclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0"))).json()[
            "duplicates"
        ]
        == 1
    )
    assert page_installs(tclient.get(detail).text) == (1, 1)
    assert "1 install in the last 12 months." in tclient.get(detail).text
    assert tclient.get(api).json()["composer_installs"] == 1
    # another client counts (what POST /downloads does for a request from 198.51.100.2)
    assert store_of(tclient).record("198.51.100.2", [("wp-plugin/akismet", "5.3.1.0")]) == (1, 0)
    assert page_installs(tclient.get(detail).text) == (2, 2)
    # 24h01 after the first install, the first client counts again
    clock.advance(2 * 60)
    assert (
        tclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0"))).json()["accepted"]
        == 1
    )
    assert page_installs(tclient.get(detail).text) == (3, 3)
    assert tclient.get(api).json()["composer_installs"] == 3
    html = tclient.get(detail).text
    assert "3 installs in the last 12 months." in html and "<title>2026-03: 3</title>" in html


def test_composer_batch_with_unknown_entries(tclient: Client) -> None:
    body = {
        "downloads": [
            {"name": "wp-plugin/akismet", "version": "5.3.1.0", "downloaded": False},
            {"name": "wp-plugin/contact-form-7", "version": "5.9.3.0"},
            {"name": "wp-theme/twentytwentyfour", "version": "1.1"},
            {"name": "wp-plugin/akismet", "version": "0.0.1.0"},  # unknown version
            {"name": "wp-plugin/no-such-plugin", "version": "1.0.0.0"},  # unknown package
            {"name": "not a name", "version": "1.0"},
            {"name": "wp-plugin/akismet", "version": "dev-nope"},
        ]
    }
    r = tclient.post(
        "/downloads", content=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200
    assert r.json() == {"accepted": 3, "duplicates": 0, "ignored": 4}
    totals = tclient.get("/api/packages", params={"sort": "downloads"}).json()["results"]
    counted = {p["name"]: p["composer_installs"] for p in totals if p["composer_installs"]}
    assert counted == {
        "wp-plugin/akismet": 1,
        "wp-plugin/contact-form-7": 1,
        "wp-theme/twentytwentyfour": 1,
    }
    assert tclient.get("/api/packages/wp-plugin/no-such-plugin").status_code == 404


def test_sort_by_composer_installs(tclient: Client) -> None:
    store = store_of(tclient)
    for n in range(3):
        store.record(f"198.51.100.{n}", [("wp-plugin/legacy-seo", "2.0.0.0")])
    store.record("198.51.100.9", [("wp-plugin/old-gallery", "1.2.0.0")])
    order = [p["name"] for p in tclient.get("/api/packages?sort=downloads").json()["results"]]
    assert order[:2] == ["wp-plugin/legacy-seo", "wp-plugin/old-gallery"]
    assert order[2:] == sorted(order[2:])  # no installs: by name
    html = tclient.get("/?sort=downloads").text
    shown = re.findall(r'<h2><a href="/packages/([^"]+)">', html)
    assert shown[:2] == ["wp-plugin/legacy-seo", "wp-plugin/old-gallery"]
    assert "3 Composer installs" in html
    # a search sorted by installs
    plugins = tclient.get("/api/packages?sort=downloads&q=gallery").json()["results"]
    assert [p["name"] for p in plugins] == ["wp-plugin/old-gallery"]
    # the order follows new installs
    for n in range(4):
        tclient.post(
            "/downloads",
            json=notify(("wp-theme/twentytwentyfour", "1.0")),
            headers={"X-Forwarded-For": f"203.0.113.{n}"},  # ignored: not from a proxy
        )
    store.record("198.51.100.10", [("wp-theme/twentytwentyfour", "1.0")])
    first = tclient.get("/api/packages?sort=downloads").json()["results"][0]
    assert first["name"] == "wp-plugin/legacy-seo"
    for n in range(3):
        store.record(f"198.51.101.{n}", [("wp-theme/twentytwentyfour", "1.1")])
    first = tclient.get("/api/packages?sort=downloads").json()["results"][0]
    assert (first["name"], first["composer_installs"]) == ("wp-theme/twentytwentyfour", 5)


def test_pages_stay_cached_between_installs(sclient: Client) -> None:
    site: Site = sclient.app.state["site"]
    build = site.reader.current()
    sclient.get("/packages/wp-plugin/akismet")
    sclient.get("/")
    cached = len(build.pages)
    for _ in range(3):
        assert page_installs(sclient.get("/packages/wp-plugin/akismet").text) == (0, 0)
        sclient.get("/")
    assert len(build.pages) == cached  # served from the cache
    sclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0")))
    assert page_installs(sclient.get("/packages/wp-plugin/akismet").text) == (1, 1)
    assert "1 Composer install<" in sclient.get("/").text
    assert len(build.pages) == cached + 2
    sclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0")))  # a duplicate
    sclient.get("/packages/wp-plugin/akismet")
    assert len(build.pages) == cached + 2


def test_in_process_rollup(
    storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, database_url: str
) -> None:
    make_build()
    with make_client(storage, clock, database_url, rollup_interval=0.05) as client:
        r = client.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0")))
        assert r.json()["accepted"] == 1
        engine = store_of(client).engine
        deadline = time.monotonic() + 10
        while True:
            with engine.connect() as conn:
                left = conn.execute(sa.select(sa.func.count()).select_from(schema.events))
                rolled = conn.execute(sa.select(schema.totals.c.installs)).scalars().all()
            if left.scalar() == 0 and rolled == [1]:
                break
            assert time.monotonic() < deadline, "the scheduler did not roll up"
            time.sleep(0.05)
        assert client.get("/api/packages/wp-plugin/akismet").json()["composer_installs"] == 1
        assert page_installs(client.get("/packages/wp-plugin/akismet").text) == (1, 1)
        assert client.app.state["scheduler"].runs >= 1


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b'{"downloads": [{"name": "wp-plugin/akismet", "version": "5.3.1.0"}', "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"null", "must be a JSON object"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"download": []}', "no 'downloads' list"),
        (b'{"downloads": "wp-plugin/akismet"}', "'downloads' must be a list"),
        (b'{"downloads": {"name": "wp-plugin/akismet"}}', "'downloads' must be a list"),
        (b'{"downloads": ["wp-plugin/akismet"]}', "downloads[0] must be an object"),
        (b'{"downloads": [{"name": 1, "version": "5.3.1.0"}]}', "downloads[0].name"),
        (b'{"downloads": [{"name": "wp-plugin/akismet"}]}', "downloads[0].version"),
        (
            b'{"downloads": [{"name": "wp-plugin/akismet", "version": ["5.3.1.0"]}]}',
            "downloads[0].version must be a string",
        ),
    ],
)
def test_bad_bodies_are_400_with_a_message(sclient: Client, body: bytes, message: str) -> None:
    r = sclient.post("/downloads", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["status"] == 400 and message in data["detail"]


def test_too_many_entries(sclient: Client) -> None:
    entries = [("wp-plugin/akismet", "5.3.1.0")] * 101
    r = sclient.post("/downloads", json=notify(*entries))
    assert r.status_code == 400 and "at most 100" in r.json()["detail"]
    assert sclient.post("/downloads", json=notify(*entries[:100])).json() == {
        "accepted": 1,
        "duplicates": 99,
        "ignored": 0,
    }


def test_ten_thousand_entries(
    sclient: Client, storage: LocalStorage, clock: FakeClock, make_build: BuildMaker
) -> None:
    body = notify(*[(f"wp-plugin/p{i}", "1.0.0.0") for i in range(10_000)])
    r = sclient.post("/downloads", json=body)
    assert r.status_code == 413  # over the 64 KiB body cap first
    assert r.json()["detail"] == "The body is larger than 65536 bytes."
    # with a body cap that lets it through, the entry cap answers
    with make_client(storage, clock, telemetry_max_body=2**20) as big:
        r = big.post("/downloads", json=body)
        assert r.status_code == 400
        assert r.json()["detail"] == "'downloads' has 10000 entries; at most 100"


def test_huge_bodies_are_413(sclient: Client) -> None:
    huge = b'{"downloads": [' + b" " * (1 << 20) + b"]}"
    r = sclient.post("/downloads", content=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["status"] == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        yield b'{"downloads": ['
        for _ in range(100):
            yield b" " * 1024
        yield b"]}"

    json_type = {"Content-Type": "application/json"}
    r = sclient.post("/downloads", content=chunks(), headers=json_type)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    fits = b'{"downloads": [' + b" " * (65536 - 17) + b"]}"
    assert len(fits) == 65536
    assert sclient.post("/downloads", content=fits, headers=json_type).json()["accepted"] == 0


def test_wrong_method_and_no_build(sclient: Client, storage: LocalStorage) -> None:
    r = sclient.get("/downloads")
    assert r.status_code == 405 and r.headers["content-type"] == "application/json"
    storage.current_link.unlink()
    r = sclient.post("/downloads", json=notify(("wp-plugin/akismet", "5.3.1.0")))
    assert r.status_code == 503 and r.headers["content-type"] == "application/json"


def test_openapi_documents_the_route(sclient: Client) -> None:
    paths = sclient.get("/schema/openapi.json").json()["paths"]
    assert "post" in paths["/downloads"]


def test_cached_pages_follow_a_late_ranking(
    storage: LocalStorage, make_build: BuildMaker, clock: FakeClock
) -> None:
    """The order of ``sort=downloads`` is refreshed at most every ``ranking_refresh``
    seconds; a page cached with an older order is not served once a newer one exists."""
    make_build()
    settings = ServerSettings(storage=storage.root, ranking_refresh=0.5, page_counts_refresh=0)
    with TestClient(create_app(settings, clock=clock)) as client:
        before = re.findall(
            r'<h2><a href="/packages/([^"]+)">', client.get("/?sort=downloads").text
        )
        assert before[0] != "wp-plugin/legacy-seo"
        client.post("/downloads", json=notify(("wp-plugin/legacy-seo", "2.0.0.0")))
        html = client.get("/?sort=downloads").text  # new counts at once, maybe the old order
        assert "1 Composer install<" in html
        time.sleep(0.6)
        after = re.findall(r'<h2><a href="/packages/([^"]+)">', client.get("/?sort=downloads").text)
        assert after[0] == "wp-plugin/legacy-seo"
