"""Helpers for the build tests: hand-made records, decoding p2 files, comparing builds, and
Composer's PHP code (MetadataMinifier, ArrayLoader) as an oracle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from curator.build.minify import expand
from curator.build.render import Rendered, dev_path, p2_path
from curator.layout import PackageType
from curator.models import Closure, PackageRecord, PackageStatus, UpstreamInfo

COMPOSER_AUTOLOAD = Path("/usr/share/php/Composer/autoload.php")
ORACLE = Path(__file__).with_name("minifier_oracle.php")


def info(slug: str = "example", **fields: Any) -> dict[str, Any]:
    """A plugin_information body modelled on the corpus, with ``fields`` replaced."""
    base: dict[str, Any] = {
        "name": "Example &amp; Friends",
        "slug": slug,
        "version": "1.2.0",
        "stable_tag": "1.2.0",
        "versions": {
            "1.0.0": f"https://downloads.wordpress.org/plugin/{slug}.1.0.0.zip",
            "1.1.0": f"https://downloads.wordpress.org/plugin/{slug}.1.1.0.zip",
            "1.2.0": f"https://downloads.wordpress.org/plugin/{slug}.1.2.0.zip",
            "trunk": f"https://downloads.wordpress.org/plugin/{slug}.zip",
        },
        "requires": "6.0",
        "tested": "6.5",
        "requires_php": "7.4",
        "requires_plugins": [],
        "last_updated": "2024-03-21 12:55am GMT",
        "added": "2020-01-01",
        "author": '<a href="https://example.com/">Jos&eacute; &amp; <b>Co</b></a>',
        "author_profile": "https://profiles.wordpress.org/example/",
        "homepage": "https://example.com/plugin/",
        "short_description": "Does <strong>useful</strong> things &mdash; quickly.",
        "download_link": f"https://downloads.wordpress.org/plugin/{slug}.1.2.0.zip",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()
DROP: Any = _DROP  # pass as a field value to remove the field


def record(
    slug: str = "example",
    *,
    kind: PackageType = PackageType.PLUGIN,
    status: PackageStatus = PackageStatus.OPEN,
    closure: Closure | None = None,
    first_seen: dict[str, str] | None = None,
    revision: int | None = 1234,
    no_info: bool = False,
    **fields: Any,
) -> PackageRecord:
    return PackageRecord(
        type=kind,
        slug=slug,
        status=status,
        info=None if no_info else UpstreamInfo.model_validate(info(slug, **fields)),
        closure=closure,
        first_seen=first_seen or {},
        revision=revision,
    )


def p2(rendered: Rendered, *, dev: bool = False) -> dict[str, Any]:
    """A rendered p2 file, decoded."""
    path = dev_path(rendered.name) if dev else p2_path(rendered.name)
    data: dict[str, Any] = orjson.loads(rendered.files[path])
    return data


def versions(rendered: Rendered, *, dev: bool = False) -> list[dict[str, Any]]:
    """The expanded version entries of a rendered package (as a Composer client sees them)."""
    doc = p2(rendered, dev=dev)
    assert doc["minified"] == "composer/2.0"
    return expand(doc["packages"][rendered.name])


def by_version(rendered: Rendered, *, dev: bool = False) -> dict[str, dict[str, Any]]:
    return {v["version"]: v for v in versions(rendered, dev=dev)}


def tree_files(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (relative path -> bytes)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def assert_same_tree(a: Path, b: Path) -> None:
    fa, fb = tree_files(a), tree_files(b)
    assert sorted(fa) == sorted(fb), set(fa) ^ set(fb)
    different = [p for p in fa if fa[p] != fb[p]]
    assert not different, different[:10]


def require_php() -> str:
    php = shutil.which("php")
    if php is None or not COMPOSER_AUTOLOAD.is_file():
        pytest.fail(
            "php and Composer's PHP sources are needed (apt-get install php-cli composer)",
            pytrace=False,
        )
    return php


def php_oracle(documents: list[bytes]) -> list[dict[str, Any]]:
    """For each p2 document: PHP's expand() of it, PHP's minify() of that, and the versions
    Composer's ArrayLoader loaded from it (name, pretty version, normalised version)."""
    php = require_php()
    payload = b"".join(doc + b"\n" for doc in documents)
    proc = subprocess.run(
        [php, "-d", "memory_limit=1G", str(ORACLE), str(COMPOSER_AUTOLOAD)],
        input=payload,
        capture_output=True,
        check=False,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr.decode()[:3000]
    lines = proc.stdout.decode().split("\n")
    assert lines.pop() == ""
    assert len(lines) == len(documents), proc.stderr.decode()[:3000]
    return [json.loads(line) for line in lines]


@pytest.fixture
def sample_lines() -> Iterator[list[tuple[PackageType, bytes]]]:
    """The shipped sample corpus as (kind, line) pairs."""
    root = Path(__file__).resolve().parents[2] / "curator" / "replay" / "sample"
    lines = []
    for name, kind in (("plugins.jsonl", PackageType.PLUGIN), ("themes.jsonl", PackageType.THEME)):
        for line in (root / name).read_bytes().splitlines():
            if line.strip():
                lines.append((kind, line))
    yield lines
