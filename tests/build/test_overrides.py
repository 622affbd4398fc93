"""Overrides: trustee patches applied by the renderer, and errors that name file and field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from curator.build.overrides import OverrideError, field_path, parse_override
from curator.build.render import INSTALLERS, render_orphan_override, render_package
from curator.layout import PackageType
from curator.models import OverrideFile, RegistryConfig
from tests.build.conftest import by_version, p2, record, versions

CONFIG = RegistryConfig()
PATH = "overrides/plugins/example.json"
INSTALLER = {INSTALLERS[0]: INSTALLERS[1]}


def override(**fields: Any) -> OverrideFile:
    data: dict[str, Any] = {"reason": "testing", "author": "trustee", "date": "2026-11-01"}
    data.update(fields)
    return OverrideFile.model_validate(data)


def render(over: OverrideFile, **record_fields: Any):  # type: ignore[no-untyped-def]
    return render_package(record(**record_fields), over, CONFIG, override_path=PATH)


def errors(over: OverrideFile, **record_fields: Any) -> list[str]:
    with pytest.raises(OverrideError) as info:
        render(over, **record_fields)
    return info.value.problems


# --- applying ------------------------------------------------------------------------------


def test_no_override_changes_nothing() -> None:
    assert render(override()).files == render_package(record(), None, CONFIG).files


def test_abandoned_and_replacement() -> None:
    out = render(override(abandoned=True))
    assert all(v["abandoned"] is True for v in versions(out) + versions(out, dev=True))
    out = render(override(replacement="wp-plugin/better"))
    assert {v["abandoned"] for v in versions(out)} == {"wp-plugin/better"}


def test_blocked_serves_no_versions_and_is_reported() -> None:
    out = render(override(blocked=True, reason="malware in every release"))
    assert versions(out) == [] and versions(out, dev=True) == []
    assert not out.listed and out.versions == 0
    assert out.report["skipped_packages"] == [
        {"package": "wp-plugin/example", "reason": "blocked by override: malware in every release"}
    ]


def test_package_level_require_and_conflict_reach_every_version() -> None:
    out = render(override(require={"php": ">=8.0", "ext-gd": "*"}, conflict={"wp-plugin/x": "<2"}))
    for entry in versions(out) + versions(out, dev=True):
        assert entry["require"]["php"] == ">=8.0" and entry["require"]["ext-gd"] == "*"
        assert entry["conflict"] == {"wp-plugin/x": "<2"}
    assert list(versions(out)[0]["require"]) == ["composer/installers", "ext-gd", "php"]


def test_null_removes_a_requirement() -> None:
    out = render(override(require={"php": None}))
    assert all("php" not in v["require"] for v in versions(out) + versions(out, dev=True))
    out = render(override(require={"composer/installers": None}))
    assert by_version(out)["1.0.0"]["require"] == {}


def test_version_overrides_by_raw_key_normalised_version_and_trunk() -> None:
    over = override(
        versions={
            "1.0.0": {"require": {"php": ">=5.6 <8"}},
            "1.1.0.0": {"conflict": {"wp-plugin/other": "*"}},
            "trunk": {"require": {"php": ">=8.2"}},
        }
    )
    out = render(over)
    entries = by_version(out)
    assert entries["1.0.0"]["require"] == {**INSTALLER, "php": ">=5.6 <8"}
    assert entries["1.1.0"]["conflict"] == {"wp-plugin/other": "*"}
    assert "conflict" not in entries["1.2.0"]
    assert entries["1.2.0"]["require"]["php"] == ">=7.4"
    assert versions(out, dev=True)[0]["require"]["php"] == ">=8.2"


def test_a_version_override_applies_after_the_package_level_one() -> None:
    over = override(require={"php": ">=7.0"}, versions={"1.2.0": {"require": {"php": None}}})
    entries = by_version(render(over))
    assert "php" not in entries["1.2.0"]["require"]
    assert entries["1.1.0"]["require"]["php"] == ">=7.0"


def test_yanked_versions_are_omitted_and_reported() -> None:
    over = override(
        versions={"1.1.0": {"yanked": True, "reason": "deletes uploads"}, "trunk": {"yanked": True}}
    )
    out = render(over)
    assert [v["version"] for v in versions(out)] == ["1.2.0", "1.0.0"]
    assert versions(out, dev=True) == []
    assert out.report["yanked_versions"] == [
        {"package": "wp-plugin/example", "version": "1.1.0",
         "reason": "yanked by override: deletes uploads"},
        {"package": "wp-plugin/example", "version": "dev-trunk",
         "reason": "yanked by override: testing"},
    ]  # fmt: skip
    assert out.versions == 2


def test_an_override_of_a_version_that_is_not_served_is_harmless() -> None:
    keys = {"release-1": "https://x.org/r.zip", "1.0": "https://x.org/a.zip"}
    out = render(override(versions={"release-1": {"yanked": True}}), version="1.0", versions=keys)
    assert [v["version"] for v in versions(out)] == ["1.0"]


def test_an_orphan_override_is_checked_and_reported() -> None:
    out = render_orphan_override(
        PackageType.PLUGIN, "nothing", override(abandoned=True), CONFIG, override_path=PATH
    )
    assert out.files == {} and out.report["notes"][0]["value"] == PATH
    with pytest.raises(OverrideError, match="replacement"):
        render_orphan_override(
            PackageType.PLUGIN, "n", override(replacement="Nope"), CONFIG, override_path=PATH
        )


def test_the_advisory_survives_a_block() -> None:
    from curator.models import Closure, PackageStatus

    closure = Closure(date="2023-11-03", reason="security-issue")
    out = render(override(blocked=True), status=PackageStatus.CLOSED, closure=closure)
    assert versions(out) == [] and p2(out)["security-advisories"]


# --- errors --------------------------------------------------------------------------------


def test_an_invalid_constraint_names_file_and_field() -> None:
    problems = errors(override(versions={"9.9": {"require": {"php": ">>7"}}}), version="9.9",
                      versions={"9.9": "https://x.org/9.9.zip"})  # fmt: skip
    assert problems == ['overrides/plugins/example.json: versions."9.9".require.php: '
                        'invalid constraint ">>7"']  # fmt: skip


def test_an_unknown_version_names_file_and_key() -> None:
    assert errors(override(versions={"9.9": {"yanked": True}})) == [
        'overrides/plugins/example.json: versions."9.9": no such version of this package'
    ]


def test_every_problem_is_reported_at_once() -> None:
    over = override(
        replacement="Not A Name",
        require={"not a package": "*", "php": "^^8"},
        conflict={"wp-plugin/x": "latest"},
        versions={"1.0": {"require": {"ext-gd": "~"}}},
    )
    assert errors(over) == [
        'overrides/plugins/example.json: replacement: invalid package name "Not A Name"',
        'overrides/plugins/example.json: require."not a package": invalid package name '
        '"not a package"',
        'overrides/plugins/example.json: require.php: invalid constraint "^^8"',
        'overrides/plugins/example.json: conflict."wp-plugin/x": invalid constraint "latest"',
        'overrides/plugins/example.json: versions."1.0".require.ext-gd: invalid constraint "~"',
    ]


def test_two_keys_for_one_version_are_an_error() -> None:
    problems = errors(override(versions={"1.0.0": {}, "1.0.0.0": {}}))
    assert problems == [
        'overrides/plugins/example.json: versions."1.0.0.0": names the same version as '
        'versions."1.0.0"'
    ]


def test_themes_have_no_trunk_to_override() -> None:
    over = override(versions={"trunk": {"yanked": True}})
    with pytest.raises(OverrideError, match="no such version"):
        render_package(record(kind=PackageType.THEME), over, CONFIG, override_path=PATH)


def test_parse_errors_name_file_and_field() -> None:
    with pytest.raises(OverrideError, match=r"^overrides/plugins/x.json: not valid JSON"):
        parse_override(b"{", "overrides/plugins/x.json")
    raw = orjson.dumps(
        {"reason": "r", "author": "a", "date": "2026-11-01", "versions": {"1.0": {"yank": 1}}}
    )
    with pytest.raises(OverrideError) as info:
        parse_override(raw, "overrides/plugins/x.json")
    assert info.value.problems[0].startswith(
        "overrides/plugins/x.json: reason: String should have at least 3 characters"
    )
    assert any('versions."1.0".yank: Extra inputs' in p for p in info.value.problems)


def test_a_good_file_parses() -> None:
    raw = orjson.dumps({"reason": "why not", "author": "a", "date": "2026-11-01"})
    assert parse_override(raw, PATH).date == dt.date(2026, 11, 1)


def test_field_paths_quote_what_needs_quoting() -> None:
    assert field_path("versions", "9.9", "require", "php") == 'versions."9.9".require.php'
    assert field_path("require", "wp-plugin/x") == 'require."wp-plugin/x"'
    assert field_path("versions", 0) == "versions.0"
