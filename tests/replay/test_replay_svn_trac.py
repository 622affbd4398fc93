"""SVN listings and Trac change logs: byte format (checked against the recorded fixtures with
the same parsers) and revision semantics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from replay_helpers import fixture_path, info, parse_changelog, parse_listing

from curator.replay import ReplayServer, ReplayState


@pytest.mark.parametrize(
    "name", ["wpdirectory-wporg__plugins_list.html", "wpdirectory-wporg__themes_list.html"]
)
def test_listing_parser_accepts_the_recorded_fixtures(name: str) -> None:
    revision, slugs = parse_listing(fixture_path(name).read_text())
    assert revision > 0 and slugs


@pytest.mark.parametrize(
    "name",
    [
        "wpdirectory-wporg__plugins_changelog.txt",
        "wpdirectory-wporg__plugins_latest-revision.txt",
        "wpdirectory-wporg__themes_latest-revision.txt",
        "wpdirectory-wporg__themes_changelog.txt",
    ],
)
def test_changelog_parser_accepts_the_recorded_fixtures(name: str) -> None:
    entries = parse_changelog(fixture_path(name).read_text())
    assert entries and all(e["paths"] for e in entries)
    revisions = [e["revision"] for e in entries]
    assert revisions == sorted(revisions, reverse=True)


def test_listing_shape(server: ReplayServer, client: httpx.Client) -> None:
    response = client.get("/svn/plugins/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    revision, slugs = parse_listing(response.text)
    assert revision == server.state.revisions["plugin"]
    assert slugs == sorted(server.state.plugins)
    assert "old-closed-gallery" in slugs  # closed plugins stay listed, as in SVN
    fixture = fixture_path("wpdirectory-wporg__plugins_list.html").read_text()
    # same skeleton as the recorded page, line for line, apart from the entries
    ours = [line for line in response.text.splitlines() if "<li>" not in line]
    theirs = [line for line in fixture.splitlines() if "<li>" not in line]
    assert [line.replace(str(revision), "N") for line in ours] == [
        line.replace("1902056", "N") for line in theirs
    ]
    themes_rev, themes = parse_listing(client.get("/svn/themes/").text)
    assert themes == sorted(server.state.themes) and themes_rev == server.state.revisions["theme"]


def test_listing_follows_adds_and_deletes(client: httpx.Client) -> None:
    result = client.post(
        "/_replay/changes",
        json={
            "changes": [
                {"type": "plugin", "slug": "aaa-new-plugin", "action": "add"},
                {"type": "plugin", "slug": "hello-dolly", "action": "delete"},
            ]
        },
    ).json()
    revision, slugs = parse_listing(client.get("/svn/plugins/").text)
    assert revision == result["revision"]
    assert slugs[0] == "aaa-new-plugin" and "hello-dolly" not in slugs


def test_changelog_head_entry(server: ReplayServer, client: httpx.Client) -> None:
    head = server.state.revisions["plugin"]
    response = client.get("/trac/plugins/log/", params={"format": "changelog", "limit": 1})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    entries = parse_changelog(response.text)
    assert [e["revision"] for e in entries] == [head]
    assert entries[0]["paths"]  # the seed entry names the newest package
    same = client.get("/trac/plugins/log/", params={"format": "changelog", "stop_rev": "HEAD"})
    assert same.text == response.text


def test_changelog_ranges(server: ReplayServer, client: httpx.Client) -> None:
    start = server.state.revisions["plugin"]
    result = client.post("/_replay/mutate", json={"percent": 30, "seed": 3}).json()
    changed = result["changed"]
    head = result["revision"]
    assert head == start + len(changed)

    def log(**params: int | str) -> list[dict[str, Any]]:
        response = client.get("/trac/plugins/log/", params={"format": "changelog", **params})
        assert response.status_code == 200, response.text
        return parse_changelog(response.text)

    everything = log()
    assert [e["revision"] for e in everything] == list(range(head, start - 1, -1))
    since = log(stop_rev=start + 1)
    assert [e["revision"] for e in since] == list(range(head, start, -1))
    touched = [p[0].split("/")[0] for e in since for p in e["paths"]]
    assert set(touched) == set(changed)
    window = log(rev=head - 1, stop_rev=start + 1, limit=2)
    assert [e["revision"] for e in window] == [head - 1, head - 2]
    assert log(limit=0) == []
    first = since[-1]
    assert first["message"] == f"Tagging version {server.state.plugins[changed[0]]['version']}\n"
    assert any(p == (f"{changed[0]}/trunk/readme.txt", "modified") for p in first["paths"])
    assert any(a == "added" and "/tags/" in p for p, a in first["paths"])
    beyond = client.get("/trac/plugins/log/", params={"format": "changelog", "rev": head + 1})
    assert beyond.status_code == 404 and f"No changeset {head + 1}" in beyond.text
    too_new = client.get("/trac/plugins/log/", params={"format": "changelog", "stop_rev": head + 5})
    assert too_new.status_code == 404
    assert client.get("/trac/plugins/log/").status_code == 400
    assert client.get("/trac/plugins/log/", params={"format": "rss"}).status_code == 400
    assert (
        client.get("/trac/plugins/log/", params={"format": "changelog", "limit": "x"}).status_code
        == 400
    )


def test_theme_changelog_paths(client: httpx.Client) -> None:
    result = client.post(
        "/_replay/mutate", json={"percent": 100, "seed": 1, "type": "theme"}
    ).json()
    assert result["type"] == "theme" and len(result["changed"]) == 5
    entries = parse_changelog(
        client.get("/trac/themes/log/", params={"format": "changelog", "limit": 5}).text
    )
    assert len(entries) == 5
    for entry in entries:
        slug, version = entry["paths"][0][0].split("/")
        assert entry["paths"][0] == (f"{slug}/{version}", "added")
        assert entry["message"].startswith("New version of ")
        body = info(client, slug, kind="theme", **{"request[fields][versions]": "1"}).json()
        assert body["version"] == version and version in body["versions"]
    # plugins are a separate repository with their own head
    plugin_log = parse_changelog(
        client.get("/trac/plugins/log/", params={"format": "changelog"}).text
    )
    assert len(plugin_log) == 1


def test_seed_entry_of_an_empty_repository() -> None:
    with ReplayServer(ReplayState(revision=42)) as srv, httpx.Client(base_url=srv.base_url) as c:
        entries = parse_changelog(c.get("/trac/themes/log/?format=changelog&limit=1").text)
        assert [e["revision"] for e in entries] == [42] and entries[0]["paths"] == []
        assert parse_listing(c.get("/svn/themes/").text) == (42, [])
