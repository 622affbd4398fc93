"""The package page's ``composer config repositories...`` snippet without ``--public-url``:
the request's base URL, made https when a trusted proxy (and only a trusted proxy) says the
client came over HTTPS with ``X-Forwarded-Proto``, as the admin cookies decide."""

from __future__ import annotations

import re

import httpx
import pytest
from admin_helpers import live_server
from server_helpers import BuildMaker

from curator.storage.local import LocalStorage
from server.app import create_app
from server.settings import ServerSettings

PAGE = "/packages/wp-plugin/contact-form-7"
_SNIPPET_RE = re.compile(r"composer config repositories\.wp-org composer (\S+?)</code>")


def snippet_url(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text
    found = _SNIPPET_RE.search(page.text)
    assert found is not None, page.text
    return found.group(1)


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_https_from_a_trusted_proxy_gives_an_https_url(
    storage: LocalStorage, make_build: BuildMaker, trusted: bool
) -> None:
    make_build()
    settings = ServerSettings(
        storage=storage.root, trusted_proxies=("127.0.0.1",) if trusted else ("10.9.9.9",)
    )
    with live_server(create_app(settings)) as url:
        host = url.removeprefix("http://")
        proxied = httpx.get(f"{url}{PAGE}", headers={"X-Forwarded-Proto": "https"})
        plain = httpx.get(f"{url}{PAGE}")
        # the right-most value counts, as for the admin cookies
        spoofed_last = httpx.get(f"{url}{PAGE}", headers={"X-Forwarded-Proto": "https, http"})
    expected = f"https://{host}" if trusted else f"http://{host}"
    assert snippet_url(proxied) == expected
    assert snippet_url(plain) == f"http://{host}"  # pages are cached per URL: not mixed up
    assert snippet_url(spoofed_last) == f"http://{host}"


def test_public_url_wins_over_forwarded_headers(
    storage: LocalStorage, make_build: BuildMaker
) -> None:
    make_build()
    settings = ServerSettings(storage=storage.root, public_url="https://repo.example.org/")
    with live_server(create_app(settings)) as url:
        page = httpx.get(f"{url}{PAGE}", headers={"X-Forwarded-Proto": "http"})
    assert snippet_url(page) == "https://repo.example.org"
