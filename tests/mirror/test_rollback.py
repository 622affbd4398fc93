"""The rollback state: where it lives, what counts as older, that it only moves forward, and
that a damaged state file is an error rather than a silent reset."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from curator.mirror.rollback import (
    Accepted,
    RollbackError,
    StateError,
    VerifyState,
    default_state_path,
)

NOW = dt.datetime(2026, 11, 5, 8, 0, tzinfo=dt.UTC)
A = Accepted("a" * 40, "2026-11-01T12:00:00Z", "1" * 64)
B = Accepted("b" * 40, "2026-11-02T12:00:00Z", "2" * 64)
LOC = "https://repo.example"


def test_default_state_path_honours_xdg_state_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert default_state_path({}, home) == home / ".local/state/curator/verify.json"
    xdg = tmp_path / "xdg"
    assert default_state_path({"XDG_STATE_HOME": str(xdg)}, home) == xdg / "curator/verify.json"
    # a relative XDG_STATE_HOME is invalid per the spec and ignored
    relative = {"XDG_STATE_HOME": "rel"}
    assert default_state_path(relative, home) == home / ".local/state/curator/verify.json"


def test_state_moves_forward_and_refuses_older(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "verify.json"
    state = VerifyState.load(path)
    assert state.check(LOC, A) is None
    assert state.accept(LOC, A, NOW)
    state.save()
    state = VerifyState.load(path)
    assert state.last(LOC) == Accepted(A.commit, A.time, A.manifest_sha256, "2026-11-05T08:00:00Z")
    assert state.check(LOC, B) == state.last(LOC)
    assert state.accept(LOC, B, NOW)
    with pytest.raises(RollbackError) as info:
        state.check(LOC, A)
    message = str(info.value)
    assert f"commit {A.commit} ({A.time}), older than" in message
    assert f"commit {B.commit} ({B.time})" in message
    assert not state.accept(LOC, A, NOW)  # never recorded backwards
    assert state.check(LOC, B) is not None and not state.accept(LOC, B, NOW)
    assert state.check("https://other.example", A) is None  # per location


def test_an_ancestor_with_a_later_time_is_a_rollback_too() -> None:
    state = VerifyState(Path("unused"), {LOC: B})
    forged = Accepted("c" * 40, "2030-01-01T00:00:00Z", "3" * 64)
    with pytest.raises(RollbackError, match="an ancestor of"):
        state.check(
            LOC, forged, is_ancestor=lambda old, new: (old, new) == (forged.commit, B.commit)
        )
    assert state.check(LOC, forged, is_ancestor=lambda old, new: False) == B


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "expected"),
        (b'{"format": 2, "repositories": {}}', "expected"),
        (b'{"format": 1, "repositories": {"x": 5}}', "expected an object"),
        (b'{"format": 1, "repositories": {"x": {"commit": "zz"}}}', "commit must be"),
        (
            json.dumps(
                {"format": 1, "repositories": {"x": {"commit": "a" * 40, "time": "yesterday",
                                                      "manifest_sha256": "1" * 64}}}
            ).encode(),
            "is not YYYY-MM-DDTHH:MM:SSZ",
        ),
        (
            json.dumps(
                {"format": 1, "repositories": {"x": {"commit": "a" * 40, "time": A.time,
                                                      "manifest_sha256": "nope"}}}
            ).encode(),
            "manifest_sha256 must be",
        ),
    ],
)  # fmt: skip
def test_a_damaged_state_file_is_an_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "verify.json"
    path.write_bytes(content)
    with pytest.raises(StateError, match=message):
        VerifyState.load(path)


def test_an_unwritable_state_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    state = VerifyState(blocker / "verify.json", {})
    state.accept(LOC, A, NOW)
    with pytest.raises(StateError, match="cannot write"):
        state.save()
    with pytest.raises(StateError, match="cannot read"):
        VerifyState.load(tmp_path)  # a directory
