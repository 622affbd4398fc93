"""The pure parsers of curator.upstream: SVN listings, Trac changelogs, info answers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from curator.layout import PackageType
from curator.models import Closure
from curator.upstream import (
    Closed,
    Failed,
    FailureKind,
    Found,
    LogEntry,
    NotFound,
    ParseError,
    SvnListingParser,
    changed_slugs,
    parse_info_response,
    parse_svn_listing,
    parse_trac_changelog,
)

P, T = PackageType.PLUGIN, PackageType.THEME
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "wporg"


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the real-world tests need ../shared beside the checkout")
    return path.read_bytes()


def found(body: bytes | dict[str, Any], kind: PackageType = P) -> Found:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    result = parse_info_response(kind, 200, raw)
    assert isinstance(result, Found), result
    return result


# --- SVN listing ------------------------------------------------------------------------------


def test_svn_listing_fixtures() -> None:
    plugins = parse_svn_listing(fixture("wpdirectory-wporg__plugins_list.html").decode())
    assert plugins.revision == 1902056
    assert plugins.slugs == ["my-wp-health-check", "woocommerce", "wordpress-seo", "wordfence"]
    assert plugins.rejected == []
    themes = parse_svn_listing(fixture("wpdirectory-wporg__themes_list.html").decode())
    assert themes.revision == 95831
    assert themes.slugs == ["hestia", "oceanwp", "twentyeleven", "twentyfifteen", "twentysixteen"]


def test_svn_listing_tolerates_markup_variations() -> None:
    page = """<HTML><head><title>plugins - Revision 42: /</title></head><body>
    <h2>plugins - Revision 42: /</h2>
    <ul>
      <li><a href="../">..</a></li>
      <LI><A HREF="upper/">upper/</A></LI>
      <li class="dir"><a class="x" href='single-quoted/'>single-quoted/</a></li>
      <li>
          <a
             href="split-lines/">split-lines/</a>
      </li>
      <li><a href=bare-attr/>bare-attr/</a></li>
      <li><a href="with.dot_and-dash/">with.dot_and-dash/</a></li>
      <li><a href="pct%2Dencoded/">pct-encoded/</a></li>
      <li><a href="Bad%20Name/">Bad Name/</a></li>
      <li><a href=".hidden/">.hidden/</a></li>
      <li><a href="README.txt">README.txt</a></li>
      <li><a href="upper/">upper/</a></li>
    </ul>
    <hr noshade><em>Powered by <a href="http://subversion.apache.org/">Subversion</a></em>
    </body></HTML>"""
    listing = parse_svn_listing(page)
    assert listing.revision == 42
    assert listing.slugs == [
        "upper",
        "single-quoted",
        "split-lines",
        "bare-attr",
        "with.dot_and-dash",
        "pct-encoded",
    ]
    assert listing.rejected == ["Bad Name", ".hidden", "README.txt"]


def test_svn_listing_streams_in_any_chunking() -> None:
    page = fixture("wpdirectory-wporg__plugins_list.html").decode()
    whole = parse_svn_listing(page)
    for size in (1, 2, 3, 7, 64):
        parser = SvnListingParser()
        for i in range(0, len(page), size):
            parser.feed(page[i : i + size])
        assert parser.close() == whole


def test_svn_listing_without_revision_is_an_error() -> None:
    with pytest.raises(ParseError):
        parse_svn_listing("<html><body><h1>503 Service Unavailable</h1></body></html>")
    with pytest.raises(ParseError):
        parse_svn_listing("")


def test_svn_listing_at_wordpress_scale_is_fast() -> None:
    slugs = [f"plugin-{i:06d}" for i in range(100_000)]
    page = (
        "<html><head><title> - Revision 3100000: /</title></head>\n<body>\n <ul>\n"
        + "".join(f'  <li><a href="{s}/">{s}/</a></li>\n' for s in slugs)
        + " </ul>\n</body></html>\n"
    )
    started = time.perf_counter()
    parser = SvnListingParser()
    for i in range(0, len(page), 65536):
        parser.feed(page[i : i + 65536])
    listing = parser.close()
    elapsed = time.perf_counter() - started
    assert listing.revision == 3100000
    assert listing.slugs == slugs
    assert elapsed < 5.0  # about 0.1 s on a CI core


# --- Trac changelog ---------------------------------------------------------------------------


def test_changelog_fixture_entries_newest_first() -> None:
    entries = parse_trac_changelog(fixture("wpdirectory-wporg__plugins_changelog.txt").decode())
    assert [e.revision for e in entries] == [1901056, 1901055, 1901054, 1901053, 1901052]
    first = entries[0]
    assert first.time == "Fri, 29 Jun 2018 09:21:11 GMT"
    assert first.author == "yamoney"
    assert first.message == "Исправлены мелкие ошибки"
    assert first.paths[0] == ("yandex-money-checkout/trunk/README.txt", "modified")
    assert len(first.paths) == 5
    last = entries[-1]
    assert last.author == "MyThemeShop"
    assert last.message == "v1.1.7"
    assert last.paths[0] == ("wp-quiz/tags/1.1.7", "added")
    assert last.paths[-1] == ("wp-quiz/trunk/readme.txt", "modified")
    assert len(last.paths) == 53
    assert changed_slugs(entries) == {
        "yandex-money-checkout": 1901056,
        "amazify": 1901055,
        "businesspress": 1901053,
        "wp-quiz": 1901052,
    }


def test_changelog_head_revision_fixtures() -> None:
    plugins = parse_trac_changelog(
        fixture("wpdirectory-wporg__plugins_latest-revision.txt").decode()
    )
    assert [(e.revision, e.author, e.message) for e in plugins] == [
        (1902056, "liedekef", "release 1.0.39")
    ]
    assert plugins[0].paths[0] == ("eme-sync-facebook-events/tags/1.0.39", "copied")
    themes = parse_trac_changelog(fixture("wpdirectory-wporg__themes_latest-revision.txt").decode())
    assert [e.revision for e in themes] == [95831]
    assert themes[0].paths[0] == ("customize/1.1.9", "added")
    assert len(themes[0].paths) == 99
    # theme paths are <slug>/<version>/...: the package is still the first component
    assert changed_slugs(themes) == {"customize": 95831}


def test_changelog_entries_without_message_and_deletions() -> None:
    entries = parse_trac_changelog(fixture("wpdirectory-wporg__themes_changelog.txt").decode())
    assert [e.revision for e in entries] == [95831, 95830, 95829, 95828, 95827]
    assert entries[1].message == "First commit"
    assert [e.message for e in entries[2:]] == ["", "", ""]
    assert entries[4].paths == [
        ("wp-postviews-plus-widget/trunk/wp-postviews-plus-widget.rar", "deleted")
    ]
    assert changed_slugs(entries)["wp-postviews-plus-widget"] == 95829


def test_changelog_oddities() -> None:
    text = (
        "#\n# ChangeLog for /\n#\n\n"
        "Mon, 02 Jul 2018 10:00:00 GMT Jane Doe [12]\n"
        "\t* /leading-slash/trunk/a b.php (moved)\n"
        "\t* Not A Slug/trunk/x.php (modified)\n"
        "\n"
        "\tfirst line\n"
        "\t* not a path (added)\n"
        "\n"
        "\tlast line\n"
        "\n\n"
        "Mon, 02 Jul 2018 09:00:00 GMT  [11]\n"
        "\t* leading-slash/tags/1.0 (copied)\n"
        "\n\n"
    )
    entries = parse_trac_changelog(text)
    assert entries == [
        LogEntry(
            revision=12,
            time="Mon, 02 Jul 2018 10:00:00 GMT",
            author="Jane Doe",
            paths=[
                ("leading-slash/trunk/a b.php", "moved"),
                ("Not A Slug/trunk/x.php", "modified"),
            ],
            message="first line\n* not a path (added)\n\nlast line",
        ),
        LogEntry(
            revision=11,
            time="Mon, 02 Jul 2018 09:00:00 GMT",
            author="",
            paths=[("leading-slash/tags/1.0", "copied")],
            message="",
        ),
    ]
    # newest revision wins; invalid first components are skipped
    assert changed_slugs(entries) == {"leading-slash": 12}


def test_changelog_of_something_else_is_empty() -> None:
    assert parse_trac_changelog("") == []
    assert parse_trac_changelog("<html><body>Trac error</body></html>") == []


# --- info answers -----------------------------------------------------------------------------


def test_found_keeps_only_model_fields_verbatim() -> None:
    result = found(fixture("dd32-wporg-plugins-data__wingipay-payment-gateway.json"))
    info = result.info
    assert info.slug == "wingipay-payment-gateway"
    assert info.versions == []
    assert info.requires is False
    assert info.tested is False
    assert info.requires_php is False
    assert info.requires_plugins == []
    assert info.tags == []
    assert info.stable_tag == "trunk"
    assert info.author == (
        '<a href="https://wingipay.com/about/">Wingi Pay, Michael, Patrick, Teddy</a>'
    )
    # heavy fields never reach the record
    for dropped in ("sections", "description", "banners", "icons", "ratings", "contributors"):
        assert dropped not in result.raw
    assert info.model_dump(mode="json", exclude_unset=True) == result.raw


def test_found_oddities_survive() -> None:
    a2 = found(fixture("dd32-wporg-plugins-data__a2-optimized-wp.json")).info
    assert "&#8211;" in a2.name
    assert isinstance(a2.versions, dict)
    cr_keys = [k for k in a2.versions if "\r" in k]
    assert "2.0.10.9.1\r" in cr_keys
    assert a2.versions["2.0.10.9.1\r"].endswith("a2-optimized-wp.2.0.10.9.1\r.zip")

    voucher = found(fixture("dd32-wporg-plugins-data__simple-voucher.json")).info
    assert "1.0.7." in voucher.version_keys()

    dolly = found(fixture("dd32-wporg-plugins-data__hello-dolly.json")).info
    assert (dolly.version, dolly.stable_tag, dolly.requires_php) == ("1.7.2", "1.7.3", False)

    smule = found(fixture("dd32-wporg-plugins-data__widget-for-smule-iframes.json")).info
    assert "trunk" not in smule.version_keys()


def test_found_theme_with_extended_author() -> None:
    result = found(
        fixture("wp-top12__theme_information_twentytwentytwo_1.0_EXCERPT_from_php_comment.json"), T
    )
    assert isinstance(result.info.author, dict)
    assert result.info.author["display_name"] == "WordPress.org"
    assert result.info.last_updated_time == "2022-01-25 22:25:39"
    assert "sections" not in result.raw


@pytest.mark.parametrize(
    "name",
    [
        "roots-wp-packages__plugin_information_1.2_closed_yalw_permanent_FROM_GO_TEST_STRING.json",
        "meta-trac-8214-comment3__plugin_information_1.2_closed_test-plugin-3_JQ_TRANSCRIBED.json",
    ],
)
def test_closed_fixtures(name: str) -> None:
    result = parse_info_response(P, 404, fixture(name))
    assert isinstance(result, Closed)
    closure = result.closure
    assert closure.reason == "author-request"
    assert closure.reason_text == "Author Request"
    assert closure.permanent is True
    assert closure.date in ("2026-04-09", "2025-09-03")
    assert closure.notice is not None and "closure is permanent" in closure.notice


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "error": "closed",
                "slug": "x",
                "description": "This plugin has been closed as of May 1, 2026 and is not "
                "available for download. This closure is temporary, pending a full review.",
                "closed": True,
                "closed_date": "2026-05-01",
                "reason": False,
                "reason_text": False,
            },
            Closure(
                date="2026-05-01",
                reason=False,
                reason_text=False,
                permanent=False,
                notice="This plugin has been closed as of May 1, 2026 and is not available "
                "for download. This closure is temporary, pending a full review.",
            ),
        ),
        (
            {
                "error": "closed",
                "description": "This plugin has been closed and is not available for download.",
                "closed_date": "2012-01-01",
                "reason": "unknown",
                "reason_text": "Unknown",
            },
            Closure(
                date="2012-01-01",
                reason="unknown",
                reason_text="Unknown",
                permanent=None,
                notice="This plugin has been closed and is not available for download.",
            ),
        ),
        ({"error": "closed", "closed_date": False}, Closure()),
    ],
)
def test_closed_shapes(body: dict[str, Any], expected: Closure) -> None:
    for status in (404, 200):
        result = parse_info_response(P, status, orjson.dumps(body))
        assert result == Closed(expected)


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        (
            P,
            "server-source__plugin_information_1.2_error_not_found_HTTP404.json",
            "Plugin not found.",
        ),
        (
            P,
            "server-source__plugin_information_1.2_error_invalid_slug_HTTP404.json",
            "Invalid plugin slug.",
        ),
        (T, "server-source__theme_information_1.2_error_not_found_HTTP404.json", "Theme not found"),
    ],
)
def test_not_found_fixtures(kind: PackageType, name: str, message: str) -> None:
    assert parse_info_response(kind, 404, fixture(name)) == NotFound(message)
    assert parse_info_response(kind, 200, fixture(name)) == NotFound(message)


def failed(kind: PackageType, status: int, body: bytes, **kw: Any) -> Failed:
    result = parse_info_response(kind, status, body, **kw)
    assert isinstance(result, Failed), result
    return result


def test_failed_html_body() -> None:
    html = b"<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>"
    f = failed(P, 200, html, content_type="text/html; charset=UTF-8")
    assert f.reason == "HTTP 200 with a non-JSON body (text/html)"
    assert f.kind is FailureKind.MALFORMED
    assert "looks like HTML" in failed(P, 200, html).reason
    assert failed(P, 404, html).reason == "HTTP 404 with a non-JSON body (looks like HTML)"


def test_failed_truncated_body() -> None:
    body = fixture("dd32-wporg-plugins-data__hello-dolly.json")
    f = failed(P, 200, body[: len(body) // 2], content_type="application/json")
    assert f.kind is FailureKind.MALFORMED
    assert f.reason == f"HTTP 200 with truncated JSON ({len(body) // 2} bytes)"
    bad = failed(P, 200, b'{"name": "x", oops}')
    assert bad.kind is FailureKind.MALFORMED
    assert bad.reason.startswith("HTTP 200 with malformed JSON (")  # orjson's words follow
    assert failed(P, 200, b"").reason == "HTTP 200 with an empty body"


@pytest.mark.parametrize(
    ("status", "body", "reason", "kind"),
    [
        (200, b"[1, 2]", "HTTP 200 with JSON list, not an object", FailureKind.MALFORMED),
        (200, b"null", "HTTP 200 with JSON null, not an object", FailureKind.MALFORMED),
        (200, b'{"slug": "x"}', "HTTP 200 JSON object without 'name'", FailureKind.INVALID),
        (
            200,
            b'{"info": {"page": 1}}',
            "HTTP 200 JSON object without 'name' and 'slug'",
            FailureKind.INVALID,
        ),
        (
            404,
            b'{"name": "x", "slug": "x"}',
            "HTTP 404 with a JSON object but no error",
            FailureKind.INVALID,
        ),
        (
            200,
            b'{"error": "Slug not provided"}',
            "HTTP 200: plugin API error 'Slug not provided'",
            FailureKind.UPSTREAM_ERROR,
        ),
        (503, b'{"error": "closed"}', "HTTP 503", FailureKind.SERVER_ERROR),
        (403, b"Forbidden", "HTTP 403", FailureKind.HTTP_STATUS),
    ],
)
def test_failed_shapes(status: int, body: bytes, reason: str, kind: FailureKind) -> None:
    assert failed(P, status, body) == Failed(reason, kind)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("versions", "1.0"),
        ("active_installs", "1000"),
        ("active_installs", 1.5),
        ("requires", 6),
        ("tags", {"a": 1}),
        ("name", None),
    ],
)
def test_wrong_types_fail_validation_and_name_the_field(field: str, value: Any) -> None:
    record = orjson.loads(fixture("dd32-wporg-plugins-data__hello-dolly.json"))
    record[field] = value
    f = failed(P, 200, orjson.dumps(record))
    assert f.kind is FailureKind.INVALID
    assert f.reason.startswith(f"invalid field {field!r}: ")
    assert len(f.reason) < 200


def test_unrequested_fields_are_not_validated() -> None:
    record = orjson.loads(fixture("dd32-wporg-plugins-data__hello-dolly.json"))
    record["ratings"] = "garbage"
    record["sections"] = None
    assert found(record).raw.keys() <= set(record)
