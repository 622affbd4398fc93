"""Composer's name rules, checked in time linear in the length of the name.

:func:`curator.build.text.is_package_name` and :func:`~curator.build.text.is_platform_name`
use regular expressions with nested optional separators (``([_.-]?[a-z0-9]+)*``) that
backtrack exponentially on a name that fails at its end: ``"a" * 30 + "!"`` takes minutes.
Override files are hostile input, so review code checks names with these equivalent patterns
(every separator mandatory between alphanumeric runs, so there is one way to match) before
any name reaches the renderer. ``tests/review/test_names.py`` checks both give the same
answers.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["is_package_name", "is_platform_name"]

_RUN: Final = "[a-z0-9]+"
_PACKAGE_RE: Final = re.compile(rf"{_RUN}(?:[_.-]{_RUN})*/{_RUN}(?:(?:[_.]|--?){_RUN})*", re.ASCII)
_PLATFORM_RE: Final = re.compile(
    rf"(?:php(?:-64bit|-ipv6|-zts|-debug)?|hhvm|(?:ext|lib)-{_RUN}(?:[_.-]{_RUN})*"
    r"|composer(?:-(?:plugin|runtime)-api)?)",
    re.ASCII | re.IGNORECASE,
)


def is_package_name(name: str) -> bool:
    """``vendor/name`` as Composer accepts it when a package is published (lower case)."""
    return _PACKAGE_RE.fullmatch(name) is not None


def is_platform_name(name: str) -> bool:
    """``php``, ``ext-*``, ``lib-*``, ``hhvm``, ``composer*``: packages the platform provides."""
    return _PLATFORM_RE.fullmatch(name) is not None
