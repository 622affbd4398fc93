"""Scripted changes: the control API, one revision per change, mutate, scripts, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from replay_helpers import ROOT, info, parse_changelog

from curator.replay import ChangeError, ReplayServer, ReplayState
from curator.replay.state import bump_version, load_script, merge_patch


def _changes(client: httpx.Client, *changes: dict[str, object]) -> httpx.Response:
    return client.post("/_replay/changes", json={"changes": list(changes)})


def test_update_with_a_patch_is_one_revision(server: ReplayServer, client: httpx.Client) -> None:
    before = info(client, "akismet").json()  # fills the response cache
    start = server.state.revision
    url = "https://downloads.wordpress.org/plugin/akismet.5.3.3.zip"
    response = _changes(
        client,
        {
            "type": "plugin",
            "slug": "akismet",
            "action": "update",
            "patch": {
                "version": "5.3.3",
                "stable_tag": "5.3.3",
                "download_link": url,
                "versions": {"5.3.3": url},
            },
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["revision"] == start + 1
    assert result["applied"] == [
        {"type": "plugin", "slug": "akismet", "action": "update", "revision": start + 1}
    ]
    after = info(client, "akismet").json()
    assert after["version"] == "5.3.3" and before["version"] == "5.3.2"
    assert after["versions"]["5.3.3"].endswith("/downloads/plugin/akismet.5.3.3.zip")
    assert len(after["versions"]) == len(before["versions"]) + 1
    entry = parse_changelog(client.get("/trac/plugins/log/?format=changelog&limit=1").text)[0]
    assert entry["revision"] == start + 1 and entry["author"] == "automattic"
    assert entry["paths"] == [
        ("akismet/tags/5.3.3", "added"),
        ("akismet/trunk/readme.txt", "modified"),
    ]


def test_add_close_reopen_delete(server: ReplayServer, client: httpx.Client) -> None:
    start = server.state.revision
    result = _changes(
        client,
        {"slug": "brand-new", "action": "add", "patch": {"name": "Brand New"}},
        {"slug": "hello-dolly", "action": "close"},
        {
            "slug": "karaoke-embed",
            "action": "close",
            "closure": {"reason": "security-issue", "date": "2023-06-01"},
        },
        {"slug": "akismet", "action": "close", "log": False},
        {"slug": "akismet", "action": "reopen"},
        {"slug": "voucher-press", "action": "delete", "author": "pluginsteam", "message": "Bye"},
    ).json()
    revisions = [a["revision"] for a in result["applied"]]
    assert revisions == [start + 1, start + 2, start + 3, None, start + 4, start + 5]

    added = info(client, "brand-new").json()
    assert added["name"] == "Brand New" and added["version"] == "1.0.0"

    closed = info(client, "hello-dolly")
    assert closed.status_code == 404
    body = closed.json()
    today = server.state.now.date()
    assert body["closed_date"] == today.isoformat()
    assert body["description"].endswith(
        "and is not available for download. This closure is permanent. Reason: Author Request."
    )
    assert (body["name"], body["reason"], body["reason_text"]) == (
        "Hello Dolly",
        "author-request",
        "Author Request",
    )
    security = info(client, "karaoke-embed").json()
    assert security["description"] == (
        "This plugin has been closed as of June 1, 2023 and is not available for download."
        " Reason: Security Issue."
    )
    assert client.get("/downloads/plugin/hello-dolly.zip").status_code == 404

    assert info(client, "akismet").status_code == 200  # closed silently, then reopened
    assert info(client, "voucher-press").status_code == 404
    slugs = client.get("/svn/plugins/").text
    assert "hello-dolly/" in slugs and "voucher-press/" not in slugs and "brand-new/" in slugs

    log = parse_changelog(client.get("/trac/plugins/log/?format=changelog&limit=5").text)
    assert [e["revision"] for e in log] == [start + 5, start + 4, start + 3, start + 2, start + 1]
    assert (log[0]["author"], log[0]["message"], log[0]["paths"]) == (
        "pluginsteam",
        "Bye\n",
        [("voucher-press", "deleted")],
    )
    assert ("brand-new", "added") in log[-1]["paths"]


def test_temporary_closure_wording(server: ReplayServer) -> None:
    state = server.state
    state.apply_changes(
        [{"slug": "akismet", "action": "close", "closure": {"reason": False, "permanent": False}}]
    )
    body = state.plugins["akismet"]
    assert body["reason"] is False and body["reason_text"] is False
    assert body["description"].endswith(
        "not available for download. This closure is temporary, pending a full review."
    )


def test_invalid_changes_apply_nothing(server: ReplayServer, client: httpx.Client) -> None:
    start = server.state.revision
    for bad in (
        [
            {"slug": "akismet", "action": "update", "patch": {"version": "9"}},
            {"slug": "nope", "action": "update", "patch": {}},
        ],
        [{"slug": "akismet", "action": "add"}],
        [{"slug": "old-closed-gallery", "action": "reopen"}],  # nothing stashed
        [{"slug": "akismet", "action": "explode"}],
        [{"slug": "Bad Slug", "action": "add"}],
        [{"type": "widget", "slug": "x", "action": "add"}],
        [{"slug": "akismet", "action": "update", "patch": {}, "extra": 1}],
        [{"slug": "akismet", "action": "reopen"}],
    ):
        response = _changes(client, *bad)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert server.state.revision == start
    assert server.state.plugins["akismet"]["version"] == "5.3.2"
    assert client.post("/_replay/changes", content=b"not json").status_code == 400
    assert client.post("/_replay/nothing", json={}).status_code == 404
    with pytest.raises(ChangeError):
        server.state.apply_changes([{"slug": "x", "action": "delete"}])


def test_reopen_of_a_corpus_closure_needs_a_record(server: ReplayServer) -> None:
    record = {"name": "Old Closed Gallery", "version": "2.0", "versions": []}
    result = server.state.apply_changes(
        [{"slug": "old-closed-gallery", "action": "reopen", "record": record}]
    )
    assert result["applied"][0]["revision"] == server.state.revision
    assert server.state.plugins["old-closed-gallery"]["slug"] == "old-closed-gallery"


def test_mutate_is_deterministic_and_realistic(client: httpx.Client) -> None:
    before = {s: ReplayState.sample().plugins[s] for s in ReplayState.sample().plugins}
    result = client.post("/_replay/mutate", json={"percent": 25, "seed": 7}).json()
    changed = result["changed"]
    open_count = sum(1 for r in before.values() if r.get("error") != "closed")
    assert len(changed) == round(open_count * 0.25) and changed == sorted(changed)
    assert not {"old-closed-gallery", "insecure-uploader"} & set(changed)
    again = ReplayState.sample().mutate(25, seed=7)
    assert again["changed"] == changed
    assert ReplayState.sample().mutate(25, seed=8)["changed"] != changed

    for slug in changed:
        old = before[slug]
        new = info(client, slug, **{"request[fields][stable_tag]": "1"}).json()
        version = new["version"]
        assert version != old["version"] and version in new["versions"]
        assert list(new["versions"]) == sorted(new["versions"])
        assert new["versions"][version].endswith(f"/downloads/plugin/{slug}.{version}.zip")
        assert new["last_updated"].endswith("GMT") and new["last_updated"] != old["last_updated"]
        if old["stable_tag"] == "trunk":
            assert new["stable_tag"] == "trunk"
            assert new["download_link"].endswith(f"/downloads/plugin/{slug}.zip")
        else:
            assert new["stable_tag"] == version
            assert new["download_link"] == new["versions"][version]
        zipped = client.get(f"/downloads/plugin/{slug}.{version}.zip")
        assert zipped.status_code == 200
    log = parse_changelog(
        client.get("/trac/plugins/log/", params={"format": "changelog", "limit": 100}).text
    )
    tagged = [e for e in log if e["message"].startswith("Tagging version")]
    assert len(tagged) == len(changed)
    assert client.post("/_replay/mutate", json={"percent": 500}).status_code == 400


def test_bump_version_and_merge_patch() -> None:
    assert bump_version("5.3.2", set()) == "5.3.3"
    assert bump_version("1.0-beta", set()) == "1.1"
    assert bump_version("2.0.10.8\r", set()) == "2.0.10.9"
    assert bump_version("1.9", {"1.10"}) == "1.11"
    assert bump_version("trunk", set()) == "1.1"
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 5}}) == {
        "b": {"c": 5, "d": 3}
    }
    assert merge_patch([], {"1.0": "u"}) == {"1.0": "u"}


def test_state_endpoint(server: ReplayServer, client: httpx.Client) -> None:
    state = client.get("/_replay/state").json()
    assert state["revision"] == server.state.revision
    assert state["counts"]["plugin"] == {"total": 26, "open": 24, "closed": 2}
    assert state["counts"]["theme"] == {"total": 5, "open": 5, "closed": 0}
    assert state["faults"]["counts"]["error"] == 0
    log = client.get("/_replay/log", params={"type": "plugin", "limit": 1}).json()
    assert log["entries"][0]["revision"] == state["revisions"]["plugin"]


def _write_script(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "steps": [
                    {"changes": [{"slug": "akismet", "action": "close"}]},
                    {"mutate": {"percent": 10, "seed": 2}},
                    {"faults": {"error_rate": 1.0}},
                ]
            }
        )
    )
    return path


def test_script_steps(tmp_path: Path) -> None:
    steps = load_script(_write_script(tmp_path / "script.json"))
    with (
        ReplayServer(ReplayState.sample(script=steps)) as srv,
        httpx.Client(base_url=srv.base_url) as c,
    ):
        first = c.post("/_replay/step").json()
        assert first["step"] == 1 and first["remaining"] == 2
        assert info(c, "akismet").json()["error"] == "closed"
        second = c.post("/_replay/step").json()
        assert second["mutate"]["changed"]
        third = c.post("/_replay/step").json()
        assert third["faults"]["error_rate"] == 1.0
        assert info(c, "hello-dolly").status_code in (500, 502, 503)
        assert c.post("/_replay/step").status_code == 409
    with pytest.raises(ValueError):
        ReplayState.sample(script=[{"bogus": 1}])


def test_cli_subprocess(tmp_path: Path) -> None:
    script = _write_script(tmp_path / "script.json")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "curator.replay",
            "--revision",
            "500",
            "--script",
            str(script),
            "--sticky",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("replay listening on http://127.0.0.1:"), line
        base = line.split()[-1]
        with httpx.Client(base_url=base, timeout=10) as c:
            state = c.get("/_replay/state").json()
            assert state["revisions"] == {"plugin": 500, "theme": 500}
            assert state["faults"]["sticky"] is True and state["faults"]["seed"] == 3
            assert info(c, "akismet").status_code == 200
            assert c.post("/_replay/step").json()["changes"]["revision"] == 501
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_cli_rejects_bad_fault_rates() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "curator.replay", "--error-rate", "0.8", "--hang-rate", "0.5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2 and "add up to more than 1" in done.stderr
