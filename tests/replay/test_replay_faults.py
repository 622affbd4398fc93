"""Fault injection: every kind, sticky determinism, hangs, scope, counters."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest
from replay_helpers import info

from curator.replay import FaultConfig, ReplayServer, ReplayState

PLUGINS = sorted(s for s, r in ReplayState.sample().plugins.items() if r.get("error") != "closed")


def _faults(client: httpx.Client, **settings: object) -> dict[str, object]:
    response = client.post("/_replay/faults", json=settings)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_errors(client: httpx.Client) -> None:
    _faults(client, error_rate=1.0, seed=4)
    statuses = {info(client, slug).status_code for slug in PLUGINS}
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    page = info(client, "akismet")
    assert page.headers["content-type"].startswith("text/html") and b"nginx" in page.content
    # scope "info": listings, logs and downloads are not faulted
    assert client.get("/svn/plugins/").status_code == 200
    assert client.get("/trac/plugins/log/?format=changelog").status_code == 200
    assert client.get("/downloads/plugin/akismet.zip").status_code == 200
    state = client.get("/_replay/state").json()["faults"]
    assert state["counts"]["error"] == len(PLUGINS) + 1
    assert state["faulted_slugs"] == {"plugin": PLUGINS}


def test_rate_limit(client: httpx.Client) -> None:
    _faults(client, rate_limit_rate=1.0, retry_after=7)
    response = info(client, "akismet")
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert client.get("/_replay/state").json()["faults"]["counts"]["rate_limit"] == 1


def test_malformed_bodies(client: httpx.Client) -> None:
    _faults(client, malformed_rate=1.0, seed=1)
    kinds = set()
    for slug in PLUGINS:
        response = info(client, slug)
        assert response.status_code == 200
        if response.headers["content-type"].startswith("text/html"):
            assert response.content.startswith(b"<!DOCTYPE html>")
            kinds.add("html")
        else:
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(response.content)
            assert response.content.startswith(b'{"name":')
            kinds.add("truncated")
    assert kinds == {"html", "truncated"}


def test_latency(client: httpx.Client) -> None:
    _faults(client, latency_ms=250)
    started = time.perf_counter()
    assert info(client, "akismet").status_code == 200
    assert time.perf_counter() - started >= 0.25
    assert client.get("/_replay/state").json()["faults"]["counts"]["latency"] == 1


def test_hang_times_out_the_client_then_answers_504(client: httpx.Client) -> None:
    _faults(client, hang_rate=1.0, hang_seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        client.get(
            "/plugins/info/1.2/",
            params={"action": "plugin_information", "request[slug]": "akismet"},
            timeout=0.2,
        )
    started = time.perf_counter()
    response = client.get(
        "/plugins/info/1.2/",
        params={"action": "plugin_information", "request[slug]": "hello-dolly"},
        timeout=5,
    )
    assert response.status_code == 504 and time.perf_counter() - started >= 0.5
    faults = client.get("/_replay/state").json()["faults"]
    assert faults["counts"]["hang"] == 2
    assert faults["faulted_slugs"]["plugin"] == ["akismet", "hello-dolly"]


def test_stop_releases_hanging_requests() -> None:
    server = ReplayServer(ReplayState.sample(faults=FaultConfig(hang_rate=1.0))).start()
    try:
        with pytest.raises(httpx.ReadTimeout), httpx.Client(base_url=server.base_url) as c:
            c.get(
                "/plugins/info/1.2/?action=plugin_information&request[slug]=akismet",
                timeout=0.3,
            )
    finally:
        started = time.perf_counter()
        server.stop()
    assert time.perf_counter() - started < 5


def test_sticky_faults_are_a_function_of_seed_and_slug() -> None:
    def failing(seed: int) -> tuple[set[str], set[str]]:
        state = ReplayState.sample(faults=FaultConfig(error_rate=0.3, sticky=True, seed=seed))
        predicted = {s for s in PLUGINS if state.sticky_fault("plugin", s) is not None}
        with ReplayServer(state) as srv, httpx.Client(base_url=srv.base_url) as c:
            rounds = [{s for s in PLUGINS if info(c, s).status_code >= 500} for _ in range(3)]
        assert rounds[0] == rounds[1] == rounds[2]  # retries of a slug fail again
        return predicted, rounds[0]

    predicted, observed = failing(11)
    assert predicted == observed and 0 < len(observed) < len(PLUGINS)
    again, _ = failing(11)
    other, _ = failing(12)
    assert again == predicted and other != predicted


def test_scope_all_faults_listings_logs_and_downloads(client: httpx.Client) -> None:
    _faults(client, error_rate=1.0, scope="all")
    for path in (
        "/svn/plugins/",
        "/trac/themes/log/?format=changelog",
        "/downloads/plugin/akismet.zip",
    ):
        assert client.get(path).status_code in (500, 502, 503), path
    assert client.get("/_replay/state").status_code == 200  # never faulted
    faults = client.get("/_replay/state").json()["faults"]
    assert faults["faulted_paths"] == [
        "/downloads/plugin/akismet.zip",
        "/svn/plugins/",
        "/trac/themes/log/",
    ]


def test_fault_settings_validation_and_reset(client: httpx.Client) -> None:
    assert client.post("/_replay/faults", json={"nope": 1}).status_code == 400
    assert client.post("/_replay/faults", json={"error_rate": 2}).status_code == 400
    assert (
        client.post("/_replay/faults", json={"error_rate": 0.7, "hang_rate": 0.7}).status_code
        == 400
    )
    assert client.post("/_replay/faults", json={"scope": "everything"}).status_code == 400
    _faults(client, error_rate=1.0)
    info(client, "akismet")
    cleared = _faults(client, error_rate=0.0, reset=True)
    assert cleared["counts"] == {
        "latency": 0,
        "hang": 0,
        "error": 0,
        "rate_limit": 0,
        "malformed": 0,
    }
    assert info(client, "akismet").status_code == 200
    assert client.get("/_replay/faults").json()["error_rate"] == 0.0


def test_faults_configured_from_python(server: ReplayServer, client: httpx.Client) -> None:
    snapshot = server.state.configure_faults({"rate_limit_rate": 1.0, "retry_after": 3})
    assert snapshot["rate_limit_rate"] == 1.0
    assert info(client, "akismet").headers["retry-after"] == "3"
