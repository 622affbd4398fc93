"""`validate_view`: every kind of override problem, named by file, field and value."""

from __future__ import annotations

import time
from typing import Any

import pytest

from curator.build.overrides import OverrideError
from curator.build.render import render_package
from curator.build.seed import commit_records
from curator.datarepo import DataRepo
from curator.gitstore import Snapshot
from curator.layout import package_path
from curator.models import OverrideFile, RegistryConfig
from curator.review.validate import (
    MAX_FILE_BYTES,
    Problem,
    Validation,
    check_override_path,
    validate_view,
)
from tests.build.conftest import record
from tests.conftest import RepoFactory
from tests.review.conftest import (
    GOOD,
    P,
    T,
    git_add_entry,
    override_bytes,
    plugin_override,
    theme,
    write,
)

FILE = "overrides/plugins/example.json"


def check(repo: DataRepo, raw: bytes, path: str = FILE) -> Validation:
    write(repo, {path: raw})
    return validate_view(repo.view())


def problems(repo: DataRepo, raw: bytes, path: str = FILE) -> dict[str, Problem]:
    """The problems of one file, by field (every one must name that file)."""
    result = check(repo, raw, path)
    assert not result.ok
    for problem in result.problems:
        assert problem.path == path and problem.field and problem.message, problem
        assert problem.line().startswith(f"{path}: {problem.field}: ")
    return {p.field: p for p in result.problems}


def only(repo: DataRepo, raw: bytes, field: str, *words: str) -> Problem:
    found = problems(repo, raw)
    assert list(found) == [field], [p.line() for p in found.values()]
    problem = found[field]
    for word in words:
        assert word in problem.line(), problem.line()
    return problem


# --- valid files ---------------------------------------------------------------------------


def test_a_repository_without_overrides_is_valid(repo: DataRepo) -> None:
    result = validate_view(repo.view())
    assert result.ok and result.files == 0
    assert result.to_json() == {
        "commit": repo.head(),
        "ok": True,
        "files": 0,
        "problems": [],
    }


def test_valid_overrides_pass(repo: DataRepo) -> None:
    good = override_bytes(
        require={"php": ">=8.0", "ext-gd": "*", "wp-plugin/other": "^1.0"},
        conflict={"wp-plugin/other": "<1.1"},
        versions={
            "1.0.0": {"yanked": True, "reason": "deletes uploads"},
            "1.1.0.0": {"require": {"php": ">=5.6 <8", "composer/installers": None}},
            "trunk": {"require": {"php": ">=8.2"}},
        },
        replacement="wp-plugin/other",
    )
    write(repo, {FILE: good, "overrides/themes/twentyx.json": override_bytes(blocked=True)})
    result = validate_view(repo.view())
    assert result.ok, [p.line() for p in result.problems]
    assert result.files == 2


# --- form ----------------------------------------------------------------------------------


def test_not_json(repo: DataRepo) -> None:
    only(repo, b'{"reason": ', "<file>", "not valid JSON")


def test_not_an_object(repo: DataRepo) -> None:
    problem = only(repo, b"[1, 2]", "<file>", "valid dictionary")
    assert problem.value == "[1, 2]"


def test_duplicate_keys_are_named(repo: DataRepo) -> None:
    raw = b'{"reason": "a reason", "author": "t", "date": "2026-11-01", "reason": "other"}'
    problem = only(repo, raw, "<file>", "duplicate key")
    assert problem.value == '"reason"'


def test_too_large(repo: DataRepo) -> None:
    raw = override_bytes(reason="x" * (MAX_FILE_BYTES + 10))
    only(repo, raw, "<file>", f"larger than {MAX_FILE_BYTES} bytes")


def test_missing_fields_are_each_named(repo: DataRepo) -> None:
    found = problems(repo, b"{}")
    assert set(found) == {"reason", "author", "date"}
    assert all(p.message == "required field is missing" and p.value is None for p in found.values())


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"reason": "ok"}, "reason", ("at least 3 characters", '"ok"')),
        ({"reason": "     "}, "reason", ("must not be blank",)),
        ({"author": " "}, "author", ("must not be blank",)),
        ({"reason": "hidden\u202etxt.exe"}, "reason", ("control or invisible", "\\u202e")),
        ({"reason": "x" * 5000}, "reason", ("longer than 1000", "(5000 characters)")),
        ({"date": "yesterday"}, "date", ("YYYY-MM-DD", '"yesterday"')),
        ({"date": "2026-11-01T10:00:00"}, "date", ("YYYY-MM-DD",)),
        ({"date": 1767225600}, "date", ("YYYY-MM-DD", "1767225600")),
        ({"abandoned": "no"}, "abandoned", ("JSON boolean", '"no"')),
        ({"blocked": 1}, "blocked", ("JSON boolean",)),
        ({"schema_version": 2}, "schema_version", ("Input should be 1",)),
        ({"require": ["php"]}, "require", ("valid dictionary",)),
        ({"versions": {"1.0.0": {"yanked": "yes"}}}, 'versions."1.0.0".yanked', ("JSON boolean",)),
        ({"versions": {"1.0.0": {"reason": ""}}}, 'versions."1.0.0".reason', ("blank",)),
        ({"versions": {"1.0.0": []}}, 'versions."1.0.0"', ("valid dictionary",)),
        ({"require": {"php": 8}}, "require.php", ("valid string", "8")),
    ],
)
def test_form_problems_name_the_field(
    repo: DataRepo, fields: dict[str, Any], field: str, words: tuple[str, ...]
) -> None:
    found = problems(repo, override_bytes(**fields))
    assert field in found, [p.line() for p in found.values()]
    for word in words:
        assert word in found[field].line()


def test_unknown_fields_are_rejected_so_no_dist_url_can_be_set(repo: DataRepo) -> None:
    """The override model has no URL field at all: a `dist` (or any other) key is refused, at
    package and at version level, and the URL is shown as the offending value."""
    assert not {"dist", "url", "source"} & set(OverrideFile.model_fields)
    raw = override_bytes(
        dist={"type": "zip", "url": "https://evil.example/x.zip"},
        versions={"1.0.0": {"dist": {"url": "http://evil.example/<script>.zip"}}},
    )
    found = problems(repo, raw)
    assert set(found) == {"dist", 'versions."1.0.0".dist'}
    assert "unknown field" in found["dist"].message
    assert "https://evil.example/x.zip" in str(found["dist"].value)
    assert "<script>" in str(found['versions."1.0.0".dist'].value)


# --- meaning -------------------------------------------------------------------------------


def test_an_override_for_a_missing_package(repo: DataRepo) -> None:
    write(repo, {package_path(P, "example"): None})
    problem = only(
        repo,
        override_bytes(abandoned=True),
        "<file>",
        "no package wp-plugin/example",
        "packages/plugins/ex/example.json",
    )
    assert problem.value == '"example"'


def test_override_for_a_missing_package_is_reported_with_its_own_name(repo: DataRepo) -> None:
    path = plugin_override("gone")
    found = problems(repo, override_bytes(abandoned=True), path)
    assert "no package wp-plugin/gone" in found["<file>"].message


def test_unknown_versions_list_the_known_tags(repo: DataRepo) -> None:
    problem = only(repo, override_bytes(versions={"9.9": {"yanked": True}}), 'versions."9.9"')
    assert "no such version of wp-plugin/example" in problem.message
    assert "1.0.0, 1.1.0, 1.2.0" in problem.message and problem.value == '"9.9"'


def test_versions_by_normalised_form_and_duplicates(repo: DataRepo) -> None:
    raw = override_bytes(versions={"1.0.0": {"yanked": True}, "1.0.0.0": {"yanked": True}})
    problem = only(repo, raw, 'versions."1.0.0.0"', 'same version as versions."1.0.0"')
    assert problem.value == '"1.0.0.0"'
    # "1.0" is neither a raw key nor the normalised form ("1.0.0.0"): the build refuses it too
    only(repo, override_bytes(versions={"1.0": {"yanked": True}}), 'versions."1.0"', "no such")


def test_themes_have_no_trunk(repo: DataRepo) -> None:
    path = "overrides/themes/twentyx.json"
    found = problems(repo, override_bytes(versions={"trunk": {"yanked": True}}), path)
    assert "themes have no trunk" in found["versions.trunk"].message


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"require": {"php": ">>7"}}, "require.php", ("not a constraint", '">>7"')),
        ({"require": {"php": "x" * 2000}}, "require.php", ("longer than 1000",)),
        ({"conflict": {"wp-plugin/other": None}}, 'conflict."wp-plugin/other"', ("required",)),
        ({"require": {"WP-Plugin/Other": "*"}}, 'require."WP-Plugin/Other"', ("package or",)),
        ({"require": {"<b>x</b>": "*"}}, 'require."<b>x</b>"', ("package or", '"<b>x</b>"')),
        ({"require": {"wp-plugin/example": "*"}}, 'require."wp-plugin/example"', ("itself",)),
        ({"replacement": "Not A Name"}, "replacement", ("package name", '"Not A Name"')),
        ({"replacement": "wp-plugin/example"}, "replacement", ("replace itself",)),
        (
            {"versions": {"1.2.0": {"conflict": {"php": "~~1"}}}},
            'versions."1.2.0".conflict.php',
            ("not a constraint",),
        ),
    ],
)
def test_names_and_constraints(
    repo: DataRepo, fields: dict[str, Any], field: str, words: tuple[str, ...]
) -> None:
    problem = only(repo, override_bytes(**fields), field, *words)
    assert problem.value is not None


def test_hostile_names_are_reported_quickly(repo: DataRepo) -> None:
    """A name that makes the build's name pattern backtrack exponentially."""
    hostile = "a" * 40 + "/" + "b" * 40 + "-"
    raw = override_bytes(require={hostile: "*"}, replacement=hostile)
    start = time.perf_counter()
    found = problems(repo, raw)
    assert time.perf_counter() - start < 2
    assert set(found) == {"replacement", f'require."{hostile[:60]}"… (82 characters)'}


def test_hostile_values_are_bounded_and_escaped(repo: DataRepo) -> None:
    key = "<script>alert(1)</script>" + "9" * 5000
    raw = override_bytes(versions={key: {"require": {"php": "\u202e" + "<" * 3000}}})
    result = check(repo, raw)
    assert not result.ok
    for problem in result.problems:
        assert problem.path == FILE
        assert problem.field.startswith("versions.")
        line = problem.line()
        assert len(line) < 600, line
        assert "\u202e" not in line and "\n" not in line
    fields = {p.field for p in result.problems}
    assert any("<script>" in f and "(5025 characters)" in f for f in fields), fields


def test_every_problem_in_one_file_is_reported_at_once(repo: DataRepo) -> None:
    raw = override_bytes(
        author="",
        dist={"url": "https://x"},
        require={"php": ">>7"},
        versions={"9.9": {}, "1.0.0": {"conflict": {"Bad": "*"}}},
    )
    found = problems(repo, raw)
    assert {"author", "dist", "require.php", 'versions."9.9"', 'versions."1.0.0".conflict.Bad'} <= (
        set(found)
    )


def test_an_invalid_record_is_named(repo: DataRepo) -> None:
    write(repo, {package_path(P, "example"): b'{"slug": "example"}', FILE: override_bytes()})
    result = validate_view(repo.view())
    [problem] = result.problems
    assert problem.path == FILE and problem.field == "<file>"
    assert "packages/plugins/ex/example.json is invalid" in problem.message


def test_a_record_stored_under_the_wrong_path(repo: DataRepo) -> None:
    from curator.records import encode

    write(repo, {package_path(P, "example"): encode(record("other")), FILE: override_bytes()})
    [problem] = validate_view(repo.view()).problems
    assert "is not plugin example" in problem.message and problem.value == '"other"'


# --- paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "overrides/plugins/Bad Name.json",
        "overrides/plugins/..json",
        "overrides/plugins/.hidden.json",
        "overrides/plugins/-x.json",
        "overrides/plugins/example.json.bak",
        "overrides/plugins/example.JSON",
        "overrides/plugins/sub/example.json",
        "overrides/plugins/a/b/c/example.json",
        "overrides/example.json",
        "overrides/README.md",
        "overrides/mu-plugins/example.json",
        "overrides/plugins/%2e%2e%2fexample.json",
        "overrides/plugins/..\\..\\example.json",
        "overrides/plugins/<img src=x onerror=alert(1)>.json",
        "overrides/plugins/" + "a" * 201 + ".json",
    ],
)
def test_badly_placed_or_named_files(repo: DataRepo, path: str) -> None:
    result = check(repo, override_bytes(), path)
    [problem] = result.problems
    assert problem.field == "<path>" and problem.message.startswith("not an override file")
    shown = problem.path.strip('"')
    assert shown == path or '"' in problem.path  # odd names are shown quoted, never raw
    assert "\n" not in problem.line()


@pytest.mark.parametrize(
    ("rel", "why"),
    [
        ("../x.json", "not under overrides/"),
        ("overrides/../x.json", "escapes"),
        ("overrides/plugins/../../x.json", "escapes"),
        ("overrides/plugins/./x.json", "escapes"),
        ("overrides//x.json", "escapes"),
        ("overrides/plugins\\..\\x.json", "escapes"),
        ("overrides/plugins/x", "not a .json file"),
        ("overrides/plugins/sub/x.json", "nested folder"),
        ("overrides/x.json", "not in a package folder"),
        ("overrides/other/x.json", "unknown folder"),
        ("overrides/plugins/X.json", "not a valid slug"),
    ],
)
def test_path_rules(rel: str, why: str) -> None:
    result = check_override_path(rel)
    assert isinstance(result, str) and why in result


def test_good_paths() -> None:
    assert check_override_path("overrides/plugins/akismet.json") == (P, "akismet")
    assert check_override_path("overrides/themes/twenty.twenty.json") == (T, "twenty.twenty")


def test_a_symbolic_link_is_not_an_override(repo: DataRepo) -> None:
    git_add_entry(repo, "120000", FILE, b"../../packages/plugins/ex/example.json")
    [problem] = validate_view(repo.view()).problems
    assert problem.path == FILE and problem.field == "<path>" and "symbolic link" in problem.message


def test_a_submodule_is_not_an_override(repo: DataRepo) -> None:
    git_add_entry(repo, "160000", "overrides/plugins/sub.json", b"")
    [problem] = validate_view(repo.view()).problems
    assert problem.field == "<path>" and "submodule" in problem.message


# --- the whole commit ----------------------------------------------------------------------


def test_problems_come_in_path_order_with_a_prefix(new_data_repo: RepoFactory) -> None:
    data = new_data_repo(prefix="registry-data/")
    commit_records(data, [record("example"), theme()])
    write(
        data,
        {
            "overrides/themes/twentyx.json": override_bytes(reason=""),
            FILE: override_bytes(require={"php": "nope"}),
            "overrides/plugins/fine.json": override_bytes(),
        },
    )
    result = validate_view(data.view())
    assert [(p.path, p.field) for p in result.problems] == [
        ("registry-data/overrides/plugins/example.json", "require.php"),
        ("registry-data/overrides/plugins/fine.json", "<file>"),
        ("registry-data/overrides/themes/twentyx.json", "reason"),
    ]
    assert "blank" in result.problems[-1].message
    assert result.files == 3


def test_validation_reads_only_override_files_and_their_records(
    repo: DataRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_records(repo, [record(f"filler-{n}") for n in range(50)])
    write(repo, {FILE: override_bytes(), "overrides/plugins/missing.json": override_bytes()})
    read: list[str] = []
    original = Snapshot.read

    def spy(self: Snapshot, path: str) -> bytes | None:
        read.append(path)
        return original(self, path)

    monkeypatch.setattr(Snapshot, "read", spy)
    validate_view(repo.view())
    assert sorted(read) == [
        "overrides/plugins/example.json",
        "overrides/plugins/missing.json",
        "packages/plugins/ex/example.json",
        "packages/plugins/mi/missing.json",
        "registry.json",
    ]


# --- agreement with the build --------------------------------------------------------------

BUILD_REJECTS = [
    {"require": {"php": ">>7"}},
    {"conflict": {"wp-plugin/other": "<<1"}},
    {"replacement": "Nope"},
    {"versions": {"9.9": {}}},
    {"versions": {"1.0.0": {}, "1.0.0.0": {}}},
    {"versions": {"1.2.0": {"require": {"not a name": "*"}}}},
]


@pytest.mark.parametrize("fields", BUILD_REJECTS)
def test_what_the_build_rejects_validate_rejects(repo: DataRepo, fields: dict[str, Any]) -> None:
    over = OverrideFile.model_validate({**GOOD, **fields})
    with pytest.raises(OverrideError):
        render_package(record("example"), over, RegistryConfig(), override_path=FILE)
    assert not check(repo, override_bytes(**fields)).ok
