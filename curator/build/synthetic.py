"""Synthetic builds: plausible Composer v2 repositories of any size, for tests and benchmarks.

The content is fake but shaped like the real thing (minified ``composer/2.0`` p2 files of
1-4 KB, a ``~dev`` file per package, ``list.json``, ``packages.json``, ``report.json``) and
fully determined by the arguments, so two calls with the same arguments give the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson

from curator import canonical
from curator.build.manifest import Manifest, write_build


def package_names(plugins: int, themes: int = 0, *, seed: int = 0) -> list[str]:
    """``plugins`` + ``themes`` distinct, sorted package names (``wp-plugin/<slug>``, ...)."""
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    names: set[str] = set()
    for vendor, count in (("wp-plugin", plugins), ("wp-theme", themes)):
        slugs: set[str] = set()
        while len(slugs) < count:
            slug = rng.choice(alphabet) + "".join(rng.choices(alphabet + "-", k=rng.randint(3, 24)))
            slugs.add(slug.rstrip("-"))
        names.update(f"{vendor}/{slug}" for slug in slugs)
    return sorted(names)


def fake_commit(label: str) -> str:
    """A deterministic 40-hex id for ``label`` (stands in for a commit or tree SHA)."""
    return hashlib.sha1(label.encode()).hexdigest()


def _p2(name: str, revision: int, dev: bool) -> bytes:
    rng = random.Random(f"{name}:{revision}:{dev}")
    slug = name.split("/", 1)[1]
    kind = "wordpress-plugin" if name.startswith("wp-plugin/") else "wordpress-theme"
    versions: list[dict[str, object]] = []
    count = 1 if dev else rng.randint(1, 12)
    for i in range(count):
        version = "dev-trunk" if dev else f"{1 + i // 4}.{i % 4}.{rng.randint(0, 9)}"
        entry: dict[str, object] = {
            "name": name,
            "version": version,
            "version_normalized": "dev-trunk" if dev else f"{version}.0",
            "type": kind,
            "dist": {
                "type": "zip",
                "url": f"https://downloads.wordpress.org/plugin/{slug}.{version}.zip",
            },
            "require": {"composer/installers": "^1.0 || ^2.0", "php": ">=7.4"},
            "homepage": f"https://wordpress.org/plugins/{slug}/",
            "description": "".join(rng.choices(string.ascii_lowercase + " ", k=120)),
            "extra": {"curator-revision": revision},
        }
        if not dev:
            entry["time"] = f"20{10 + i:02d}-01-0{1 + i % 9}T00:00:00+00:00"
        versions.append(entry)
    body = {"minified": "composer/2.0", "packages": {name: versions}}
    return orjson.dumps(body)


def render(
    names: Sequence[str],
    *,
    revisions: Mapping[str, int] | None = None,
    build_label: str = "",
) -> dict[str, bytes]:
    """The files of a synthetic build: path -> bytes.

    ``revisions`` maps a p2 path (``p2/wp-plugin/x.json``) to a revision number; changing
    it changes that file's content and nothing else. ``build_label`` goes into
    ``packages.json`` (so a new label changes that file, as a new real build may).
    """
    revs = revisions or {}
    files: dict[str, bytes] = {}
    for name in names:
        for dev in (False, True):
            path = f"p2/{name}~dev.json" if dev else f"p2/{name}.json"
            files[path] = _p2(name, revs.get(path, 0), dev)
    files["list.json"] = canonical.dumps({"packageNames": sorted(names)})
    files["packages.json"] = canonical.dumps(
        {
            "available-package-patterns": ["wp-plugin/*", "wp-theme/*"],
            "list": "/list.json",
            "metadata-url": "/p2/%package%.json",
            "notify-batch": "/downloads",
            "packages": [],
            "synthetic-build": build_label,
        }
    )
    files["report.json"] = canonical.dumps({"skipped": []})
    return files


def write(
    directory: Path,
    names: Sequence[str],
    *,
    revisions: Mapping[str, int] | None = None,
    label: str = "build",
    time: int = 1_790_000_000,
    extra: Mapping[str, bytes] | None = None,
) -> Manifest:
    """Write a synthetic build into ``directory`` (manifest last); returns its manifest.

    The commit and tree are derived from ``label``; ``extra`` adds or replaces files.
    """
    files = render(names, revisions=revisions, build_label=label)
    files.update(extra or {})
    return write_build(
        directory,
        files,
        commit=fake_commit(f"commit:{label}"),
        tree=fake_commit(f"tree:{label}"),
        time=time,
        counts={"packages": len(names), "p2_files": sum(1 for p in files if p.startswith("p2/"))},
    )
