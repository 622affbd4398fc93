"""End to end in real Chromium (headless): search, open a package, see its versions.

Screenshots go to ``test-artifacts/`` (phone and desktop viewports). Skipped when
Playwright or /usr/bin/chromium is not installed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from server_helpers import BuildMaker

from server.app import create_app
from server.settings import ServerSettings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():  # scripts/setup installs it; a missing browser is a broken setup
    pytest.fail("chromium is not installed: run scripts/setup", pytrace=False)
import playwright.sync_api as playwright_sync  # noqa: E402


@pytest.fixture
def live_url(make_build: BuildMaker, storage: object) -> Iterator[str]:
    make_build()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    app = create_app(ServerSettings(storage=storage.root))  # type: ignore[attr-defined]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize(
    ("label", "viewport"),
    [("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 900})],
)
def test_search_and_open_package(live_url: str, label: str, viewport: dict[str, int]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # one Composer install reported (notify-batch), so the page has a count to show
    body = {"downloads": [{"name": "wp-plugin/contact-form-7", "version": "5.9.3.0"}]}
    reported = httpx.post(f"{live_url}/downloads", json=body, timeout=10)
    assert reported.status_code == 200 and reported.json()["accepted"] == 1, reported.text
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.goto(f"{live_url}/")
            assert page.get_by_role("heading", level=1).inner_text() == "Browse packages"
            page.screenshot(path=str(ARTIFACTS / f"browse-{label}.png"), full_page=True)
            page.get_by_label("Search packages").fill("contactform7")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url("**/?q=contactform7**")
            link = page.get_by_role("link", name="Contact Form 7")
            assert link.count() == 1
            page.screenshot(path=str(ARTIFACTS / f"search-{label}.png"), full_page=True)
            link.click()
            page.wait_for_url("**/packages/wp-plugin/contact-form-7")
            assert page.get_by_role("heading", level=1).inner_text() == "Contact Form 7"
            versions = page.locator("table.versions tbody tr")
            assert versions.count() == 4
            assert "5.9.3" in versions.first.inner_text()
            assert "composer require wp-plugin/contact-form-7" in page.content()
            installs = page.locator("dt:text-is('Composer installs') + dd")
            assert installs.inner_text() == "1"
            page.screenshot(path=str(ARTIFACTS / f"package-{label}.png"), full_page=True)
        finally:
            browser.close()
