"""Hand-picked cases for curator.composer; every expected value was produced by Composer itself.

The values come from ``tests/composer/oracle.php`` (composer/semver 3.3.2, Debian's
``php-composer-semver``, on PHP 8.2). These tests need no PHP; the differential tests
re-check the same functions against the live oracle.
"""

from __future__ import annotations

import random

import pytest

from curator.composer import (
    compare,
    is_valid_constraint,
    normalize,
    normalize_branch,
    parse_constraints,
    parse_stability,
    php_requirement,
    php_version_compare,
    sort_key,
)

NORMALIZE_CASES = [
    ("1.0", "1.0.0.0"),
    ("v1.1.7", "1.1.7.0"),
    ("V1.0", "1.0.0.0"),
    ("1.0.7.", "1.0.7.0"),  # a trailing dot is an empty modifier
    ("2.0.10.9.1\r", None),  # five numbers, not the "\r", is what Composer rejects
    ("2.0.10.9.1", None),
    ("release-1.1.0", None),
    ("1.4.0-RC1", "1.4.0.0-RC1"),
    ("1.4.0RC1", "1.4.0.0-RC1"),
    ("1.4.0.rc.1", "1.4.0.0-RC1"),
    ("3.1.0-dev1", None),
    ("02.2003310000-WP5.3.2-WC3.9.2", None),
    ("stable", None),
    ("trunk", "dev-trunk"),
    ("master", "dev-master"),
    ("default", "dev-default"),
    ("dev-trunk", "dev-trunk"),
    ("DEV-Feature", "dev-Feature"),
    ("1.0-beta", "1.0.0.0-beta"),
    ("1.0b2", "1.0.0.0-beta2"),
    ("1.0-a1", "1.0.0.0-alpha1"),
    ("1.0-alpha.2", "1.0.0.0-alpha2"),
    ("1.0-p1", "1.0.0.0-patch1"),
    ("1.0pl3", "1.0.0.0-patch3"),
    ("1.0-patch4", "1.0.0.0-patch4"),
    ("1.0-stable", "1.0.0.0"),
    ("1.0-STABLE", "1.0.0.0-stable"),  # only lower-case "stable" is dropped
    ("1.0-stable-dev", "1.0.0.0"),
    ("1.0-beta1-dev", "1.0.0.0-beta1-dev"),
    ("1.0.0-beta.1.2-3", "1.0.0.0-beta1.2-3"),
    ("1.0.0-dev", "1.0.0.0-dev"),
    ("1.0dev", "1.0.0.0-dev"),
    ("1.x-dev", "1.9999999.9999999.9999999-dev"),
    ("1.2.x-dev", "1.2.9999999.9999999-dev"),
    ("v2.*-dev", "2.9999999.9999999.9999999-dev"),
    ("1.0.0+build.5", "1.0.0.0"),
    ("1.0+", None),
    ("1.0 as 2.0", "1.0.0.0"),
    ("1.0@dev", "1.0.0.0"),
    ("1.0@stable", "1.0.0.0"),
    ("2020-01-01", "2020.01.01"),
    ("2020.01.01", "2020.01.01.0"),  # so normalize() is not idempotent
    ("20200101", "20200101"),
    ("202001011230", "202001011230"),
    ("2020.01.01-beta", "2020.01.01.0-beta"),
    ("99999.1", "99999.1.0.0"),
    ("100000.1", "100000.1"),
    ("1.2.3.4.5", None),
    ("00001", "00001.0.0.0"),
    ("1.01.001", "1.01.001.0"),
    (" 1.0 ", "1.0.0.0"),
    ("\t1.0\x0b", "1.0.0.0"),
    ("1.0\x0c", None),  # PHP's trim() leaves a form feed
    ("1.0.0 beta 2", None),
    ("1.6 .1", None),
    ("v 1.0.0", None),
    ("-1.8.0", None),
    ("_1.5.5", None),
    ("1.0.39(1)", None),
    ("4.2.9c", None),
    ("1.0\n", "1.0.0.0"),
    ("foo\n1.0-dev", "1.0.9999999.9999999-dev"),  # "." stops at the newline
    ("\u0663.0", None),  # an Arabic-Indic digit is not \d in PHP
    ("1\u212a", None),  # the Kelvin sign does not fold to "k"
    ("", None),
    ("1.0.0.0", "1.0.0.0"),
    ("1.0.0.0-dev", "1.0.0.0-dev"),
    ("9223372036854775808.0", None),
]


@pytest.mark.parametrize(("version", "expected"), NORMALIZE_CASES)
def test_normalize(version: str, expected: str | None) -> None:
    assert normalize(version) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1", "1.9999999.9999999.9999999-dev"),
        ("v1.2", "1.2.9999999.9999999-dev"),
        (" 2.X ", "2.9999999.9999999.9999999-dev"),
        ("1.*.3", "1.9999999.3.9999999-dev"),
        ("feature/x", "dev-feature/x"),
        ("master", "dev-master"),
    ],
)
def test_normalize_branch(name: str, expected: str) -> None:
    assert normalize_branch(name) == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0", "stable"),
        ("1.0-beta1", "beta"),
        ("1.0b1", "beta"),
        ("1.0-RC1", "RC"),
        ("1.0rc", "RC"),
        ("1.0-alpha", "alpha"),
        ("1.0a", "alpha"),
        ("1.0-dev", "dev"),
        ("dev-master", "dev"),
        ("1.0-patch1", "stable"),
        ("1.0-p1", "stable"),
        ("1.0#abc", "stable"),
        ("1.0-beta#x", "beta"),
        ("1.0-DEV", "dev"),
        ("1.0+build", "stable"),
        ("1.0-beta+build", "beta"),
        ("foo-dev", "dev"),
    ],
)
def test_parse_stability(version: str, expected: str) -> None:
    assert parse_stability(version) == expected


CONSTRAINT_CASES = [
    ("7.4", "== 7.4.0.0"),
    (">=7.4", ">= 7.4.0.0-dev"),
    (">= 7.4", ">= 7.4.0.0-dev"),
    ("=>7.4", None),
    ("5.6.20", "== 5.6.20.0"),
    ("7.0+", None),
    ("7.x", "[>= 7.0.0.0-dev < 8.0.0.0-dev]"),
    ("7.*", "[>= 7.0.0.0-dev < 8.0.0.0-dev]"),
    ("*", "*"),
    ("^7.4", "[>= 7.4.0.0-dev < 8.0.0.0-dev]"),
    ("~7.4", "[>= 7.4.0.0-dev < 8.0.0.0-dev]"),
    ("~>7.4", None),
    (">=7.4 <8.0", "[>= 7.4.0.0-dev < 8.0.0.0-dev]"),
    (">=7.4,<8.0", "[>= 7.4.0.0-dev < 8.0.0.0-dev]"),
    ("^7.4 || ^8.0", "[>= 7.4.0.0-dev < 9.0.0.0-dev]"),
    ("7.4 - 8.1", "[>= 7.4.0.0-dev < 8.2.0.0-dev]"),
    ("1.0@dev", "== 1.0.0.0"),
    ("dev-master", "== dev-master"),
    ("foobar-dev", "== dev-foobar"),
    (">=foo", None),
    ("PHP 7.4", None),
    ("7.4 or higher", None),
    ("", None),
    (" ", None),
    ("||", None),
    (">=1.0 <1.1 || >=1.1 <1.2", "[>= 1.0.0.0-dev < 1.2.0.0-dev]"),
    ("v1.0", "== 1.0.0.0"),
    ("1.0.0.0.0", None),
    ("!=1.0", "!= 1.0.0.0"),
    ("<>1.0", "!= 1.0.0.0"),
    ("<1.0-beta", "< 1.0.0.0-beta"),
    ("^0.0.3", "[>= 0.0.3.0-dev < 0.0.4.0-dev]"),
    ("^0.3", "[>= 0.3.0.0-dev < 0.4.0.0-dev]"),
    ("~1", "[>= 1.0.0.0-dev < 2.0.0.0-dev]"),
    ("~1.x-dev", "[>= 1.9999999.9999999.9999999-dev < 2.0.0.0-dev]"),
    ("1.x-dev#abc", "== 1.9999999.9999999.9999999-dev"),
    ("x", "*"),
    ("v*", ">= 0.0.0.0-dev"),
    (
        "~99999999999999999999.1",
        "[>= 99999999999999999999.1.9999999.9999999-dev < 1.0E+20.0.0.0-dev]",
    ),
    ("^9223372036854775807", "[>= 9223372036854775807-dev < 9.2233720368548E+18.0.0.0-dev]"),
]  # fmt: skip


@pytest.mark.parametrize(("constraint", "expected"), CONSTRAINT_CASES)
def test_parse_constraints(constraint: str, expected: str | None) -> None:
    assert parse_constraints(constraint) == expected
    assert is_valid_constraint(constraint) is (expected is not None)


@pytest.mark.parametrize(
    ("requires_php", "expected"),
    [
        ("7.4", ">=7.4"),
        ("5.6.20", ">=5.6.20"),
        ("8", ">=8"),
        (" 7.0 ", ">=7.0"),
        ("7.0+", ">=7.0"),
        ("7.0 +", ">=7.0"),
        (">=7.4", ">=7.4"),
        (">= 7.4", ">=7.4"),
        ("=>7.4", ">=7.4"),
        (">7.4", ">7.4"),
        ("PHP 7.4", ">=7.4"),
        ("php7.4", ">=7.4"),
        ("v7.4", ">=7.4"),
        ("7.x", ">=7"),
        ("7.4.*", ">=7.4"),
        ("7.4 or higher", ">=7.4"),
        ("7.4 or later", ">=7.4"),
        ("5.6 and up", ">=5.6"),
        ("0.0", ">=0.0"),
        (False, None),
        (None, None),
        ("", None),
        ("  ", None),
        ("<8.0", None),
        ("^7.4", None),
        ("~7.4", None),
        ("7.4 - 8.1", None),
        ("7.4 || 8.0", None),
        ("8.0.0-beta1", None),
        ("1.2.3.4.5", None),
        ("latest", None),
        ("7,4", None),
        ("\u0667.4", None),
    ],
)
def test_php_requirement(requires_php: str | bool | None, expected: str | None) -> None:
    assert php_requirement(requires_php) == expected
    if expected is not None:
        assert is_valid_constraint(expected)


# (a, b, Composer's Comparator: a < b, a == b, a > b), all from the oracle.
COMPARE_CASES = [
    ("1.0.0.0-dev", "1.0.0.0-alpha1", -1),
    ("1.0.0.0-alpha1", "1.0.0.0-beta1", -1),
    ("1.0.0.0-beta1", "1.0.0.0-RC1", -1),
    ("1.0.0.0-RC1", "1.0.0.0", -1),
    ("1.0.0.0", "1.0.0.0-patch1", -1),
    ("1.0.0.0-beta1", "1.0.0.0-beta1-dev", 1),
    ("1.0.0.0-beta2", "1.0.0.0-beta10", -1),
    ("1.01.0.0", "1.1.0.0", 0),
    ("1.0.0.0-stable", "1.0.0.0-dev", -1),
    ("2020.01.01", "2020.1.1.0", -1),
    ("dev-trunk", "0.0.0.0", -1),
    ("1.9999999.9999999.9999999-dev", "1.5.0.0", 1),
    ("9223372036854775807.0.0.0", "99999999999999999999.0.0.0", 0),  # PHP_INT_MAX saturation
    ("1.0.0.0-beta", "1.0.0.0-beta1", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), COMPARE_CASES)
def test_compare(a: str, b: str, expected: int) -> None:
    assert compare(a, b) == expected
    assert compare(b, a) == -expected
    assert (sort_key(a) > sort_key(b)) - (sort_key(a) < sort_key(b)) == expected
    assert php_version_compare(a, b) == expected


def test_compare_orders_branches_by_name() -> None:
    # Composer: neither less, equal nor greater (version_compare alone would say -1).
    assert php_version_compare("dev-a", "dev-b") == -1
    assert compare("dev-b", "dev-a") == 1
    assert compare("dev-a", "dev-a") == 0
    assert sort_key("dev-a") < sort_key("dev-b") < sort_key("0.0.0.0-dev")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0.0", -1),
        ("1.0rc1", "1.0", -1),
        ("1.0pl1", "1.0", 1),
        ("1.0-", "1.0", -1),
        ("", "1", -1),
        ("#", "1", 0),
        ("1.0\x00junk", "1.0", 0),  # C strings end at NUL
        (".1", "1", -1),
        ("é1", "éa", 1),  # PHP compares bytes: "\xc3.1" vs "\xc3.a"
    ],
)
def test_php_version_compare(a: str, b: str, expected: int) -> None:
    assert php_version_compare(a, b) == expected


def test_newest_first_order() -> None:
    tags = [
        "1.0",
        "1.0-beta2",
        "1.0-RC1",
        "1.0.1",
        "0.9",
        "1.0-beta10",
        "1.0-p1",
        "trunk",
        "2.x-dev",
    ]
    normalized = {t: normalize(t) for t in tags}
    ordered = sorted(tags, key=lambda t: sort_key(normalized[t] or ""), reverse=True)
    assert ordered == [
        "2.x-dev", "1.0.1", "1.0-p1", "1.0", "1.0-RC1", "1.0-beta10", "1.0-beta2", "0.9", "trunk",
    ]  # fmt: skip


def test_sort_key_rejects_unnormalised_strings() -> None:
    for bad in ("1.0-foo", "v1.0", "", ".1", "1..0", "#1"):
        with pytest.raises(ValueError):
            sort_key(bad)


def test_sort_key_is_consistent_with_compare_on_random_versions() -> None:
    rng = random.Random(7)
    words = ("", "", "-alpha", "-beta", "-RC", "-patch", "-stable")
    versions = []
    for _ in range(400):
        v = ".".join(str(rng.choice((0, 1, 2, 10, 2**63, 2**64))) for _ in range(rng.randint(1, 5)))
        v += rng.choice(words)
        if v[-1].isalpha() and rng.random() < 0.5:
            v += rng.choice(("1", "2", "1.2", "1-3"))
        v += rng.choice(("", "-dev"))
        versions.append(v)
    for a in versions[:80]:
        for b in versions:
            ka, kb = sort_key(a), sort_key(b)
            assert compare(a, b) == (ka > kb) - (ka < kb), (a, b)
