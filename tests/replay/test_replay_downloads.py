"""Generated download zips: layout, headers, odd version names, determinism, 404s."""

from __future__ import annotations

import io
import zipfile

import httpx
from replay_helpers import info

from curator.layout import PackageType
from curator.replay import ReplayState, zips
from curator.replay.zips import package_zip


def _open(content: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    return archive


def _tops(archive: zipfile.ZipFile) -> set[str]:
    return {name.split("/", 1)[0] for name in archive.namelist()}


def test_plugin_zip(client: httpx.Client) -> None:
    response = client.get("/downloads/plugin/akismet.5.3.1.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = _open(response.content)
    assert _tops(archive) == {"akismet"}
    assert set(archive.namelist()) == {"akismet/", "akismet/akismet.php", "akismet/readme.txt"}
    php = archive.read("akismet/akismet.php").decode()
    assert " * Plugin Name: Akismet Anti-spam: Spam Protection\n" in php
    assert " * Version: 5.3.1\n" in php and " * Requires PHP: 5.6.20\n" in php
    readme = archive.read("akismet/readme.txt").decode()
    assert readme.startswith("=== Akismet Anti-spam: Spam Protection ===\n")
    assert "Stable tag: 5.3.2\n" in readme
    assert all(info.date_time == (2024, 1, 1, 0, 0, 0) for info in archive.infolist())


def test_latest_zip_and_plugin_dependencies(client: httpx.Client) -> None:
    latest = _open(client.get("/downloads/plugin/form-to-sheet-sync.zip").content)
    php = latest.read("form-to-sheet-sync/form-to-sheet-sync.php").decode()
    assert " * Version: 2.1.0\n" in php and " * Requires Plugins: contact-form-7\n" in php


def test_every_rewritten_url_downloads(client: httpx.Client) -> None:
    """Each download URL the info API hands out works, odd version keys included."""
    for slug in ("hosting-speed-tuner", "voucher-press", "fleet-tracker", "page-forge-builder"):
        body = info(client, slug).json()
        urls = [body["download_link"], *body["versions"].values()]
        for url in urls:
            path = url.split("/downloads/", 1)[1]
            response = client.get(f"/downloads/{path.replace(chr(13), '%0D')}")
            assert response.status_code == 200, url
            assert _tops(_open(response.content)) == {slug}
    carriage = _open(client.get("/downloads/plugin/hosting-speed-tuner.2.0.3%0D.zip").content)
    assert (
        " * Version: 2.0.3\n"
        in carriage.read("hosting-speed-tuner/hosting-speed-tuner.php").decode()
    )
    dotted = client.get("/downloads/plugin/voucher-press.1.0.7..zip")
    assert dotted.status_code == 200


def test_theme_zip(client: httpx.Client) -> None:
    archive = _open(client.get("/downloads/theme/northwind-blocks.0.1.0.zip").content)
    assert _tops(archive) == {"northwind-blocks"}
    style = archive.read("northwind-blocks/style.css").decode()
    assert "Theme Name: Northwind Blocks\n" in style and "Version: 0.1.0\n" in style
    assert "Template: twentytwentyfour\n" in style
    assert "northwind-blocks/readme.txt" in archive.namelist()
    assert client.get("/downloads/theme/twentytwentyfour.zip").status_code == 200


def test_unknown_downloads_are_404(client: httpx.Client) -> None:
    for path in (
        "/downloads/plugin/akismet.9.9.9.zip",
        "/downloads/plugin/no-such-plugin.zip",
        "/downloads/plugin/old-closed-gallery.zip",
        "/downloads/plugin/akismet.trunk.zip",
        "/downloads/plugin/akismet.tar.gz",
        "/downloads/plugin/a/b.zip",
        "/downloads/theme/no-such-theme.1.0.zip",
        "/downloads/theme/twentytwentyfour.0.9.zip",
        "/downloads/widget/x.zip",
    ):
        assert client.get(path).status_code == 404, path


def test_zips_are_deterministic() -> None:
    record = ReplayState.sample().plugins["classic-editor"]
    first = package_zip(PackageType.PLUGIN, "classic-editor", "1.0-rc1", record)
    zips._plugin_zip.cache_clear()  # build the bytes again rather than reuse them
    again = package_zip(PackageType.PLUGIN, "classic-editor", "1.0-rc1", dict(record))
    assert first is not again
    assert first == again
    assert first != package_zip(PackageType.PLUGIN, "classic-editor", "1.0", record)
