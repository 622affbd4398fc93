"""The composer/2.0 minifier port, checked against Composer's own PHP MetadataMinifier and
ArrayLoader: PHP expands what we write to exactly our versions, PHP's minify() of them is
byte-for-byte what we wrote, and Composer loads every version under the name we mean."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from curator.build.minify import UNSET, expand, identical, minify
from curator.build.render import Report, expand_package, render_package
from curator.build.seed import record_from_line
from curator.layout import PackageType
from curator.models import Closure, PackageStatus, RegistryConfig
from tests.build.conftest import php_oracle, record

CONFIG = RegistryConfig()


def test_first_entry_is_whole_and_the_next_ones_are_diffs() -> None:
    versions = [
        {"name": "a/b", "version": "2.0", "require": {"php": ">=7"}, "time": "t2"},
        {"name": "a/b", "version": "1.0", "require": {"php": ">=7"}},
        {"name": "a/b", "version": "0.9", "require": {"php": ">=5"}, "time": "t0"},
    ]
    assert minify(versions) == [
        versions[0],
        {"version": "1.0", "time": UNSET},
        {"version": "0.9", "require": {"php": ">=5"}, "time": "t0"},
    ]
    assert expand(minify(versions)) == versions


def test_php_semantics_of_null_order_and_types() -> None:
    # isset() is false for null: a null value is written and unset again, like PHP does
    assert minify([{"a": 1, "b": None}, {"a": 1, "b": None}]) == [
        {"a": 1, "b": None},
        {"b": UNSET},
    ]
    # !== on arrays sees key order and types
    assert minify([{"r": {"x": "1", "y": "2"}}, {"r": {"y": "2", "x": "1"}}])[1] == {
        "r": {"y": "2", "x": "1"}
    }
    assert minify([{"a": 1}, {"a": True}, {"a": 1.0}])[1:] == [{"a": True}, {"a": 1.0}]
    assert identical({"a": [1, {"b": "c"}]}, {"a": [1, {"b": "c"}]})
    assert not identical([1], [True]) and not identical({"a": 1, "b": 2}, {"b": 2, "a": 1})


def _normalize_php(value: Any) -> Any:
    """PHP encodes an empty array as [] whether it was {} or []."""
    if isinstance(value, dict):
        return {k: _normalize_php(v) for k, v in value.items()} if value else []
    if isinstance(value, list):
        return [_normalize_php(v) for v in value]
    return value


def _ordered(value: Any) -> str:
    return json.dumps(_normalize_php(value), ensure_ascii=False)


def _documents() -> list[tuple[str, bytes, list[dict[str, Any]]]]:
    """(name, p2 bytes, expanded versions) for hand-made records and the sample corpus."""
    url = "https://downloads.wordpress.org/plugin"
    records = [
        record(),
        record(
            versions={
                k: f"{url}/e.{k}.zip"
                for k in ["0.9", "1.0", "1.0.0", "1.1.0", "1.2.0", "1.3-dev", "2.0.3\r"]
            },
            first_seen={"1.1.0": "2026-11-01T13:00:00Z", "0.9": "2026-10-01T13:00:00Z"},
            requires_plugins=["woocommerce"],
        ),
        record(status=PackageStatus.CLOSED, closure=Closure(date="2024-01-02")),
        record(version="9.9", versions=[]),
    ]
    root = "curator/replay/sample"
    for name, kind in (("plugins", PackageType.PLUGIN), ("themes", PackageType.THEME)):
        with open(f"{root}/{name}.jsonl", "rb") as fh:
            for line in fh:
                if line.strip():
                    rec = record_from_line(kind, line.strip())
                    assert rec is not None
                    records.append(rec)
    docs = []
    for rec in records:
        rendered = render_package(rec, None, CONFIG)
        report: Report = {}
        expanded = expand_package(rec, None, CONFIG, report)
        if expanded is None:
            continue
        docs.append(
            (
                rendered.name,
                rendered.files[f"p2/{rendered.name}.json"],
                expanded.full(expanded.tagged),
            )
        )
        docs.append(
            (
                rendered.name,
                rendered.files[f"p2/{rendered.name}~dev.json"],
                expanded.full(expanded.dev),
            )
        )
    return docs


def test_composer_expands_and_minifies_exactly_like_the_port() -> None:
    docs = _documents()
    answers = php_oracle([raw for _name, raw, _full in docs])
    for (name, raw, full), answer in zip(docs, answers, strict=True):
        ours = orjson.loads(raw)["packages"][name]
        assert _ordered(answer["expanded"][name]) == _ordered(full), name
        assert _ordered(answer["reminified"][name]) == _ordered(ours), name
        loaded = answer["loaded"][name]
        assert [row[0] for row in loaded] == [v["version"] for v in full]
        assert [row[1] for row in loaded] == [v["version_normalized"] for v in full]
        assert all(row[2] in ("wordpress-plugin", "wordpress-theme") for row in loaded)
        assert [row[3] for row in loaded] == [v["dist"]["url"] for v in full]
        assert [row[4] for row in loaded] == [bool(v.get("abandoned")) for v in full]
        assert [row[5] for row in loaded] == [v["require"] for v in full]


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_round_trip_of_any_length(count: int) -> None:
    versions = [{"name": "a/b", "version": f"1.{i}", "x": i % 2 or None} for i in range(count)]
    assert expand(minify(versions)) == [
        {k: v for k, v in entry.items() if v is not None or i == 0}
        for i, entry in enumerate(versions)
    ]
