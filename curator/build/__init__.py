"""Builds: one pinned commit in, one static Composer v2 repository directory out.

``curator.build.manifest`` describes and validates a build directory; ``curator.build.synthetic``
makes fake builds for tests and benchmarks.
"""
