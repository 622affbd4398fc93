"""Corpora on disk: the sample's oddities, round trips, and the real 12,227-record corpus."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from replay_helpers import REAL_CORPUS, info

from curator.replay import ReplayServer, ReplayState, load_corpus, sample_corpus_paths
from curator.replay.corpus import CorpusError, load_corpora, write_corpus


@pytest.fixture(scope="module")
def plugins() -> dict[str, dict[str, Any]]:
    return load_corpus(sample_corpus_paths()[0])


@pytest.fixture(scope="module")
def themes() -> dict[str, dict[str, Any]]:
    return load_corpus(sample_corpus_paths()[1])


def _open(plugins: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in plugins.values() if r.get("error") != "closed"]


def test_sample_size_and_demo_slugs(
    plugins: dict[str, dict[str, Any]], themes: dict[str, dict[str, Any]]
) -> None:
    assert 20 <= len(plugins) <= 30 and len(themes) == 5
    assert {"akismet", "hello-dolly", "classic-editor", "contact-form-7"} <= set(plugins)
    for path in sample_corpus_paths():
        assert path.is_file() and path.suffix == ".jsonl"


def test_sample_oddities(plugins: dict[str, dict[str, Any]]) -> None:
    records = _open(plugins)
    versions = [r["versions"] for r in records]
    assert any(isinstance(v, dict) for v in versions) and any(v == [] for v in versions)
    keys = [k for v in versions if isinstance(v, dict) for k in v]
    assert any("\r" in k for k in keys)
    assert any(k.endswith(".") for k in keys)
    assert any(k.startswith(("v", "V", "release-", "-")) for k in keys)  # not Composer-style
    assert any(
        isinstance(r["versions"], dict) and r["version"] not in r["versions"] for r in records
    )
    trunk_stable = [r for r in records if r["stable_tag"] == "trunk"]
    assert any(isinstance(r["versions"], dict) and "trunk" in r["versions"] for r in trunk_stable)
    assert any(
        isinstance(r["versions"], dict) and "trunk" not in r["versions"] for r in trunk_stable
    )
    assert any(r["requires"] is False for r in records)
    assert any(r["requires_php"] is False for r in records)
    assert any(r["tags"] == [] for r in records)
    assert all(r["author"].startswith("<a href=") for r in records)
    assert any("&#8211;" in r["name"] for r in records)
    assert any(r["requires_plugins"] for r in records)
    assert any(any(p in k.lower() for p in ("beta", "rc")) for k in keys), (
        "pre-release tags (beta / RC)"
    )
    assert all(
        r["last_updated"].endswith(("am GMT", "pm GMT")) and len(r["added"]) == 10 for r in records
    )
    # URLs of odd keys follow the key verbatim, like the real API
    hosting = plugins["hosting-speed-tuner"]["versions"]
    assert hosting["2.0.3\r"].endswith("/plugin/hosting-speed-tuner.2.0.3\r.zip")


def test_sample_closures(plugins: dict[str, dict[str, Any]]) -> None:
    closed = {s: r for s, r in plugins.items() if r.get("error") == "closed"}
    assert {r["reason"] for r in closed.values()} == {"author-request", "security-issue"}
    for record in closed.values():
        assert list(record) == [
            "error",
            "name",
            "slug",
            "description",
            "closed",
            "closed_date",
            "reason",
            "reason_text",
        ]
        assert record["closed"] is True
    permanent = next(r for r in closed.values() if r["reason"] == "author-request")
    assert "This closure is permanent. Reason: Author Request." in permanent["description"]


def test_sample_themes(themes: dict[str, dict[str, Any]]) -> None:
    for slug, record in themes.items():
        assert record["versions"] and all(
            url == f"https://downloads.wordpress.org/theme/{slug}.{v}.zip"
            for v, url in record["versions"].items()
        )
        assert record["version"] in record["versions"]
        assert set(record["author"]) >= {"user_nicename", "profile", "display_name"}
    assert any(r.get("template") for r in themes.values())
    assert any(r["requires"] is False for r in themes.values())


def test_round_trip_and_errors(tmp_path: Path, plugins: dict[str, dict[str, Any]]) -> None:
    for name in ("c.jsonl", "c.jsonl.gz", "c.jsonl.xz"):
        write_corpus(plugins.values(), tmp_path / name)
        assert load_corpus(tmp_path / name) == plugins
    override = tmp_path / "override.jsonl"
    write_corpus([{**plugins["akismet"], "version": "9.9"}], override)
    merged = load_corpora([tmp_path / "c.jsonl", override])
    assert merged["akismet"]["version"] == "9.9" and len(merged) == len(plugins)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"slug": "a"}\n\n[1, 2]\n')
    with pytest.raises(CorpusError, match=r"bad.jsonl:3"):
        load_corpus(bad)
    bad.write_bytes(b"{nope\n")
    with pytest.raises(CorpusError, match="invalid JSON"):
        load_corpus(bad)


@pytest.mark.slow
def test_real_corpus() -> None:
    if not REAL_CORPUS.exists():
        pytest.skip("../shared is not available")
    started = time.perf_counter()
    records = load_corpus(REAL_CORPUS)
    elapsed = time.perf_counter() - started
    assert len(records) == 12_227
    assert elapsed < 10  # about a second on a quiet machine
    assert sum(1 for r in records.values() if r["versions"] == []) == 1_887
    state = ReplayState(records)
    assert state.revision == 3_070_000
    with ReplayServer(state) as srv, httpx.Client(base_url=srv.base_url, timeout=30) as c:
        body = info(c, "a2-optimized-wp").json()
        assert body["versions"]["2.0.10.8\r"].endswith("a2-optimized-wp.2.0.10.8\r.zip")
        zipped = c.get("/downloads/plugin/a2-optimized-wp.2.0.10.8%0D.zip")
        assert zipped.status_code == 200
        listing = c.get("/svn/plugins/").text
        assert listing.count("<li>") == 12_227
        assert info(c, "woocommerce").json()["version"] == "8.7.0"
