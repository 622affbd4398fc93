"""The real Composer client against ``curator serve``: the whole single-machine registry.

A data repository synced from the replay (through the ``curator`` CLI, as an operator runs
it), built and promoted, then ``curator serve`` in its own process. Debian's composer
installs from it with packagist.org off (``composer/installers`` is a stand-in
metapackage: it is not available offline). Checked:

- ``composer require`` posts notify-batch to ``/downloads`` and the package page's Composer
  install count goes up by one; installing again from the same client within 24 hours
  does not count again;
- a second ``composer update`` revalidates the unchanged p2 file and gets ``304`` (read from
  the server's access log).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from curator.replay import ReplayServer, ReplayState

CURATOR = [str(Path(sys.executable).with_name("curator"))]  # the console script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def curator(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*CURATOR, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"curator {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    return proc


class Server:
    """``curator serve`` in a child process, its log in a file."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [*CURATOR, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(f"curator serve did not start:\n{log.read_text()}")
            time.sleep(0.1)

    def installs(self, name: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/api/packages/{name}", timeout=5)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def page(self, name: str) -> str:
        answer = httpx.get(f"{self.url}/packages/{name}", timeout=5)
        assert answer.status_code == 200
        return answer.text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path, replay: ReplayServer) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "CURATOR_REPO": str(tmp_path / "data"),
        "CURATOR_STORAGE": str(tmp_path / "storage"),
    }
    notify = f"http://127.0.0.1:{port}/downloads"
    curator("init", str(tmp_path / "data"), "--prefix", "", "--upstream", replay.base_url,
            "--notify-batch", notify, env=env)  # fmt: skip
    curator("-q", "pipeline", env=env)
    running = Server(port, env, tmp_path / "serve.log")
    try:
        yield running
    finally:
        running.close()


class Project:
    def __init__(self, root: Path, registry_url: str) -> None:
        composer = shutil.which("composer")
        if composer is None:
            pytest.fail("composer is not installed (apt-get install composer)", pytrace=False)
        self.composer = composer
        self.root = root / "project"
        self.root.mkdir()
        self.env = {
            **os.environ,
            "COMPOSER_HOME": str(root / "composer-home"),
            "COMPOSER_CACHE_DIR": str(root / "composer-cache"),
            "COMPOSER_ALLOW_SUPERUSER": "1",
            "COMPOSER_NO_INTERACTION": "1",
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

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.composer, "--no-ansi", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"composer {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc


def composer_installs(page: str) -> int:
    match = re.search(r"<dt>Composer installs</dt><dd>([\d,]+)</dd>", page)
    assert match is not None, page
    return int(match.group(1).replace(",", ""))


def downloads_posts(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if '"POST /downloads' in line)


def test_composer_installs_count_once_and_updates_revalidate(
    server: Server, tmp_path: Path
) -> None:
    name = "wp-plugin/akismet"
    before = server.installs(name)
    assert before["composer_installs"] == 0 and composer_installs(server.page(name)) == 0

    project = Project(tmp_path, server.url)
    project.run("require", f"{name}:^5.3")
    assert (project.root / "vendor/wp-plugin/akismet/akismet.php").is_file()
    assert downloads_posts(server.log) == 1  # Composer reported the install
    after = server.installs(name)
    assert after["composer_installs"] == 1 and after["composer_installs_30_days"] == 1
    assert composer_installs(server.page(name)) == 1

    # the same client installs the same version again: reported, but not counted again
    shutil.rmtree(project.root / "vendor")
    project.run("install")
    assert downloads_posts(server.log) == 2
    assert server.installs(name)["composer_installs"] == 1
    assert composer_installs(server.page(name)) == 1

    # nothing changed: composer update revalidates its cached p2 file and gets 304
    project.run("update")
    log = server.log.read_text()
    assert re.search(r'"GET /p2/wp-plugin/akismet\.json HTTP/1\.1" 304', log), log
