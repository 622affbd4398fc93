"""Composer's name rules for review code, checked in time linear in the length of the name.

The build's own checks (:func:`curator.build.text.is_package_name`,
:func:`~curator.build.text.is_platform_name`) are written with every separator mandatory
between alphanumeric runs, so a hostile name that fails at its end costs linear time (the
patterns Composer itself uses, ``([_.-]?[a-z0-9]+)*``, backtrack exponentially). Review code
imports them from here; ``tests/review/test_names.py`` checks them against Composer's
original patterns and on hostile names.
"""

from __future__ import annotations

from curator.build.text import is_package_name, is_platform_name

__all__ = ["is_package_name", "is_platform_name"]
