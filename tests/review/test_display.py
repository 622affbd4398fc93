"""Hostile values shown safely: exact JSON literals, escaped invisibles, bounded length."""

from __future__ import annotations

import json

from curator.review.display import MAX_SHOWN, code, field_path, literal, show_path


def test_literal_is_json_with_invisible_characters_escaped() -> None:
    value = 'a"b\\c\n\x7f\u202e`<script>é'
    shown = literal(value)
    assert json.loads(shown) == value  # still an exact JSON literal of the value
    assert "\u202e" not in shown and "\x7f" not in shown and "`" not in shown
    assert "\\u202e" in shown and "\\u007f" in shown and "\\u0060" in shown
    assert "<script>" in shown and "é" in shown  # plain text: the reader escapes for HTML


def test_literal_escapes_astral_format_characters_as_surrogate_pairs() -> None:
    tag = "\U000e0041"  # TAG LATIN CAPITAL LETTER A: invisible
    shown = literal(tag)
    assert json.loads(shown) == tag and shown == '"\\udb40\\udc41"'


def test_long_values_are_cut_and_say_how_long_they_were() -> None:
    shown = literal("x" * 100_000)
    assert len(shown) < MAX_SHOWN + 40 and shown.endswith("… (100000 characters)")
    assert literal({"k": "v" * 500}).endswith("characters)")
    assert literal(None) == "null" and literal(True) == "true" and literal(12) == "12"


def test_field_path_matches_the_build_format() -> None:
    assert field_path("versions", "9.9", "require", "php") == 'versions."9.9".require.php'
    assert field_path("require", "wp-plugin/x") == 'require."wp-plugin/x"'
    assert field_path() == "<file>"
    long = field_path("versions", "1" * 500)
    assert len(long) < 120 and "500 characters" in long


def test_show_path_and_code() -> None:
    assert show_path("registry-data/overrides/plugins/a.json") == (
        "registry-data/overrides/plugins/a.json"
    )
    assert show_path("overrides/plugins/Bad Name.json") == '"overrides/plugins/Bad Name.json"'
    assert code("a`b\nc") == "`a'b\\u000ac`"
    assert code("<b>") == "`<b>`"  # a code span shows HTML literally
    assert code("y" * 500).endswith("(500 characters)")


def test_code_of_empty_text_is_visible() -> None:
    assert code("") == '`""`' and code("  ") == '`""`'
