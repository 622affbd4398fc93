"""HTML pages: browse/search, package detail, errors, injection and traversal attempts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient
from server_helpers import BuildMaker

Client = TestClient[Any]


def names_on(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/packages/([^"]+)">', html)


def test_browse_defaults_to_active_installs(client: Client, make_build: BuildMaker) -> None:
    make_build()
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert names_on(r.text)[:3] == [
        "wp-plugin/akismet",
        "wp-plugin/contact-form-7",
        "wp-theme/twentytwentyfour",
    ]
    assert '<label for="q">' in r.text and "<h1>" in r.text
    # an unknown active-install count is left out, not shown as "— active installs"
    assert "6,000,000 active installs" in r.text and "— active install" not in r.text
    assert "0 Composer installs</p>" in r.text


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("contactform7", "wp-plugin/contact-form-7"),
        ("contact-form-7", "wp-plugin/contact-form-7"),
        ("Contact Fo", "wp-plugin/contact-form-7"),
        ("spam protec", "wp-plugin/akismet"),
        ("akismet", "wp-plugin/akismet"),
        ("twenty", "wp-theme/twentytwentyfour"),
    ],
)
def test_search_finds_by_prefix(
    client: Client, make_build: BuildMaker, q: str, expected: str
) -> None:
    make_build()
    r = client.get("/", params={"q": q})
    assert r.status_code == 200
    assert names_on(r.text)[0] == expected


def test_filter_and_sorts(client: Client, make_build: BuildMaker) -> None:
    make_build()
    themes = names_on(client.get("/", params={"type": "theme"}).text)
    assert themes == ["wp-theme/twentytwentyfour"]
    by_name = names_on(client.get("/", params={"sort": "name"}).text)
    assert by_name[0] == "wp-plugin/akismet" and by_name[-1] == "wp-theme/twentytwentyfour"
    updated = names_on(client.get("/", params={"sort": "updated"}).text)
    assert updated[0] == "wp-plugin/contact-form-7"
    downloads = [names_on(client.get("/", params={"sort": "downloads"}).text) for _ in range(2)]
    assert downloads[0] == downloads[1] == sorted(downloads[0])


def test_pagination_has_stable_urls(storage: Any, make_build: BuildMaker) -> None:
    from server.app import create_app
    from server.settings import ServerSettings

    make_build()
    with TestClient(create_app(ServerSettings(storage=storage.root, per_page=2))) as c:
        first = c.get("/", params={"type": "plugin", "sort": "name"})
        assert 'href="/?type=plugin&amp;sort=name&amp;page=2"' in first.text
        second = c.get("/?type=plugin&sort=name&page=2")
        assert 'rel="prev" href="/?type=plugin&amp;sort=name"' in second.text
        assert set(names_on(first.text)).isdisjoint(names_on(second.text))
        beyond = c.get("/?page=40")
        assert beyond.status_code == 200 and names_on(beyond.text) == []


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1.5",
        "page=99999999",
        "type=plugins",
        "sort=random",
        "sort=name;DROP TABLE packages",
        "q=" + "x" * 201,
    ],
)
def test_bad_parameters_are_400_pages(client: Client, make_build: BuildMaker, query: str) -> None:
    make_build()
    r = client.get(f"/?{query}")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "Bad request" in r.text


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "*",
        "NEAR(",
        "akismet OR",
        "a AND NOT b",
        "'; DROP TABLE packages; --",
        '" OR 1=1 --',
        "col:akismet",
        "^akismet",
        "(((",
        "-",
        "ünïcödé",
    ],
)
def test_fts_syntax_in_queries_is_harmless(client: Client, make_build: BuildMaker, q: str) -> None:
    make_build()
    r = client.get("/", params={"q": q})
    assert r.status_code == 200
    api = client.get("/api/packages", params={"q": q})
    assert api.status_code == 200
    # the table survived
    assert client.get("/", params={"q": "akismet"}).status_code == 200


def test_html_in_search_terms_is_escaped(client: Client, make_build: BuildMaker) -> None:
    make_build()
    r = client.get("/", params={"q": '<script>alert("x")</script>'})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text


def test_html_in_package_data_is_escaped(client: Client, make_build: BuildMaker) -> None:
    make_build()
    r = client.get("/packages/wp-plugin/html-name")
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "Fancy &amp; Bold – Forms" in r.text


def test_package_page(client: Client, make_build: BuildMaker) -> None:
    make_build()
    r = client.get("/packages/wp-plugin/contact-form-7")
    assert r.status_code == 200
    text = r.text
    assert "composer require wp-plugin/contact-form-7" in text
    assert "https://repo.example.org" in text
    for version in ("5.9.3", "5.9.2", "5.9", "5.8.7"):
        assert f"<code>{version}</code>" in text
    assert "&gt;=7.4" in text  # PHP requirement per version
    assert "https://wordpress.org/plugins/contact-form-7/" in text
    assert "<svg" in text and "No Composer installs recorded yet." in text
    assert "Requires WordPress</dt><dd>6.0" in text


def test_closed_and_abandoned_banners(client: Client, make_build: BuildMaker) -> None:
    make_build()
    closed = client.get("/packages/wp-plugin/old-gallery").text
    assert "Closed on WordPress.org" in closed and "Security Issue" in closed
    legacy = client.get("/packages/wp-plugin/legacy-seo").text
    assert "Abandoned." in legacy and 'href="/packages/wp-plugin/akismet"' in legacy
    assert "Replaced by the maintained fork" in legacy and "trustee-anna" in legacy


@pytest.mark.parametrize(
    "path",
    [
        "/packages/wp-plugin/nope",
        "/packages/wp-plugin/Akismet",
        "/packages/wp-plugin/..%2F..%2Fetc%2Fpasswd",
        "/packages/..%2F..%2Fetc/passwd",
        "/packages/wp-plugin/%2e%2e",
        "/packages/wp-plugin/a%00b",
        "/packages/wp-plugin/akismet/extra",
        "/packages/wp-plugin",
        "/no/such/page",
    ],
)
def test_unknown_or_invalid_packages_are_404_pages(
    client: Client, make_build: BuildMaker, path: str
) -> None:
    make_build()
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text


def test_no_build_is_503(client: Client) -> None:
    r = client.get("/")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")


def test_missing_search_index_is_503_but_files_are_served(
    client: Client, make_build: BuildMaker
) -> None:
    make_build(search=False)
    assert client.get("/").status_code == 503
    assert client.get("/api/packages").status_code == 503
    assert client.get("/p2/wp-plugin/akismet.json").status_code == 200


def test_build_switch_is_picked_up_without_restart(
    client: Client, make_build: BuildMaker, storage: Any
) -> None:
    from server_helpers import sample_rows

    first = make_build(label="one")
    assert "wp-plugin/akismet" in names_on(client.get("/").text)
    assert client.get("/packages/wp-plugin/akismet").status_code == 200
    fewer = [r for r in sample_rows() if r.slug != "akismet"]
    make_build(fewer, label="two", time=1_800_000_000)
    assert "wp-plugin/akismet" not in names_on(client.get("/").text)
    assert client.get("/packages/wp-plugin/akismet").status_code == 404
    storage.rollback(first)
    assert client.get("/packages/wp-plugin/akismet").status_code == 200


def test_static_css(client: Client) -> None:
    r = client.get("/static/site.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
