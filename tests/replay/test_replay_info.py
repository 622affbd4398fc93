"""The info APIs through real HTTP: field selection, error shapes, closed bodies, URL rewriting."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest
from replay_helpers import fixture_path, info

from curator.replay import ReplayServer, ReplayState
from curator.replay.api import PLUGIN_DEFAULTS_12, PLUGIN_FIELD_KEYS

OFF_BY_DEFAULT = {
    "compatibility",
    "description",
    "downloaded",
    "icons",
    "short_description",
    "stable_tag",
    "blocks",
    "block_assets",
    "author_block_count",
    "author_block_rating",
    "language_packs",
    "blueprints",
}


def test_default_plugin_fields_match_a_real_capture() -> None:
    """dd32's all-fields record of woocommerce, served with the 1.2 defaults, has exactly the
    keys of a real 1.2 default-fields capture of woocommerce (bh-wp-plugin-updater)."""
    full = json.loads(fixture_path("dd32-wporg-plugins-data__woocommerce.json").read_text())
    capture = json.loads(
        fixture_path(
            "bh-wp-plugin-updater__plugin_information_1.2_woocommerce_9.0.2.json"
        ).read_text()
    )
    with (
        ReplayServer(ReplayState({"woocommerce": full})) as srv,
        httpx.Client(base_url=srv.base_url) as c,
    ):
        body = info(c, "woocommerce").json()
    assert set(body) == set(capture)
    assert list(body) == [k for k in full if k in body]  # record order kept
    assert "reviews" in body["sections"]


def test_field_flags_cover_the_documented_default_set() -> None:
    off = {name for name in PLUGIN_FIELD_KEYS if name not in PLUGIN_DEFAULTS_12}
    assert off == OFF_BY_DEFAULT


def test_plugin_field_selection(client: httpx.Client) -> None:
    default = info(client, "akismet").json()
    assert OFF_BY_DEFAULT.isdisjoint(default)
    assert {"versions", "sections", "banners", "active_installs", "contributors"} <= set(default)

    on = info(
        client, "akismet", **{"request[fields][icons]": "1", "request[fields][stable_tag]": "1"}
    ).json()
    assert on["stable_tag"] == "5.3.2" and "icons" in on

    off = info(
        client,
        "akismet",
        **{"request[fields][versions]": "0", "request[fields][sections]": "0"},
    ).json()
    assert "versions" not in off and "sections" not in off and "name" in off

    reviews_off = info(client, "akismet", **{"request[fields][reviews]": "0"}).json()
    assert "reviews" not in reviews_off["sections"] and "description" in reviews_off["sections"]

    # list style, "-name" switches off, unknown names are ignored
    listed = client.get(
        "/plugins/info/1.2/?action=plugin_information&request[slug]=akismet"
        "&request[fields][]=downloaded&request[fields][]=-versions&request[fields][]=bogus"
    ).json()
    assert "downloaded" in listed and "versions" not in listed
    # comma-separated string
    comma = info(client, "akismet", **{"request[fields]": "short_description,-tags"}).json()
    assert "short_description" in comma and "tags" not in comma
    # PHP truthiness: "0" and "" are off, anything else (even "false") is on
    php = info(client, "akismet", **{"request[fields][icons]": "false"}).json()
    assert "icons" in php


def test_only_keys_present_in_the_record_are_sent(client: httpx.Client) -> None:
    body = info(client, "grid-gallery-lite", **{"request[fields][stable_tag]": "1"}).json()
    assert body["versions"] == [] and body["stable_tag"] == "trunk"
    assert body["requires"] is False and body["requires_php"] is False and body["tags"] == []


def test_theme_field_selection(client: httpx.Client) -> None:
    body = info(client, "twentytwentyfour", kind="theme").json()
    assert "versions" not in body and "ratings" not in body and "active_installs" not in body
    assert body["author"]["user_nicename"] == "wordpressdotorg"
    assert {"download_link", "sections", "last_updated_time", "num_ratings"} <= set(body)

    with_versions = info(
        client,
        "twentytwentyfour",
        kind="theme",
        **{
            "request[fields][versions]": "1",
            "request[fields][extended_author]": "0",
            "request[fields][rating]": "0",
            "request[fields][sections]": "0",
            "request[fields][description]": "1",
        },
    ).json()
    assert set(with_versions["versions"]) == {"1.0", "1.1"}
    assert with_versions["author"] == "wordpressdotorg"
    assert "rating" not in with_versions and "num_ratings" not in with_versions
    assert "sections" not in with_versions
    assert with_versions["description"].startswith("Twenty Twenty-Four is designed")

    listed = client.get(
        "/themes/info/1.2/?action=theme_information&request[slug]=northwind-blocks"
        "&request[fields][]=versions"
    ).json()
    assert "versions" in listed and listed["template"] == "twentytwentyfour"


def test_error_shapes(client: httpx.Client) -> None:
    missing = info(client, "no-such-plugin")
    assert (missing.status_code, missing.content) == (404, b'{"error":"Plugin not found."}')
    for bad in ("Akismet", "a b", "../etc", "", "akismet.php"):
        invalid = info(client, bad)
        assert (invalid.status_code, invalid.content) == (404, b'{"error":"Invalid plugin slug."}')
    theme = info(client, "no-such-theme", kind="theme")
    assert (theme.status_code, theme.content) == (404, b'{"error":"Theme not found"}')
    blank = info(client, "  ", kind="theme")
    assert (blank.status_code, blank.json()) == (200, {"error": "Slug not provided"})
    action = client.get("/plugins/info/1.2/", params={"action": "query_plugins"})
    assert action.status_code == 400 and action.json() == {"error": "Action not implemented"}
    assert client.get("/plugins/info/1.2/").status_code == 400
    assert missing.headers["content-type"].startswith("application/json")
    for path in (
        "/nope",
        "/trac/plugins/log/extra",
        "/svn/plugins/akismet/",
        "/plugins/info/1.1/",
    ):
        assert client.get(path).status_code == 404
    assert client.post("/plugins/info/1.2/").status_code == 405


def test_closed_plugins(client: httpx.Client) -> None:
    permanent = info(client, "old-closed-gallery")
    assert permanent.status_code == 404
    body = permanent.json()
    assert list(body) == [
        "error", "name", "slug", "description", "closed", "closed_date", "reason", "reason_text",
    ]  # fmt: skip
    assert body["error"] == "closed" and body["closed"] is True
    assert body["description"] == (
        "This plugin has been closed as of February 12, 2024 and is not available for download."
        " This closure is permanent. Reason: Author Request."
    )
    security = info(client, "insecure-uploader").json()
    assert security["reason"] == "security-issue" and security["reason_text"] == "Security Issue"
    assert "permanent" not in security["description"]


def test_closed_body_is_served_byte_for_byte() -> None:
    raw = fixture_path(
        "roots-wp-packages__plugin_information_1.2_closed_yalw_permanent_FROM_GO_TEST_STRING.json"
    ).read_bytes()
    record = orjson.loads(raw)
    with (
        ReplayServer(ReplayState({"yalw": record})) as srv,
        httpx.Client(base_url=srv.base_url) as c,
    ):
        response = info(c, "yalw")
    assert response.status_code == 404 and response.content == raw.strip()


def test_download_urls_are_rewritten(server: ReplayServer, client: httpx.Client) -> None:
    body = info(client, "hosting-speed-tuner").json()
    base = f"{server.base_url}/downloads/"
    assert body["download_link"] == f"{base}plugin/hosting-speed-tuner.3.1.0.zip"
    assert body["versions"]["2.0.3\r"] == f"{base}plugin/hosting-speed-tuner.2.0.3\r.zip"
    assert all(v.startswith(base) for v in body["versions"].values())
    # the stored record is untouched
    stored = server.state.plugins["hosting-speed-tuner"]
    assert stored["download_link"].startswith("https://downloads.wordpress.org/plugin/")
    # the Host header decides the base when no public base is configured
    other = client.get(
        "/plugins/info/1.2/",
        params={"action": "plugin_information", "request[slug]": "akismet"},
        headers={"Host": "replay.test:8080"},
    ).json()
    assert other["download_link"].startswith("http://replay.test:8080/downloads/plugin/")
    theme = info(client, "harbor-lite", kind="theme", **{"request[fields][versions]": "1"}).json()
    assert theme["download_link"] == f"{base}theme/harbor-lite.2.3.0.zip"
    assert theme["versions"]["2.0.0"] == f"{base}theme/harbor-lite.2.0.0.zip"


def test_public_base_is_used_for_rewrites() -> None:
    state = ReplayState.sample()
    with (
        ReplayServer(state, public_base="https://mirror.example/wp/") as srv,
        httpx.Client(base_url=srv.base_url) as c,
    ):
        body = info(c, "akismet").json()
    assert body["download_link"] == "https://mirror.example/wp/downloads/plugin/akismet.5.3.2.zip"


def test_bodies_are_compact_json_and_cached(server: ReplayServer, client: httpx.Client) -> None:
    first = info(client, "akismet")
    second = info(client, "akismet")
    assert first.content == second.content
    assert b'": ' not in first.content[:200] and b", " not in first.content[:100]
    assert orjson.loads(first.content)["name"] == "Akismet Anti-spam: Spam Protection"
    head = client.head(
        "/plugins/info/1.2/", params={"action": "plugin_information", "request[slug]": "akismet"}
    )
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(first.content)


@pytest.mark.parametrize("encoded", [True, False])
def test_query_encodings(client: httpx.Client, encoded: bool) -> None:
    query = (
        "action=plugin_information&request%5Bslug%5D=akismet&request%5Bfields%5D%5Bicons%5D=1"
        if encoded
        else "action=plugin_information&request[slug]=akismet&request[fields][icons]=1"
    )
    body = client.get(f"/plugins/info/1.2/?{query}").json()
    assert body["slug"] == "akismet" and "icons" in body
