"""The name checks agree with Composer's own patterns, and stay fast on hostile names."""

from __future__ import annotations

import itertools
import random
import re
import time

import pytest

from curator.build import text
from curator.review.names import is_package_name, is_platform_name

ALPHABET = "ab1_.-/!E"
# Composer 2.5's patterns, verbatim (exponential backtracking: only for short strings here)
COMPOSER_PACKAGE = re.compile(
    r"[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*", re.ASCII
)
COMPOSER_PLATFORM = re.compile(
    r"(?:php(?:-64bit|-ipv6|-zts|-debug)?|hhvm|(?:ext|lib)-[a-z0-9](?:[_.-]?[a-z0-9]+)*"
    r"|composer(?:-(?:plugin|runtime)-api)?)",
    re.ASCII | re.IGNORECASE,
)


def short_strings() -> list[str]:
    """Every string up to 4 characters over a small alphabet, plus random longer ones."""
    out = ["".join(p) for n in range(5) for p in itertools.product(ALPHABET, repeat=n)]
    rng = random.Random(6)
    out += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(5, 12))) for _ in range(3000)]
    out += [
        "wp-plugin/akismet",
        "a/b--c",
        "a/b---c",
        "a--b/c",
        "ext-gd",
        "EXT-GD",
        "ext-",
        "php-64bit",
    ]
    out += ["lib-icu-uc", "composer-plugin-api", "hhvm", "php-zts", "ext-a..b", "lib-a_b"]
    return out


def test_same_answers_as_composers_patterns() -> None:
    for name in short_strings():
        package = COMPOSER_PACKAGE.fullmatch(name) is not None
        platform = COMPOSER_PLATFORM.fullmatch(name) is not None
        assert is_package_name(name) == text.is_package_name(name) == package, name
        assert is_platform_name(name) == text.is_platform_name(name) == platform, name
        prefixed = f"ext-{name}"
        assert is_platform_name(prefixed) == (COMPOSER_PLATFORM.fullmatch(prefixed) is not None)
        vendor = name.partition("/")[0]
        assert text.is_vendor_name(vendor) == (
            COMPOSER_PACKAGE.fullmatch(f"{vendor}/x") is not None
        ), vendor


@pytest.mark.parametrize(
    "name",
    [
        "a" * 5000 + "!",
        "wp-plugin/" + "a" * 5000 + "-",
        "a" * 3000 + "/" + "b_" * 3000,
        "ext-" + "a" * 5000 + "!",
        "a-" * 5000 + "/x",
    ],
)
def test_hostile_names_are_rejected_in_linear_time(name: str) -> None:
    start = time.perf_counter()
    assert not is_package_name(name) and not is_platform_name(name)
    assert time.perf_counter() - start < 0.1


def test_the_build_rejects_hostile_names_in_linear_time() -> None:
    """A 40-character require key in an override once took the build hours to reject."""
    for name in ("a/" + "a" * 5000 + "!", "a" * 5000 + "-", "ext-" + "a" * 5000 + "!"):
        start = time.perf_counter()
        assert not text.is_package_name(name) and not text.is_platform_name(name)
        assert not text.is_vendor_name(name)
        assert time.perf_counter() - start < 0.1
