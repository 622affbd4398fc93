"""Sample registry content and build files for the server tests (imported by conftest)."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from curator import canonical
from curator.build.search_index import SearchRow, search_row_from_record
from curator.layout import PackageType
from curator.models import PackageRecord, PackageStatus, UpstreamInfo
from curator.models.package import Closure

NOW = int(dt.datetime.now(dt.UTC).timestamp())
BuildMaker = Callable[..., str]  # the make_build fixture (conftest.py)
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class FakeClock:
    """A settable clock (seconds; Unix time or monotonic) for tests: ``clock.advance(s)``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _versions(*numbers: str, php: str = ">=7.4") -> list[dict[str, Any]]:
    return [
        {
            "version": v,
            "version_normalized": f"{v}.0" if v.count(".") == 2 else v,
            "time": f"2024-0{1 + i % 9}-01T00:00:00+00:00",
            "require": {"composer/installers": "^1.0 || ^2.0", "php": php},
        }
        for i, v in enumerate(numbers)
    ]


def _record(
    slug: str,
    name: str,
    *,
    kind: PackageType = PackageType.PLUGIN,
    status: PackageStatus = PackageStatus.OPEN,
    installs: int | None = 100,
    updated: str = "2024-03-21 12:55am GMT",
    short: str = "",
    closure: Closure | None = None,
) -> PackageRecord:
    info = UpstreamInfo(
        name=name,
        slug=slug,
        version="1.0.0",
        requires="6.0",
        tested="6.5",
        requires_php="7.4",
        author='<a href="https://example.org/">Some &amp; Author</a>',
        homepage=f"https://example.org/{slug}/",
        short_description=short,
        active_installs=installs,
        last_updated=updated,
    )
    return PackageRecord(type=kind, slug=slug, status=status, info=info, closure=closure)


def sample_rows() -> list[SearchRow]:
    return [search_row_from_record(r, v, ver, ov, ab) for r, v, ver, ov, ab in _specs()]


def sample_versions() -> dict[str, list[dict[str, Any]]]:
    """The Composer versions of each sample package (written to its p2 file)."""
    return {f"{v}/{r.slug}": ver for r, v, ver, _ov, _ab in _specs()}


def _specs() -> list[
    tuple[PackageRecord, str, list[dict[str, Any]], list[dict[str, Any]], str | None]
]:
    """A small, varied registry: popular plugins, a closed and an abandoned one, a theme,
    and a package whose texts carry HTML."""
    override = {
        "scope": "package",
        "field": "abandoned",
        "reason": "Replaced by the maintained fork",
        "author": "trustee-anna",
        "date": "2026-10-01",
    }
    specs: list[
        tuple[PackageRecord, str, list[dict[str, Any]], list[dict[str, Any]], str | None]
    ] = [
        (
            _record(
                "akismet",
                "Akismet Anti-spam: Spam Protection",
                installs=6_000_000,
                short="The best anti-spam protection to block spam comments.",
            ),
            "wp-plugin",
            _versions("5.3.1", "5.3", "5.2"),
            [],
            None,
        ),
        (
            _record(
                "contact-form-7",
                "Contact Form 7",
                installs=5_000_000,
                updated="2024-04-02 18:12:40",
                short="Just another contact form plugin. Simple but flexible.",
            ),
            "wp-plugin",
            _versions("5.9.3", "5.9.2", "5.9", "5.8.7"),
            [],
            None,
        ),
        (
            _record(
                "old-gallery",
                "Old Gallery",
                status=PackageStatus.CLOSED,
                installs=50,
                short="A gallery plugin.",
                closure=Closure(
                    date="2023-05-01", reason="security-issue", reason_text="Security Issue"
                ),
            ),
            "wp-plugin",
            _versions("1.2.0"),
            [],
            None,
        ),
        (
            _record("legacy-seo", "Legacy SEO", installs=2_000, short="Search engine tweaks."),
            "wp-plugin",
            _versions("2.0.0", "1.9.0"),
            [override],
            "wp-plugin/akismet",
        ),
        (
            _record(
                "twentytwentyfour",
                "Twenty Twenty-Four",
                kind=PackageType.THEME,
                installs=1_000_000,
                short="The default theme for 2024.",
            ),
            "wp-theme",
            _versions("1.1", "1.0"),
            [],
            None,
        ),
        (
            _record(
                "html-name",
                "Fancy &amp; <b>Bold</b> &#8211; Forms",
                installs=None,
                short="<p>Forms with <script>alert(1)</script> tags &amp; entities</p>",
            ),
            "wp-plugin",
            _versions("0.1.0"),
            [],
            None,
        ),
    ]
    return specs


def build_files(
    rows: Sequence[SearchRow],
    label: str,
    versions: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, bytes]:
    """Repository files of ``rows`` (p2 minified, list.json, packages.json); the versions of
    each package come from ``versions`` (default: :func:`sample_versions`)."""
    known = sample_versions() if versions is None else versions
    files: dict[str, bytes] = {}
    for row in rows:
        kind = f"wordpress-{row.type}"
        versions_of = [dict(v, name=row.name, type=kind) for v in known.get(row.name, [])]
        files[f"p2/{row.name}.json"] = canonical.dumps(
            {"minified": "composer/2.0", "packages": {row.name: versions_of}}
        )
    files["list.json"] = canonical.dumps({"packageNames": sorted(r.name for r in rows)})
    files["packages.json"] = canonical.dumps(
        {
            "available-package-patterns": ["wp-plugin/*", "wp-theme/*"],
            "list": "/list.json",
            "metadata-url": "/p2/%package%.json",
            "packages": [],
            "label": label,
        }
    )
    return files


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose ``search_path`` is a fresh schema of the local PostgreSQL's
    ``test`` database, dropped afterwards (parallel workers never share one)."""
    name = f"t_{uuid.uuid4().hex[:20]}"
    admin = sa.create_engine(PG_BASE, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()
