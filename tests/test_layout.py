import pytest

from curator.layout import (
    InvalidSlugError,
    PackageType,
    check_slug,
    normalize_prefix,
    override_path,
    package_path,
    parse_package_path,
    shard,
)


def test_package_path_shards_by_first_two_characters() -> None:
    assert package_path(PackageType.PLUGIN, "akismet") == "packages/plugins/ak/akismet.json"
    assert package_path(PackageType.THEME, "twentytwentyfour") == (
        "packages/themes/tw/twentytwentyfour.json"
    )
    assert shard("a") == "a"


@pytest.mark.parametrize(
    "slug", ["", "..", ".hidden", "a/b", "A", "a b", "é", "x" * 201, "../etc", "a\x00", "a\\b"]
)
def test_hostile_slugs_never_become_paths(slug: str) -> None:
    with pytest.raises(InvalidSlugError):
        package_path(PackageType.PLUGIN, slug)
    with pytest.raises(InvalidSlugError):
        override_path(PackageType.PLUGIN, slug)


def test_valid_slugs() -> None:
    for slug in ["akismet", "1-click-migration", "a", "wp_spam", "x" * 200, "a.b"]:
        assert check_slug(slug) == slug


def test_parse_package_path_round_trip() -> None:
    path = package_path(PackageType.PLUGIN, "contact-form-7")
    assert parse_package_path(path) == (PackageType.PLUGIN, "contact-form-7")
    assert parse_package_path("packages/plugins/zz/contact-form-7.json") is None
    assert parse_package_path("packages/other/co/contact-form-7.json") is None
    assert parse_package_path("state/sync.json") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("", ""), ("/", ""), ("registry-data", "registry-data/"), ("a/b/", "a/b/")],
)
def test_normalize_prefix(given: str, expected: str) -> None:
    assert normalize_prefix(given) == expected


def test_prefix_cannot_escape() -> None:
    with pytest.raises(ValueError, match="invalid prefix"):
        normalize_prefix("../x")
