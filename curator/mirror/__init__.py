"""Mirrors: a copy of the data repository, and checks that a published registry is what its
commit builds to.

- :mod:`curator.mirror.clone`: ``curator mirror clone`` / ``fetch`` (fast-forward only);
- :mod:`curator.mirror.published`: reading a published build (a directory or an HTTP URL);
- :mod:`curator.mirror.rollback`: the newest manifest accepted per published location;
- :mod:`curator.mirror.check`: ``curator verify --against``: rebuild, check the signature,
  refuse a rollback, compare every file.
"""
