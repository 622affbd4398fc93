"""The renderer: one record (+ override) -> p2 files, by hand-made records modelled on the
corpus oddities. Every rule of curator.build.render's docstring has a test here."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from curator import canonical
from curator.build.minify import minify
from curator.build.render import (
    INSTALLERS,
    ConfigError,
    Report,
    expand_package,
    render_list,
    render_package,
    render_packages_json,
    render_report,
)
from curator.composer import normalize, sort_key
from curator.layout import PackageType
from curator.models import Closure, PackageStatus, RegistryConfig
from curator.models.config import UpstreamConfig, Vendors
from tests.build.conftest import DROP, by_version, p2, record, versions

CONFIG = RegistryConfig()
URL = "https://downloads.wordpress.org/plugin"


def render(rec, override=None, config=CONFIG):  # type: ignore[no-untyped-def]
    return render_package(rec, override, config)


# --- names, files, order -------------------------------------------------------------------


def test_a_plugin_gets_two_p2_files_with_its_tags_newest_first() -> None:
    out = render(record())
    assert out.name == "wp-plugin/example"
    assert sorted(out.files) == ["p2/wp-plugin/example.json", "p2/wp-plugin/example~dev.json"]
    doc = p2(out)
    assert list(doc) == ["minified", "packages"] and doc["minified"] == "composer/2.0"
    assert [v["version"] for v in versions(out)] == ["1.2.0", "1.1.0", "1.0.0"]
    assert [v["version"] for v in versions(out, dev=True)] == ["dev-trunk"]
    assert out.listed and out.versions == 4 and out.report == {}


def test_version_entries_have_every_field_in_a_fixed_order() -> None:
    newest = versions(render(record()))[0]
    assert list(newest) == [
        "name",
        "version",
        "version_normalized",
        "type",
        "description",
        "homepage",
        "authors",
        "support",
        "dist",
        "require",
        "time",
    ]
    assert newest["type"] == "wordpress-plugin"
    assert newest["homepage"] == "https://example.com/plugin/"
    assert newest["support"] == {
        "forum": "https://wordpress.org/support/plugin/example/",
        "source": "https://plugins.trac.wordpress.org/browser/example/",
    }
    url = f"{URL}/example.1.2.0.zip"
    assert newest["dist"] == {
        "type": "zip",
        "url": url,
        "reference": hashlib.sha1(url.encode()).hexdigest(),
    }


def test_sorting_follows_composer_not_string_order() -> None:
    keys = ["1.10", "1.9", "1.10.0.1", "2.0-beta1", "2.0", "2.0-RC1", "0.9"]
    out = render(record(version="2.0", versions={k: f"{URL}/example.{k}.zip" for k in keys}))
    got = [v["version"] for v in versions(out)]
    assert got == ["2.0", "2.0-RC1", "2.0-beta1", "1.10.0.1", "1.10", "1.9", "0.9"]
    normalized = [v["version_normalized"] for v in versions(out)]
    assert normalized == sorted(normalized, key=sort_key, reverse=True)


def test_version_normalized_is_composers_normalisation_of_the_raw_key() -> None:
    keys = ["v1.1.7", "V1.0", "1.0.7.", "2024-01-05", "3.0.0-rc.2", "1.0.0-beta.1"]
    out = render(record(version="v1.1.7", versions={k: f"{URL}/e.{k}.zip" for k in keys}))
    for entry in versions(out):
        assert entry["version_normalized"] == normalize(entry["version"])
    assert {v["version"] for v in versions(out)} == set(keys)


def test_a_slug_composer_would_refuse_is_skipped_and_reported() -> None:
    out = render(record("bad_"))
    assert out.files == {} and not out.listed and out.versions == 0
    assert out.report == {
        "skipped_packages": [
            {"package": "wp-plugin/bad_", "reason": "not a valid Composer package name"}
        ]
    }
    assert render(record("double--dash")).files  # Composer allows up to two dashes


def test_themes_use_the_theme_vendor_and_have_no_trunk() -> None:
    rec = record(
        "harbor",
        kind=PackageType.THEME,
        version="2.1.0",
        versions={
            "2.0.0": "https://downloads.wordpress.org/theme/harbor.2.0.0.zip",
            "2.1.0": "https://downloads.wordpress.org/theme/harbor.2.1.0.zip",
        },
        author={
            "user_nicename": "harborteam",
            "profile": "https://profiles.wordpress.org/harborteam/",
            "display_name": "Harbor &amp; Team",
            "author": "The Harbor Team",
        },
        last_updated="2024-04-02",
        last_updated_time="2024-04-02 18:12:40",
        author_profile=DROP,
        short_description=DROP,
    )
    out = render(rec)
    assert out.name == "wp-theme/harbor"
    top = versions(out)[0]
    assert top["type"] == "wordpress-theme"
    assert top["authors"] == [
        {"name": "Harbor & Team", "homepage": "https://profiles.wordpress.org/harborteam/"}
    ]
    assert top["time"] == "2024-04-02T18:12:40+00:00"
    assert top["support"]["forum"] == "https://wordpress.org/support/theme/harbor/"
    assert top["support"]["source"] == "https://themes.trac.wordpress.org/browser/harbor/"
    assert versions(out, dev=True) == []
    assert p2(out, dev=True) == {"minified": "composer/2.0", "packages": {"wp-theme/harbor": []}}


# --- raw keys: "\r", trailing dots, invalid, branches, duplicates --------------------------


def test_carriage_return_keys_show_stripped_and_download_percent_encoded() -> None:
    versions_ = {
        "2.0.3\r": f"{URL}/example.2.0.3\r.zip",
        "2.0.4\r": f"{URL}/example.2.0.4\r.zip",
        "3.0.0": f"{URL}/example.3.0.0.zip",
    }
    out = render(record(version="3.0.0", versions=versions_))
    entries = by_version(out)
    assert set(entries) == {"3.0.0", "2.0.4", "2.0.3"}
    assert entries["2.0.3"]["version_normalized"] == "2.0.3.0" == normalize("2.0.3\r")
    assert entries["2.0.3"]["dist"]["url"] == f"{URL}/example.2.0.3%0D.zip"
    assert out.report == {}


def test_whitespace_php_does_not_trim_makes_a_key_invalid() -> None:
    # "\xa0" is whitespace to Python's strip() but not to PHP's trim(): never a version
    out = render(record(version="1.0", versions={"1.0\xa0": f"{URL}/x.zip", "1.0": f"{URL}/y.zip"}))
    assert [v["version"] for v in versions(out)] == ["1.0"]
    assert out.report["skipped_versions"][0]["version"] == "1.0\xa0"


def test_trailing_dot_keys_are_versions_composer_accepts() -> None:
    out = render(record(version="1.0.7.", versions={"1.0.7.": f"{URL}/v.1.0.7..zip"}))
    assert by_version(out)["1.0.7."]["version_normalized"] == "1.0.7.0"


def test_keys_composer_rejects_are_skipped_and_reported() -> None:
    keys = ["-1.0.0", "release-1.2.0", "1.2.3.4.5", "1.1.3", "trunk"]
    out = render(record(version="1.1.3", versions={k: f"{URL}/f.{k}.zip" for k in keys}))
    assert [v["version"] for v in versions(out)] == ["1.1.3"]
    skipped = out.report["skipped_versions"]
    assert [(s["version"], s["reason"]) for s in skipped] == [
        ("-1.0.0", "not a version Composer accepts"),
        ("release-1.2.0", "not a version Composer accepts"),
        ("1.2.3.4.5", "not a version Composer accepts"),
    ]
    assert all(s["package"] == "wp-plugin/example" for s in skipped)


def test_branch_like_tags_are_not_versions() -> None:
    keys = {"master": f"{URL}/m.zip", " trunk": f"{URL}/t.zip", "dev-next": f"{URL}/n.zip"}
    out = render(record(version="1.0", versions={**keys, "1.0": f"{URL}/1.zip"}))
    assert [v["version"] for v in versions(out)] == ["1.0"]
    assert [v["version"] for v in versions(out, dev=True)] == ["dev-trunk"]
    reasons = {s["version"]: s["reason"] for s in out.report["skipped_versions"]}
    assert reasons == {
        "master": "normalises to the branch name dev-master, not a version",
        " trunk": "normalises to the branch name dev-trunk, not a version",
        "dev-next": "normalises to the branch name dev-next, not a version",
    }


def test_a_tag_without_a_usable_url_is_skipped() -> None:
    out = render(record(version="1.0", versions={"1.0": "ftp://x/y.zip", "0.9": f"{URL}/a.zip"}))
    assert [v["version"] for v in versions(out)] == ["0.9"]
    assert out.report["skipped_versions"] == [
        {"package": "wp-plugin/example", "version": "1.0", "reason": "no http(s) download URL"}
    ]


def test_duplicate_normalised_versions_are_served_once_and_reported() -> None:
    keys = {
        "1.0": f"{URL}/a.1.0.zip",
        "1.0.0": f"{URL}/a.1.0.0.zip",
        "v1.0.0.0": f"{URL}/a.v1.zip",
        "2.0": f"{URL}/a.2.0.zip",
        "2.0.0": f"{URL}/a.2.0.0.zip",
    }
    out = render(record(version="2.0.0", versions=keys))
    assert [v["version"] for v in versions(out)] == ["2.0.0", "1.0"]  # stable wins, then min
    assert out.report["duplicate_versions"] == [
        {"package": "wp-plugin/example", "version": "1.0.0", "kept": "1.0",
         "normalized": "1.0.0.0"},
        {"package": "wp-plugin/example", "version": "v1.0.0.0", "kept": "1.0",
         "normalized": "1.0.0.0"},
        {"package": "wp-plugin/example", "version": "2.0", "kept": "2.0.0",
         "normalized": "2.0.0.0"},
    ]  # fmt: skip


def test_a_clean_key_wins_over_one_with_whitespace() -> None:
    keys = {"2.0.4\r": f"{URL}/b.2.0.4\r.zip", "2.0.4": f"{URL}/b.2.0.4.zip"}
    out = render(record(version="3.0", versions=keys))
    assert by_version(out)["2.0.4"]["dist"]["url"] == f"{URL}/b.2.0.4.zip"


def test_dev_stability_tags_go_to_the_dev_file() -> None:
    keys = {"1.0": f"{URL}/c.1.0.zip", "1.1-dev": f"{URL}/c.1.1-dev.zip"}
    out = render(record(version="1.0", versions=keys))
    assert [v["version"] for v in versions(out)] == ["1.0"]
    assert [v["version"] for v in versions(out, dev=True)] == ["dev-trunk", "1.1-dev"]


# --- stable and trunk ----------------------------------------------------------------------


def test_trunk_is_only_ever_dev_trunk() -> None:
    trunk = versions(render(record()), dev=True)[0]
    assert trunk["version"] == trunk["version_normalized"] == "dev-trunk"
    ref = trunk["dist"]["reference"]
    assert len(ref) == 40 and trunk["dist"]["url"] == f"{URL}/example.zip?ref={ref}"
    assert "time" not in trunk


def test_a_stable_version_that_is_not_tagged_is_not_served_as_a_number() -> None:
    # hello-dolly: version 1.7.2, stable_tag trunk, tags 1.5 and 1.6
    rec = record(
        "hello-dolly",
        version="1.7.2",
        stable_tag="trunk",
        versions={"1.5": f"{URL}/h.1.5.zip", "1.6": f"{URL}/h.1.6.zip", "trunk": f"{URL}/h.zip"},
        download_link=f"{URL}/hello-dolly.zip",
    )
    out = render(rec)
    assert [v["version"] for v in versions(out)] == ["1.6", "1.5"]
    trunk = versions(out, dev=True)[0]
    assert trunk["dist"]["url"].startswith(f"{URL}/h.zip?ref=")
    assert all("time" not in v for v in versions(out))  # last_updated is the untagged stable's


def test_no_tags_at_all_serves_only_dev_trunk_from_the_download_link() -> None:
    rec = record(
        "grid-gallery-lite",
        version="1.0",
        stable_tag="trunk",
        versions=[],
        download_link="https://downloads.wordpress.org/plugin/grid-gallery-lite.zip",
    )
    out = render(rec)
    assert versions(out) == []
    (trunk,) = versions(out, dev=True)
    assert trunk["dist"]["url"].startswith(f"{URL}/grid-gallery-lite.zip?ref=")
    assert out.listed and out.versions == 1


def test_a_versioned_download_link_is_never_the_trunk() -> None:
    rec = record(versions=[], download_link=f"{URL}/example.1.2.0.zip")
    (trunk,) = versions(render(rec), dev=True)
    assert trunk["dist"]["url"].startswith(f"{URL}/example.zip?ref=")
    config = RegistryConfig(upstream=UpstreamConfig.from_base("http://127.0.0.1:9"))
    (trunk,) = versions(render(rec, config=config), dev=True)
    assert trunk["dist"]["url"].startswith("http://127.0.0.1:9/downloads/plugin/example.zip?ref=")


def test_the_trunk_reference_changes_whenever_trunk_may_have_changed() -> None:
    def ref(**changes: object) -> str:
        rec = record(**changes)  # type: ignore[arg-type]
        return str(versions(render(rec), dev=True)[0]["dist"]["reference"])

    base = ref()
    assert ref() == base
    assert ref(revision=1235) != base
    assert ref(last_updated="2024-03-22 1:00am GMT") != base
    assert ref(version="1.2.1") != base
    other = {"trunk": f"{URL}/moved.zip", "1.2.0": f"{URL}/example.1.2.0.zip"}
    assert ref(versions=other) != base


def test_tag_references_are_stable() -> None:
    a = by_version(render(record(revision=1)))["1.0.0"]["dist"]
    b = by_version(render(record(revision=2, version="1.1.0")))["1.0.0"]["dist"]
    assert a == b


# --- requirements --------------------------------------------------------------------------


def test_php_and_plugin_requirements_apply_from_the_stable_version_up() -> None:
    keys = {k: f"{URL}/e.{k}.zip" for k in ["1.0.0", "1.1.0", "1.2.0", "1.3.0-beta1"]}
    rec = record(versions=keys, requires_plugins=["woocommerce", "contact-form-7"])
    out = render(rec)
    entries = by_version(out)
    current = {
        INSTALLERS[0]: INSTALLERS[1],
        "php": ">=7.4",
        "wp-plugin/contact-form-7": "*",
        "wp-plugin/woocommerce": "*",
    }
    assert entries["1.3.0-beta1"]["require"] == current
    assert entries["1.2.0"]["require"] == current
    assert entries["1.1.0"]["require"] == {INSTALLERS[0]: INSTALLERS[1]}
    assert entries["1.0.0"]["require"] == {INSTALLERS[0]: INSTALLERS[1]}
    assert versions(out, dev=True)[0]["require"] == current


def test_requirements_reach_only_trunk_when_the_version_does_not_normalise() -> None:
    out = render(record(version="latest", requires_php="8.1"))
    assert all("php" not in v["require"] for v in versions(out))
    assert versions(out, dev=True)[0]["require"]["php"] == ">=8.1"


@pytest.mark.parametrize("value", [False, "", None])
def test_unknown_requires_php_means_no_php_requirement(value: object) -> None:
    out = render(record(requires_php=value))
    assert all("php" not in v["require"] for v in versions(out) + versions(out, dev=True))
    assert out.report == {}


def test_garbage_requires_php_is_dropped_and_reported() -> None:
    out = render(record(requires_php="<= 8.2, please"))
    assert all("php" not in v["require"] for v in versions(out))
    assert out.report["notes"] == [
        {
            "package": "wp-plugin/example",
            "field": "requires_php",
            "value": "<= 8.2, please",
            "reason": "not a PHP version; no php requirement",
        }
    ]


def test_requires_php_forms_wordpress_understands() -> None:
    assert versions(render(record(requires_php="5.6.20")))[0]["require"]["php"] == ">=5.6.20"
    assert versions(render(record(requires_php="7.0+")))[0]["require"]["php"] == ">=7.0"


def test_unusable_requires_plugins_entries_are_dropped_and_reported() -> None:
    out = render(record(requires_plugins=["Bad Name", "example", "woocommerce"]))
    require = versions(out)[0]["require"]
    assert require["wp-plugin/woocommerce"] == "*"
    assert "wp-plugin/example" not in require  # itself
    assert [n["value"] for n in out.report["notes"]] == ["Bad Name", "example"]


def test_requires_plugins_sent_as_an_empty_php_object_is_nothing() -> None:
    out = render(record(requires_plugins={}))
    assert set(versions(out)[0]["require"]) == {"composer/installers", "php"}


# --- text, authors, homepage, times --------------------------------------------------------


def test_html_is_stripped_and_entities_decoded() -> None:
    entry = versions(render(record()))[0]
    assert entry["description"] == "Does useful things — quickly."
    assert entry["authors"] == [
        {"name": "José & Co", "homepage": "https://profiles.wordpress.org/example/"}
    ]


def test_missing_text_fields_are_left_out() -> None:
    rec = record(author="", short_description="  ", homepage="#", author_profile=False)
    entry = versions(render(rec))[0]
    assert "authors" not in entry and "description" not in entry
    assert entry["homepage"] == "https://wordpress.org/plugins/example/"


def test_times_are_known_or_absent() -> None:
    rec = record(first_seen={"1.1.0": "2026-11-01T13:00:00Z"})
    entries = by_version(render(rec))
    assert entries["1.2.0"]["time"] == "2024-03-21T00:55:00+00:00"  # 12:55am GMT
    assert entries["1.1.0"]["time"] == "2026-11-01T13:00:00+00:00"
    assert "time" not in entries["1.0.0"]
    assert "time" not in by_version(render(record(last_updated=False)))["1.2.0"]
    pm = by_version(render(record(last_updated="2024-04-09 7:02pm GMT")))["1.2.0"]["time"]
    assert pm == "2024-04-09T19:02:00+00:00"


# --- closed, not found, advisories ---------------------------------------------------------


def test_closed_packages_stay_installable_and_are_abandoned() -> None:
    closure = Closure(date="2024-02-12", reason="author-request", reason_text="Author Request")
    out = render(record(status=PackageStatus.CLOSED, closure=closure))
    assert out.listed
    assert all(v["abandoned"] is True for v in versions(out) + versions(out, dev=True))
    assert "security-advisories" not in p2(out)


def test_not_found_packages_are_abandoned_too() -> None:
    out = render(record(status=PackageStatus.NOT_FOUND))
    assert all(v["abandoned"] is True for v in versions(out))


def test_a_security_closure_is_an_advisory_composer_audit_reads() -> None:
    closure = Closure(date="2023-11-03", reason="security-issue", reason_text="Security Issue")
    out = render(record("insecure-uploader", status=PackageStatus.CLOSED, closure=closure))
    doc = p2(out)
    assert list(doc) == ["minified", "packages", "security-advisories"]
    assert doc["security-advisories"] == [
        {
            "advisoryId": "WPORG-PLUGIN-CLOSED-insecure-uploader-2023-11-03",
            "packageName": "wp-plugin/insecure-uploader",
            "remoteId": "plugin/insecure-uploader",
            "title": "Example & Friends was closed on WordPress.org: Security Issue",
            "link": "https://wordpress.org/plugins/insecure-uploader/",
            "affectedVersions": "*",
            "sources": [{"name": "WordPress.org", "remoteId": "plugin/insecure-uploader"}],
            "reportedAt": "2023-11-03T00:00:00+00:00",
        }
    ]
    assert "security-advisories" not in p2(out, dev=True)


def test_a_closed_package_never_seen_open_has_only_its_advisory() -> None:
    closure = Closure(date="2023-11-03", reason="security-issue")
    out = render(record("gone", status=PackageStatus.CLOSED, closure=closure, no_info=True))
    assert not out.listed and out.versions == 0
    assert p2(out)["packages"] == {"wp-plugin/gone": []}
    assert p2(out)["security-advisories"][0]["title"].startswith("gone was closed")
    assert p2(out, dev=True) == {"minified": "composer/2.0", "packages": {"wp-plugin/gone": []}}


def test_a_security_closure_without_a_date_is_reported_not_invented() -> None:
    closure = Closure(date=None, reason="security-issue")
    out = render(record(status=PackageStatus.CLOSED, closure=closure))
    assert "security-advisories" not in p2(out)
    assert out.report["notes"][0]["field"] == "closure.date"


# --- minified output -----------------------------------------------------------------------


def test_the_fast_minifier_equals_the_reference_port() -> None:
    rec = record(
        versions={k: f"{URL}/e.{k}.zip" for k in ["0.9", "1.0.0", "1.1.0", "1.2.0", "1.3-dev"]},
        first_seen={"1.1.0": "2026-11-01T13:00:00Z", "0.9": "2026-10-01T13:00:00Z"},
        requires_plugins=["woocommerce"],
    )
    report: Report = {}
    expanded = expand_package(rec, None, CONFIG, report)
    assert expanded is not None
    out = render(rec)
    for which, dev in ((expanded.tagged, False), (expanded.dev, True)):
        full = expanded.full(which)
        assert p2(out, dev=dev)["packages"][out.name] == minify(full)
        assert versions(out, dev=dev) == full


def test_the_p2_encoding_is_compact_and_deterministic() -> None:
    a, b = render(record()), render(record())
    assert a.files == b.files
    raw = a.files["p2/wp-plugin/example.json"]
    assert raw == orjson.dumps(orjson.loads(raw)) and b"\n" not in raw


# --- root documents ------------------------------------------------------------------------


def test_packages_json_points_composer_at_the_static_files() -> None:
    doc = canonical.loads(render_packages_json(CONFIG))
    assert doc == {
        "packages": [],
        "metadata-url": "/p2/%package%.json",
        "available-package-patterns": ["wp-plugin/*", "wp-theme/*"],
        "list": "/list.json",
        "security-advisories": {"metadata": True},
    }
    config = RegistryConfig(
        public_url="https://repo.example.org/composer/",
        notify_batch="https://stats.example.org/downloads/",
        vendors=Vendors(plugin="wpp", theme="wpt"),
    )
    doc = canonical.loads(render_packages_json(config))
    assert doc["metadata-url"] == "https://repo.example.org/composer/p2/%package%.json"
    assert doc["list"] == "https://repo.example.org/composer/list.json"
    assert doc["notify-batch"] == "https://stats.example.org/downloads/"
    assert doc["available-package-patterns"] == ["wpp/*", "wpt/*"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RegistryConfig(public_url="repo.example.org"), "public_url"),
        (RegistryConfig(notify_batch="/downloads/"), "notify_batch"),
        (RegistryConfig(vendors=Vendors(plugin="WP Plugin")), "vendors.plugin"),
        (RegistryConfig(vendors=Vendors(plugin="wp", theme="wp")), "must differ"),
    ],
)
def test_unusable_registry_settings_fail_naming_the_field(
    config: RegistryConfig, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        render_packages_json(config)


def test_list_and_report_are_sorted_and_deterministic() -> None:
    assert render_list(["wp-theme/b", "wp-plugin/z", "wp-plugin/a"]) == (
        b'{"packageNames":["wp-plugin/a","wp-plugin/z","wp-theme/b"]}'
    )
    report: Report = {
        "skipped_versions": [
            {"package": "wp-plugin/b", "version": "x", "reason": "r"},
            {"package": "wp-plugin/a", "version": "y", "reason": "r"},
        ]
    }
    doc = canonical.loads(render_report(report, source={"prefix": ""}))
    assert list(doc) == [
        "duplicate_versions",
        "format",
        "notes",
        "skipped_packages",
        "skipped_versions",
        "source",
        "yanked_versions",
    ]
    assert [e["package"] for e in doc["skipped_versions"]] == ["wp-plugin/a", "wp-plugin/b"]
