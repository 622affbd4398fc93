"""The real corpus (12,227 recorded plugins, ../shared): build it and check, package by
package, that every raw tag is either served under exactly Composer's normalisation or
listed in report.json with a reason, and that Composer's PHP code reads the files back."""

from __future__ import annotations

import lzma
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from curator.build.builder import build
from curator.build.manifest import validate_build
from curator.build.minify import expand, minify
from curator.build.render import Report, expand_package
from curator.build.seed import commit_records, records_from_lines
from curator.composer import normalize
from curator.datarepo import DataRepo
from curator.layout import PackageType
from curator.models import PackageRecord, RegistryConfig
from tests.build.conftest import php_oracle
from tests.conftest import RepoFactory

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_records(corpus_path: Path) -> list[PackageRecord]:
    with lzma.open(corpus_path) as fh:
        lines = [orjson.loads(line) for line in fh.read().splitlines() if line.strip()]
    records = list(records_from_lines(PackageType.PLUGIN, lines))
    assert len(records) == 12227
    return records


def test_the_real_corpus_builds_and_accounts_for_every_tag(
    corpus_records: list[PackageRecord], new_data_repo: RepoFactory, tmp_path: Path
) -> None:
    repo: DataRepo = new_data_repo()
    commit_records(repo, corpus_records)
    result = build(repo, None, None, tmp_path / "out")
    out = result.path
    assert validate_build(out) == []
    report = orjson.loads((out / "report.json").read_bytes())
    skipped: dict[str, set[str]] = defaultdict(set)
    for entry in report["skipped_versions"]:
        skipped[entry["package"]].add(entry["version"])
    duplicates: dict[str, dict[str, str]] = defaultdict(dict)
    for entry in report["duplicate_versions"]:
        duplicates[entry["package"]][entry["version"]] = entry["kept"]

    served_total = skipped_total = 0
    for record in corpus_records:
        name = f"wp-plugin/{record.slug}"
        assert record.info is not None
        keys = [k for k in record.info.version_keys() if k != "trunk"]
        emitted: list[dict[str, Any]] = []
        for suffix in ("", "~dev"):
            doc = orjson.loads((out / "p2" / f"{name}{suffix}.json").read_bytes())
            emitted += expand(doc["packages"][name])
        tagged = [v for v in emitted if v["version"] != "dev-trunk"]
        by_normalized = {v["version_normalized"]: v for v in tagged}
        assert len(by_normalized) == len(tagged), name  # one entry per normalised version
        for entry in tagged:
            assert entry["version_normalized"] == normalize(entry["version"]), (name, entry)
            raw = [k for k in keys if k == entry["version"] or k.strip() == entry["version"]]
            assert any(normalize(k) == entry["version_normalized"] for k in raw), (name, entry)
        for key in keys:
            if key in skipped[name]:
                assert normalize(key) is None or str(normalize(key)).startswith("dev-"), key
                skipped_total += 1
                continue
            normalized = normalize(key)
            assert normalized is not None and normalized in by_normalized, (name, key)
            if key in duplicates[name]:
                kept = duplicates[name][key]
                assert normalize(kept) == normalized
            served_total += 1
        assert sum(1 for v in emitted if v["version"] == "dev-trunk") == 1, name
    assert skipped_total == result.counts["skipped_versions"] == 1225
    assert (
        served_total == sum(len(d) for d in duplicates.values()) + result.counts["versions"] - 12227
    )
    # the 806 non-Composer-style keys of the corpus README are either normalisable or skipped
    assert result.counts["packages"] == 12227


def test_the_fast_minifier_equals_the_port_over_the_corpus(
    corpus_records: list[PackageRecord],
) -> None:
    config = RegistryConfig()
    for record in corpus_records:
        report: Report = {}
        expanded = expand_package(record, None, config, report)
        assert expanded is not None
        for which in (expanded.tagged, expanded.dev):
            full = expanded.full(which)
            encoded = orjson.loads(expanded.encode(which, advisories=False))
            assert encoded["packages"][expanded.name] == minify(full), record.slug


def test_composer_reads_a_tenth_of_the_corpus_back(
    corpus_records: list[PackageRecord],
) -> None:
    config = RegistryConfig()
    docs, fulls = [], []
    for record in corpus_records[::10]:
        report: Report = {}
        expanded = expand_package(record, None, config, report)
        assert expanded is not None
        docs.append(expanded.encode(expanded.tagged, advisories=True))
        fulls.append((expanded.name, expanded.full(expanded.tagged)))
    for (name, full), answer in zip(fulls, php_oracle(docs), strict=True):
        assert orjson.dumps(answer["expanded"][name]) == orjson.dumps(full), name
        assert [row[1] for row in answer["loaded"][name]] == [v["version_normalized"] for v in full]
