"""``curator versions normalize``: one JSON line ``[input, normalized-or-null]`` per input line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from curator.cli.versions_cmd import versions


def run(stdin: bytes, *args: str) -> bytes:
    result = CliRunner().invoke(versions, ["normalize", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_is_a_click_group_with_normalize() -> None:
    assert isinstance(versions, click.Group)
    assert "normalize" in versions.commands


def test_one_compact_json_array_per_line_in_order() -> None:
    out = run(b"v1.1.7\nrelease-1.1.0\n1.4.0-RC1\ntrunk\n")
    assert out == (
        b'["v1.1.7","1.1.7.0"]\n'
        b'["release-1.1.0",null]\n'
        b'["1.4.0-RC1","1.4.0.0-RC1"]\n'
        b'["trunk","dev-trunk"]\n'
    )


def test_only_the_line_feed_is_stripped() -> None:
    out = run(b"2.0.10.9.1\r\n1.0\r\n 1.0 \n\n1.0\t")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows == [
        ["2.0.10.9.1\r", None],
        ["1.0\r", "1.0.0.0"],  # trim() removes the "\r" before normalising
        [" 1.0 ", "1.0.0.0"],
        ["", None],
        ["1.0\t", "1.0.0.0"],  # last line without a line feed still counts
    ]


def test_empty_input_gives_empty_output() -> None:
    assert run(b"") == b""


def test_non_ascii_and_invalid_utf8() -> None:
    out = run("dev-é\n١.0\n".encode() + b"\xff1.0\n")
    lines = out.splitlines()
    assert json.loads(lines[0]) == ["dev-é", "dev-é"]
    assert json.loads(lines[1]) == ["١.0", None]
    assert json.loads(lines[2]) == ["\udcff1.0", None]  # undecodable byte, escaped


def test_reads_a_file_and_writes_output_file(tmp_path: Path) -> None:
    source = tmp_path / "tags.txt"
    source.write_bytes(b"1.0\nfoo\n")
    target = tmp_path / "out.jsonl"
    assert run(b"", str(source), "-o", str(target)) == b""
    assert target.read_bytes() == b'["1.0","1.0.0.0"]\n["foo",null]\n'
