"""The build's search index: row clean-up, schema, prefix search and byte-identical output."""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
from pathlib import Path

import pytest
from server_helpers import sample_rows

from curator.build.search_index import (
    FORMAT,
    PreviousIndex,
    PreviousIndexError,
    SearchRow,
    joined_text,
    read_search_rows,
    write_search_index,
)


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)


def test_row_text_is_cleaned() -> None:
    rows = {r.slug: r for r in sample_rows()}
    fancy = rows["html-name"]
    assert fancy.title == "Fancy & Bold – Forms"
    assert "<" not in fancy.description and "& entities" in fancy.description
    assert fancy.author == "Some & Author"
    assert fancy.active_installs is None
    cf7 = rows["contact-form-7"]
    assert cf7.name == "wp-plugin/contact-form-7"
    assert cf7.last_updated == "2024-04-02T18:12:40+00:00"
    assert cf7.version == "5.9.3"
    assert cf7.wporg_url == "https://wordpress.org/plugins/contact-form-7/"
    closed = rows["old-gallery"]
    assert (closed.status, closed.closure_reason, closed.closed_date) == (
        "closed",
        "Security Issue",
        "2023-05-01",
    )
    legacy = rows["legacy-seo"]
    assert legacy.abandoned == "wp-plugin/akismet"
    assert json.loads(legacy.overrides_json)[0]["author"] == "trustee-anna"
    assert rows["twentytwentyfour"].wporg_url == "https://wordpress.org/themes/twentytwentyfour/"


def test_joined_text() -> None:
    assert joined_text("contact-form-7", "Contact Form 7") == "contactform7"
    assert joined_text("a_b.c", "A B C!") == "abc"


def test_schema_and_prefix_search(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite"
    write_search_index(path, sample_rows())
    conn = _open(path)
    assert conn.execute("SELECT value FROM meta WHERE key='format'").fetchone() == (str(FORMAT),)
    assert conn.execute("SELECT count(*) FROM packages").fetchone() == (6,)

    def find(expr: str) -> list[str]:
        return [
            r[0]
            for r in conn.execute(
                "SELECT p.slug FROM packages_fts JOIN packages p ON p.id = packages_fts.rowid "
                "WHERE packages_fts MATCH ? ORDER BY p.slug",
                (expr,),
            )
        ]

    assert find('"contactform7"*') == ["contact-form-7"]
    assert find('"contactf"*') == ["contact-form-7"]
    assert find('"spam"*') == ["akismet"]
    assert find('"twentytwenty"*') == ["twentytwentyfour"]


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    row = sample_rows()[0]
    with pytest.raises(ValueError, match="duplicate"):
        write_search_index(tmp_path / "s.sqlite", [row, dataclasses.replace(row, title="x")])


def test_bytes_do_not_depend_on_input_order(tmp_path: Path) -> None:
    base = sample_rows()
    rows = [
        dataclasses.replace(base[i % len(base)], name=f"wp-plugin/p{i}", slug=f"p{i}")
        for i in range(2000)
    ]
    write_search_index(tmp_path / "a.sqlite", rows)
    random.Random(7).shuffle(rows)
    write_search_index(tmp_path / "b.sqlite", rows)
    assert (tmp_path / "a.sqlite").read_bytes() == (tmp_path / "b.sqlite").read_bytes()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _many(count: int) -> list[SearchRow]:
    base = sample_rows()
    return [
        dataclasses.replace(base[i % len(base)], name=f"wp-plugin/p{i:05d}", slug=f"p{i:05d}")
        for i in range(count)
    ]


def test_carrying_rows_over_from_a_previous_index_gives_the_same_bytes(tmp_path: Path) -> None:
    """The incremental path: rows copied inside SQLite from the previous build's index, minus
    the dropped and the replaced ones, plus new rows, equal an index written from scratch."""
    before = _many(3000)
    write_search_index(tmp_path / "before.sqlite", before)
    changed = {3, 1500, 2999}
    removed = {7, 2000}
    after = [
        dataclasses.replace(r, title=f"new {r.title}", active_installs=42) if i in changed else r
        for i, r in enumerate(before)
        if i not in removed
    ]
    after.append(dataclasses.replace(before[0], name="wp-plugin/a-new-one", slug="a-new-one"))
    write_search_index(tmp_path / "full.sqlite", after)
    new_rows = [r for i, r in enumerate(after) if i >= len(after) - 1 or r.title.startswith("new")]
    dropped = frozenset({before[i].name for i in removed | changed})
    write_search_index(
        tmp_path / "incremental.sqlite",
        new_rows,
        PreviousIndex(tmp_path / "before.sqlite", dropped),
    )
    full = (tmp_path / "full.sqlite").read_bytes()
    assert (tmp_path / "incremental.sqlite").read_bytes() == full
    assert read_search_rows(tmp_path / "incremental.sqlite") == sorted(after, key=lambda r: r.name)
    # a row the new rows replace need not be dropped explicitly
    write_search_index(
        tmp_path / "replaced.sqlite",
        new_rows,
        PreviousIndex(tmp_path / "before.sqlite", frozenset({before[i].name for i in removed})),
    )
    assert (tmp_path / "replaced.sqlite").read_bytes() == full


def test_a_previous_index_that_is_not_one_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.sqlite"
    sqlite3.connect(bogus).execute("CREATE TABLE meta (key, value)").connection.commit()
    for previous in (bogus, tmp_path / "missing.sqlite"):
        with pytest.raises(PreviousIndexError):
            write_search_index(
                tmp_path / "s.sqlite", _many(2), PreviousIndex(previous, frozenset())
            )
    assert not (tmp_path / "s.sqlite").exists()


def test_empty_index(tmp_path: Path) -> None:
    rows: list[SearchRow] = []
    write_search_index(tmp_path / "e.sqlite", rows)
    assert _open(tmp_path / "e.sqlite").execute("SELECT count(*) FROM packages").fetchone() == (0,)


def test_query_results_are_kept_per_index_except_live_download_order(tmp_path: Path) -> None:
    from server import search

    path = tmp_path / "search.sqlite"
    write_search_index(path, sample_rows())
    index = search.SearchIndex(path)
    try:
        query = search.parse_query({"q": "contact"}, max_page=10)
        first = index.search(query, 20)
        assert first.total >= 1 and index.search(query, 20) is first  # answered from the cache
        assert index.search(query, 10) is not first  # another page size is another answer
        by_downloads = search.parse_query({"q": "contact", "sort": "downloads"}, max_page=10)
        assert index.search(by_downloads, 20) is not index.search(by_downloads, 20)
        for n in range(search.RESULT_CACHE + 5):  # bounded
            index.search(search.parse_query({"q": f"x{n}"}, max_page=10), 20)
        assert index.search(query, 20) is not first
    finally:
        index.close()
