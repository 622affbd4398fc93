"""The linear-time name checks agree with the build's patterns, and stay fast on hostile names."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from curator.build import text
from curator.review.names import is_package_name, is_platform_name

ALPHABET = "ab1_.-/!E"


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


def test_same_answers_as_the_build_patterns() -> None:
    for name in short_strings():
        assert is_package_name(name) == text.is_package_name(name), name
        assert is_platform_name(name) == text.is_platform_name(name), name
        prefixed = f"ext-{name}"
        assert is_platform_name(prefixed) == text.is_platform_name(prefixed), prefixed


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


def test_the_build_pattern_is_exponential_on_such_names() -> None:
    """Why this module exists: 22 characters already cost the build's pattern visible time."""
    start = time.perf_counter()
    assert not text.is_package_name("a/" + "a" * 18 + "!")
    slow = time.perf_counter() - start
    start = time.perf_counter()
    assert not is_package_name("a/" + "a" * 18 + "!")
    assert time.perf_counter() - start < slow
