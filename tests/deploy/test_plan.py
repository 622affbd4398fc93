"""Deploy planning: pure functions, no bucket."""

from __future__ import annotations

import datetime as dt

import pytest

from curator.build.manifest import FileEntry, file_entry
from curator.deploy import plan
from curator.deploy.plan import (
    DEFAULT_GRACE,
    FileKind,
    InProgress,
    Phase,
    Reason,
    dirty_paths,
    plan_deletions,
    plan_uploads,
)

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


NEW = {
    "p2/wp-plugin/a.json": file_entry(b"a1"),
    "p2/wp-plugin/a~dev.json": file_entry(b"ad"),
    "p2/wp-theme/t.json": file_entry(b"t1"),
    "list.json": file_entry(b"list"),
    "search.sqlite": file_entry(b"db"),
    "packages.json": file_entry(b"entry"),
    "manifest.json": file_entry(b"manifest-2"),
}


def test_first_deploy_uploads_everything_in_phase_order() -> None:
    result = plan_uploads(NEW, None)
    assert result.phases == (
        ("p2/wp-plugin/a.json", "p2/wp-plugin/a~dev.json", "p2/wp-theme/t.json"),
        ("list.json", "search.sqlite"),
        ("packages.json",),
        ("manifest.json",),
        (),  # manifest.json.sig: this build is not signed
    )
    assert result.uploads[-2:] == ["packages.json", "manifest.json"]
    assert set(result.reasons.values()) == {Reason.NEW}
    assert result.skipped == 0
    assert len(result) == 7
    assert result.bytes == sum(e.size for e in NEW.values())


def test_only_changed_files_are_uploaded() -> None:
    old = dict(NEW)
    old["p2/wp-plugin/a.json"] = file_entry(b"a0")
    old["manifest.json"] = file_entry(b"manifest-1")
    del old["p2/wp-theme/t.json"]
    old["p2/wp-plugin/gone.json"] = file_entry(b"gone")
    result = plan_uploads(NEW, old)
    assert result.uploads == ["p2/wp-plugin/a.json", "p2/wp-theme/t.json", "manifest.json"]
    assert result.reasons == {
        "p2/wp-plugin/a.json": Reason.CHANGED,
        "p2/wp-theme/t.json": Reason.NEW,
        "manifest.json": Reason.CHANGED,
    }
    assert result.skipped == 4


def test_the_same_build_again_uploads_nothing() -> None:
    remote = {p: e.size for p, e in NEW.items()}
    result = plan_uploads(NEW, NEW, remote=remote)
    assert result.uploads == []
    assert result.skipped == len(NEW)


def test_size_only_change_counts_as_changed() -> None:
    old = dict(NEW)
    old["list.json"] = FileEntry(sha256=NEW["list.json"].sha256, size=99)
    assert plan_uploads(NEW, old).reasons == {"list.json": Reason.CHANGED}


def test_listing_and_interrupted_deploys_force_uploads() -> None:
    remote = {p: e.size for p, e in NEW.items()}
    del remote["p2/wp-theme/t.json"]
    remote["list.json"] = 1
    result = plan_uploads(NEW, NEW, remote=remote, dirty={"p2/wp-plugin/a.json", "other"})
    assert result.reasons == {
        "p2/wp-plugin/a.json": Reason.DIRTY,
        "p2/wp-theme/t.json": Reason.MISSING,
        "list.json": Reason.SIZE,
    }


def test_dirty_paths_only_while_the_recorded_deploy_is_unfinished() -> None:
    record = InProgress("c" * 40, "f" * 64, T0, frozenset({"p2/x.json"}))
    assert dirty_paths(None, "e" * 64) == frozenset()
    assert dirty_paths(record, "e" * 64) == {"p2/x.json"}
    assert dirty_paths(record, None) == {"p2/x.json"}
    assert dirty_paths(record, "f" * 64) == frozenset()  # it finished: its manifest is live


@pytest.mark.parametrize(
    "path,kind,phase,content_type,cache",
    [
        ("packages.json", FileKind.ENTRY, Phase.ENTRY, "application/json", "max-age=60"),
        ("manifest.json", FileKind.MANIFEST, Phase.MANIFEST, "application/json", "max-age=60"),
        ("p2/wp-plugin/a.json", FileKind.P2, Phase.P2, "application/json", "max-age=300"),
        ("p2/wp-plugin/a~dev.json", FileKind.P2, Phase.P2, "application/json", "max-age=300"),
        ("list.json", FileKind.LIST, Phase.OTHER, "application/json", "max-age=300"),
        ("report.json", FileKind.REPORT, Phase.OTHER, "application/json", "max-age=300"),
        ("search.sqlite", FileKind.SEARCH, Phase.OTHER, "application/vnd.sqlite3", "3600"),
        ("extra/notes.json", FileKind.OTHER, Phase.OTHER, "application/json", "max-age=300"),
        ("robots.txt", FileKind.OTHER, Phase.OTHER, "application/octet-stream", "max-age=300"),
        (".curator/pending-deletes.json", FileKind.STATE, Phase.OTHER, "application/json", "no-"),
    ],
)
def test_policy_per_kind(
    path: str, kind: FileKind, phase: Phase, content_type: str, cache: str
) -> None:
    assert plan.file_kind(path) is kind
    assert plan.phase(path) is phase
    policy = plan.policy(path)
    assert policy.content_type == content_type
    assert cache in policy.cache_control
    assert "must-revalidate" in policy.cache_control or kind not in (
        FileKind.ENTRY,
        FileKind.MANIFEST,
    )


def test_orphans_wait_for_the_grace_period() -> None:
    new = ["packages.json", "p2/a.json"]
    remote = ["packages.json", "p2/a.json", "p2/old.json", ".curator/pending-deletes.json"]
    first = plan_deletions(new, remote, {}, now=T0)
    assert first.delete == ()
    assert first.scheduled == ("p2/old.json",)
    assert dict(first.pending) == {"p2/old.json": T0}

    almost = plan_deletions(new, remote, first.pending, now=T0 + DEFAULT_GRACE / 2)
    assert almost.delete == () and almost.scheduled == ()
    assert dict(almost.pending) == {"p2/old.json": T0}  # keeps its first orphan time

    due = plan_deletions(new, remote, first.pending, now=T0 + DEFAULT_GRACE)
    assert due.delete == ("p2/old.json",)
    assert dict(due.pending) == {}


def test_a_key_named_again_leaves_the_pending_list() -> None:
    pending = {"p2/back.json": T0, "p2/vanished.json": T0}
    result = plan_deletions(
        ["p2/back.json"], ["p2/back.json"], pending, now=T0 + dt.timedelta(days=3)
    )
    assert result.delete == ()
    assert dict(result.pending) == {}
    assert result.restored == ("p2/back.json",)


def test_zero_grace_deletes_at_once() -> None:
    result = plan_deletions([], ["x.json"], {}, now=T0, grace=dt.timedelta(0))
    assert result.delete == ("x.json",)
    assert result.scheduled == ("x.json",)


def test_bookkeeping_round_trips() -> None:
    pending = {"p2/a.json": T0, "b.json": T0 + dt.timedelta(hours=1)}
    assert plan.decode_pending(plan.encode_pending(pending)) == pending
    record = InProgress("c" * 40, "f" * 64, T0, frozenset({"p2/a.json", "packages.json"}))
    assert plan.decode_in_progress(plan.encode_in_progress(record)) == record
    with pytest.raises(ValueError):
        plan.decode_pending(b'{"keys": []}')
    with pytest.raises(ValueError):
        plan.decode_in_progress(b"[]")


@pytest.mark.parametrize(
    "url,expected",
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://my.bucket-1/a/b/", ("my.bucket-1", "a/b")),
        ("s3://bucket//a//b", ("bucket", "a/b")),
    ],
)
def test_parse_s3_url(url: str, expected: tuple[str, str]) -> None:
    assert plan.parse_s3_url(url) == expected


@pytest.mark.parametrize(
    "url", ["bucket/x", "http://bucket/x", "s3://", "s3://B/x", "s3://bu/x", "s3://b/../x"]
)
def test_parse_s3_url_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        plan.parse_s3_url(url)


def test_keys_and_paths() -> None:
    assert plan.key_for("", "p2/a.json") == "p2/a.json"
    assert plan.key_for("repo/v2", "p2/a.json") == "repo/v2/p2/a.json"
    assert plan.path_for("repo/v2", "repo/v2/p2/a.json") == "p2/a.json"
    assert plan.path_for("repo/v2", "repo/v2x/p2/a.json") is None
    assert plan.path_for("repo/v2", "repo/v2/") is None
    assert plan.path_for("", "a.json") == "a.json"
