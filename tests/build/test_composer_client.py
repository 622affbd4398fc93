"""The real Composer client (Debian's composer 2.5) against a build served over HTTP.

Sync the sample corpus from the replay (whose download URLs then point at the replay), build,
promote, serve ``current`` on 127.0.0.1, and run composer offline (temporary home and cache,
packagist.org off, http allowed). ``composer/installers`` is not available offline: the test
repository defines a stand-in metapackage of that name, so packages land in ``vendor/``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from curator.build.builder import build
from curator.datarepo import DataRepo
from curator.replay import ReplayServer, ReplayState
from curator.storage.local import LocalStorage
from tests.conftest import RepoFactory, sync_once

pytestmark = pytest.mark.slow


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


class Registry:
    """A data repository synced from the replay, its storage, and ``current`` on HTTP."""

    def __init__(self, repo: DataRepo, replay: ReplayServer, storage: LocalStorage) -> None:
        self.repo, self.replay, self.storage = repo, replay, storage
        storage.repository.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Quiet, directory=str(storage.current_link))
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def publish(self) -> Any:
        """Sync, build (incrementally after the first time) and promote."""
        report = sync_once(self.repo, self.replay.base_url)
        assert report.ok, report.failures
        time.sleep(1.05)  # http.server's Last-Modified has one-second resolution
        result = build(self.repo, None, self.storage, None)
        assert result.build_id is not None
        self.storage.promote(result.build_id)
        return result

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def registry(
    new_data_repo: RepoFactory, replay: ReplayServer, tmp_path: Path
) -> Iterator[Registry]:
    reg = Registry(new_data_repo(), replay, LocalStorage(tmp_path / "storage"))
    try:
        yield reg
    finally:
        reg.close()


# Debian 13's composer package (2.8), unpacked by scripts/debian_composer.py (scripts/setup).
MODERN_COMPOSER = Path(__file__).resolve().parents[2] / ".tools" / "composer" / "composer"


def modern_composer() -> str:
    if not MODERN_COMPOSER.is_file():
        pytest.fail(
            f"{MODERN_COMPOSER} is missing: run scripts/setup (scripts/debian_composer.py)",
            pytrace=False,
        )
    return str(MODERN_COMPOSER)


class Project:
    def __init__(self, root: Path, registry_url: str, composer: str | None = None) -> None:
        composer = composer or shutil.which("composer")
        if composer is None:
            pytest.fail("composer is not installed (apt-get install composer)", pytrace=False)
        self.composer = composer
        self.root = root / "project"
        self.root.mkdir(parents=True)
        self.env = {
            **os.environ,
            "COMPOSER_HOME": str(root / "composer-home"),
            "COMPOSER_CACHE_DIR": str(root / "composer-cache"),
            "COMPOSER_ALLOW_SUPERUSER": "1",
            "COMPOSER_NO_INTERACTION": "1",
            "COMPOSER_DISABLE_NETWORK": "0",
        }
        manifest = {
            "name": "test/site",
            "minimum-stability": "stable",
            "repositories": [
                {"packagist.org": False},
                {"type": "composer", "url": registry_url},
                {
                    "type": "package",
                    "package": {
                        "name": "composer/installers",
                        "version": "2.2.0",
                        "type": "metapackage",
                    },
                },
            ],
            "config": {"secure-http": False},
        }
        (self.root / "composer.json").write_text(json.dumps(manifest, indent=2))

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.composer, "--no-ansi", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if ok:
            assert proc.returncode == 0, f"composer {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc

    def installed(self, slug: str) -> str:
        return (self.root / "vendor" / "wp-plugin" / slug / f"{slug}.php").read_text()


def test_composer_lists_installs_updates_and_audits(registry: Registry, tmp_path: Path) -> None:
    first = registry.publish()
    assert first.counts["packages"] > 20
    project = Project(tmp_path, registry.url)

    # composer show -a: every served version, newest first, dev-trunk among them
    shown = project.run("show", "-a", "wp-plugin/akismet").stdout
    line = next(x for x in shown.splitlines() if x.startswith("versions"))
    listed = [v.strip(" *") for v in line.split(":", 1)[1].split(",")]
    assert listed[0] == "dev-trunk" and listed[1:3] == ["5.3.2", "5.3.1"], listed
    assert "type     : wordpress-plugin" in shown

    # odd tags: "2.0.3\r" is served as 2.0.3 and downloads from the %0D URL
    shown = project.run("show", "-a", "wp-plugin/hosting-speed-tuner").stdout
    assert re.search(r"versions : .*\b2\.0\.4\.1, 2\.0\.4, 2\.0\.3\b", shown), shown

    # composer show -a (the list) and search read list.json
    everything = project.run("show", "-a", "--name-only").stdout.split()
    assert "wp-plugin/akismet" in everything and "wp-theme/twentytwentyfour" in everything
    assert "wp-plugin/akismet" in project.run("search", "akismet").stdout

    # require: resolves, downloads the zip the replay serves, installs it
    project.run("require", "wp-plugin/akismet:^5.3", "wp-plugin/hosting-speed-tuner:2.0.3")
    assert "Version: 5.3.2" in project.installed("akismet")
    assert "Version: 2.0.3" in project.installed("hosting-speed-tuner")
    lock = json.loads((project.root / "composer.lock").read_text())
    akismet = next(p for p in lock["packages"] if p["name"] == "wp-plugin/akismet")
    assert akismet["time"] == "2024-04-09T19:02:00+00:00"
    assert akismet["dist"]["url"].startswith(registry.replay.base_url)

    # dev-trunk: a new trunk gives a new reference and URL, so update fetches the new zip
    project.run("require", "wp-plugin/hello-dolly:dev-trunk")
    assert "Version: 1.7.2" in project.installed("hello-dolly")
    registry.replay.state.apply_changes(
        [{"type": "plugin", "slug": "hello-dolly", "action": "update", "patch": {"version": "1.8"}}]
    )
    second = registry.publish()
    assert second.incremental and second.rendered >= 1
    project.run("update", "wp-plugin/hello-dolly")
    assert "Version: 1.8" in project.installed("hello-dolly")

    # closed for a security issue: abandoned, and composer audit reports an advisory
    registry.replay.state.apply_changes(
        [
            {
                "type": "plugin",
                "slug": "akismet",
                "action": "close",
                "closure": {"date": "2024-05-01", "reason": "security-issue"},
            }
        ]
    )
    registry.publish()
    audit = project.run("audit", "--format=plain", ok=False)
    assert audit.returncode != 0, audit.stdout + audit.stderr
    output = audit.stdout + audit.stderr
    assert "Package: wp-plugin/akismet" in output, output
    assert "was closed on WordPress.org" in output
    assert "Affected versions: *" in output
    assert "Reported at: 2024-05-01T00:00:00+00:00" in output
    updated = project.run("update", "wp-plugin/akismet")
    assert "Package wp-plugin/akismet is abandoned" in updated.stderr
    lock = json.loads((project.root / "composer.lock").read_text())
    akismet = next(p for p in lock["packages"] if p["name"] == "wp-plugin/akismet")
    assert akismet["abandoned"] is True and akismet["version"] == "5.3.2"


def test_composer_2_8_audit_reports_the_security_closure_and_the_abandoned_plugin(
    registry: Registry, tmp_path: Path
) -> None:
    """Debian 12's composer (2.5) audits advisories only; from 2.7 on, `composer audit` also
    fails on abandoned packages. Debian 13's composer 2.8 sees both in one audit."""
    registry.publish()
    project = Project(tmp_path, registry.url, composer=modern_composer())
    assert re.search(r"Composer version 2\.(8|9|\d\d)\.", project.run("--version").stdout)
    project.run("require", "wp-plugin/akismet:^5.3", "wp-plugin/hello-dolly:^1.6")
    assert project.run("audit", "--format=plain").returncode == 0  # nothing to report yet

    registry.replay.state.apply_changes(
        [
            {
                "type": "plugin",
                "slug": "akismet",
                "action": "close",
                "closure": {"date": "2024-05-01", "reason": "security-issue"},
            },
            {
                "type": "plugin",
                "slug": "hello-dolly",
                "action": "close",
                "closure": {"date": "2024-05-02", "reason": "author-request"},
            },
        ]
    )
    registry.publish()
    # The lock records abandonment on update; `audit --locked` (what CI runs) reads the lock
    updated = project.run("update")
    assert "Package wp-plugin/hello-dolly is abandoned" in updated.stderr, updated.stderr
    locked = project.run("audit", "--format=plain", "--locked", ok=False)
    # and a fresh install from that lock records it for a plain `composer audit`
    shutil.rmtree(project.root / "vendor")
    project.run("install")
    installed = project.run("audit", "--format=plain", ok=False)
    for audit in (locked, installed):
        output = audit.stdout + audit.stderr
        assert audit.returncode == 3, output  # 1: vulnerable, 2: abandoned
        # the security closure: an advisory against every version
        assert "Found 1 security vulnerability advisory affecting 1 package" in output, output
        assert "Package: wp-plugin/akismet" in output
        assert "was closed on WordPress.org: Security Issue" in output
        assert "Affected versions: *" in output
        # both closures: abandoned packages, with no replacement suggested
        assert "Found 2 abandoned packages" in output, output
        assert "wp-plugin/akismet is abandoned. No replacement was suggested." in output
        assert "wp-plugin/hello-dolly is abandoned. No replacement was suggested." in output
    # Debian 12's composer (2.5), on the same project: the advisory, but not the abandonment
    legacy = Project(tmp_path / "legacy", registry.url)
    legacy.root = project.root
    old = legacy.run("audit", "--format=plain", ok=False)
    assert old.returncode == 1, old.stdout + old.stderr
    assert "Package: wp-plugin/akismet" in old.stdout + old.stderr
    assert "abandoned" not in (old.stdout + old.stderr).lower()


README = Path(__file__).resolve().parents[2] / "README.md"
README_MARK = "<!-- composer.json example: tests/build/test_composer_client.py installs from it -->"


def readme_composer_json() -> dict[str, Any]:
    text = README.read_text()
    block = text[text.index(README_MARK) :].split("```json\n", 1)[1].split("```", 1)[0]
    parsed: dict[str, Any] = json.loads(block)
    return parsed


def test_the_readme_composer_json_installs(registry: Registry, tmp_path: Path) -> None:
    """The README's composer.json for WordPress projects, pointed at a build: it resolves
    and installs a tagged plugin, a dev-trunk plugin and a theme."""
    registry.publish()
    manifest = readme_composer_json()
    (repo,) = manifest["repositories"]
    assert repo["url"] == "https://wp-composer.example.org"
    repo["url"] = registry.url
    # packagist.org is out of reach here: composer/installers comes from a stub package
    manifest["repositories"] = [
        {"packagist.org": False},
        repo,
        {
            "type": "package",
            "package": {"name": "composer/installers", "version": "2.2.0", "type": "metapackage"},
        },
    ]
    manifest["config"]["secure-http"] = False
    project = Project(tmp_path, registry.url, composer=modern_composer())
    (project.root / "composer.json").write_text(json.dumps(manifest, indent=2))
    project.run("install")
    lock = json.loads((project.root / "composer.lock").read_text())
    versions = {p["name"]: p["version"] for p in lock["packages"]}
    assert versions["wp-plugin/akismet"] == "5.3.2"
    assert versions["wp-plugin/hello-dolly"] == "dev-trunk"
    assert versions["wp-theme/twentytwentyfour"].count(".") >= 1
    assert "Version: 5.3.2" in project.installed("akismet")
    types = {p["name"]: p["type"] for p in lock["packages"]}
    assert types["wp-plugin/akismet"] == "wordpress-plugin"
    assert types["wp-theme/twentytwentyfour"] == "wordpress-theme"
