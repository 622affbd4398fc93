"""Pure parts of telemetry: the client address behind proxies, the notify-batch body, and
which entries name a package and version of the build."""

from __future__ import annotations

import pytest

from server.telemetry.clientip import client_ip, trusted_proxies
from server.telemetry.payload import Download, PayloadError, parse_notify_batch
from server.telemetry.resolve import resolve

TRUSTED = trusted_proxies(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # an untrusted peer is the client; its header is ignored
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # a trusted peer without a header is the client
        ("127.0.0.1", [], "127.0.0.1"),
        # a trusted peer: the right-most address that is not a trusted proxy
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["1.1.1.1, 198.51.100.1, 10.1.2.3"], "198.51.100.1"),
        ("10.0.0.5", ["1.1.1.1", "198.51.100.1"], "198.51.100.1"),  # several headers
        # a spoofed left part does not matter
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
        # all hops trusted: the left-most
        ("127.0.0.1", ["10.0.0.1, 10.0.0.2"], "10.0.0.1"),
        # garbage ends the walk at the proxy that reported it
        ("127.0.0.1", ["1.1.1.1, not-an-ip"], "127.0.0.1"),
        ("127.0.0.1", ["not-an-ip, 10.0.0.7"], "10.0.0.7"),
        # IPv6, and IPv4-mapped IPv6 as IPv4
        ("::1", ["2001:db8::1"], "2001:db8::1"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["::ffff:198.51.100.1"], "198.51.100.1"),
        # spaces and empty hops
        ("127.0.0.1", [" 198.51.100.1 ,, "], "198.51.100.1"),
        # no peer (unix socket) or a non-IP peer: never trusted
        (None, ["198.51.100.1"], ""),
        ("testclient", ["198.51.100.1"], "testclient"),
    ],
)
def test_client_ip(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_ip(peer, forwarded, TRUSTED) == expected


def test_client_ip_bounds_the_header() -> None:
    hops = ", ".join(f"10.0.{i // 250}.{i % 250}" for i in range(2000))
    assert client_ip("127.0.0.1", [hops + ", 198.51.100.1"], TRUSTED).startswith("10.")
    assert client_ip("127.0.0.1", ["10.0.0.1, " * 100 + "198.51.100.1"], TRUSTED) == (
        "198.51.100.1"
    )


def test_trusted_proxies_parse() -> None:
    parsed = trusted_proxies(["192.168.1.0/24", " 127.0.0.1 "])
    assert len(parsed.networks) == 2
    with pytest.raises(ValueError, match="not an IP address or network"):
        trusted_proxies(["proxy.example.org"])


def test_parse_composer_payload() -> None:
    body = (
        b'{"downloads":[{"name":"wp-plugin/akismet","version":"5.3.1.0"},'
        b'{"name":"wp-theme/twentytwentyfour","version":"1.1.0.0","downloaded":false}]}'
    )
    assert parse_notify_batch(body) == [
        Download("wp-plugin/akismet", "5.3.1.0"),
        Download("wp-theme/twentytwentyfour", "1.1.0.0"),
    ]
    assert parse_notify_batch(b'{"downloads": []}') == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b'{"downloads": [}', "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'"downloads"', "must be a JSON object"),
        (b"{}", "no 'downloads' list"),
        (b'{"downloads": null}', "no 'downloads' list"),
        (b'{"downloads": {"name": "a/b"}}', "'downloads' must be a list"),
        (b'{"downloads": "a/b"}', "'downloads' must be a list"),
        (b'{"downloads": [1]}', r"downloads\[0\] must be an object"),
        (b'{"downloads": [["a/b", "1.0"]]}', r"downloads\[0\] must be an object"),
        (b'{"downloads": [{"version": "1.0"}]}', r"downloads\[0\]\.name must be a string"),
        (b'{"downloads": [{"name": 5, "version": "1.0"}]}', r"downloads\[0\]\.name"),
        (
            b'{"downloads": [{"name": "a/b", "version": "1"}, {"name": "a/b", "version": 1}]}',
            r"downloads\[1\]\.version must be a string",
        ),
        (b'{"downloads": [{"name": "a/b", "version": null}]}', r"\.version must be a string"),
    ],
)
def test_parse_rejects(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_notify_batch(body)


def test_parse_caps_entries() -> None:
    entry = '{"name": "a/b", "version": "1.0"}'
    assert (
        len(
            parse_notify_batch(
                f'{{"downloads": [{",".join([entry] * 5)}]}}'.encode(), max_entries=5
            )
        )
        == 5
    )
    with pytest.raises(PayloadError, match="has 6 entries; at most 5"):
        parse_notify_batch(f'{{"downloads": [{",".join([entry] * 6)}]}}'.encode(), max_entries=5)


def test_resolve() -> None:
    known = {
        "wp-plugin/akismet": frozenset({"5.3.1.0", "5.3.0.0", "dev-trunk"}),
        "wp-plugin/empty": frozenset(),
    }
    resolved = resolve(
        [
            Download("wp-plugin/akismet", "5.3.1.0"),  # normalised (what Composer sends)
            Download("WP-Plugin/Akismet", "5.3.1"),  # pretty, names are case-insensitive
            Download("wp-plugin/akismet", "v5.3"),  # pretty with a v
            Download("wp-plugin/akismet", "dev-trunk"),
            Download("wp-plugin/akismet", "9.9.9.9"),  # not published
            Download("wp-plugin/akismet", "not a version"),
            Download("wp-plugin/akismet", "5" * 500),  # too long to look at
            Download("wp-plugin/nope", "1.0.0.0"),  # unknown package
            Download("wp-plugin/empty", "1.0.0.0"),
            Download("../../etc/passwd", "1.0"),  # not a package name
            Download("a/" + "b" * 300, "1.0"),
        ],
        known.get,
    )
    assert resolved.installs == [
        ("wp-plugin/akismet", "5.3.1.0"),
        ("wp-plugin/akismet", "5.3.1.0"),
        ("wp-plugin/akismet", "5.3.0.0"),
        ("wp-plugin/akismet", "dev-trunk"),
    ]
    assert resolved.ignored == 7
