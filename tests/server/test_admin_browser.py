"""The admin area in real Chromium (headless): sign in, roll back to the previous build, see
the public ``packages.json`` change, watch a log record stream in, sign out.

Screenshots go to ``test-artifacts/`` (``admin-*.png``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import playwright.sync_api as playwright_sync
import pytest
from admin_helpers import EMAIL, PASSWORD, add_user, live_server
from server_helpers import BuildMaker
from test_server_browser import ARGS, ARTIFACTS, CHROMIUM  # fails the module without chromium

from curator.storage.local import LocalStorage
from server.app import create_app
from server.runtime.engine import default_url
from server.settings import ServerSettings


@pytest.fixture
def site_url(make_build: BuildMaker, storage: LocalStorage) -> Iterator[str]:
    make_build(label="b1", time=1_790_000_000)
    make_build(label="b2", time=1_790_000_100)
    add_user(default_url(storage.root))
    with live_server(create_app(ServerSettings(storage=storage.root))) as url:
        yield url


def test_sign_in_roll_back_and_sign_out(site_url: str, storage: LocalStorage) -> None:
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(page: playwright_sync.Page, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)

    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def packages_label() -> str:
                """The label of /packages.json as the browser shows it (revalidated: the
                file is cacheable for 60 s, a reload asks the server again)."""
                page.goto(f"{site_url}/packages.json")
                page.reload()
                label: str = json.loads(page.inner_text("body"))["label"]
                return label

            assert packages_label() == "b2"
            page.goto(f"{site_url}/admin/builds")
            page.wait_for_url("**/admin/login?next=/admin/builds")
            assert page.get_by_role("heading", level=1).inner_text() == "Sign in to the admin area"
            page.get_by_label("Email address").fill(EMAIL)
            page.get_by_label("Password").fill("not the password!")
            page.get_by_role("button", name="Sign in").click()
            assert "not correct" in page.get_by_role("alert").inner_text()
            shot(page, "login-failed")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/admin/builds")
            assert page.get_by_role("heading", level=1).inner_text() == "Builds"
            rows = page.locator("table.builds tbody tr")
            assert rows.count() == 2 and "current" in rows.first.inner_text()
            shot(page, "builds")

            page.get_by_role("button", name="Roll back to the previous build").click()
            page.wait_for_url("**/admin/builds?done=rollback**")
            assert "Rolled back to build" in page.get_by_role("status").first.inner_text()
            current = storage.current()
            assert current is not None and current.endswith("-b1")
            assert "current" in page.locator("table.builds tbody tr.current").inner_text()
            assert current in page.locator("table.builds tbody tr.current").inner_text()
            shot(page, "rolled-back")
            assert packages_label() == "b1"  # the public repository follows at once

            page.goto(f"{site_url}/admin/logs")
            assert "rollback to build" in page.locator("#log-rows").inner_text()
            page.wait_for_function(
                "document.getElementById('log-status').textContent.startsWith('Live')"
            )
            logging.getLogger("server.tests").warning("streamed into the open page")
            page.locator("#log-rows tr.fresh", has_text="streamed into the open page").wait_for(
                timeout=10_000
            )
            shot(page, "logs")

            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url("**/admin/login?signed_out=1")
            assert "You have signed out." in page.get_by_role("status").inner_text()
            shot(page, "signed-out")
            page.goto(f"{site_url}/admin/")
            page.wait_for_url("**/admin/login?next=/admin**")
            assert packages_label() == "b1"
        finally:
            browser.close()
