"""The pure merge from an upstream answer into the stored record."""

from curator.layout import PackageType
from curator.models import Closure, PackageRecord, PackageStatus, UpstreamInfo
from curator.records import Change, Found, Gone, classify, decode, encode, merge

P = PackageType.PLUGIN
T0 = "2026-01-01T00:00:00Z"
T1 = "2026-02-01T00:00:00Z"


def info(**extra: object) -> UpstreamInfo:
    base: dict[str, object] = {
        "name": "Demo &#8211; Plugin",
        "slug": "demo",
        "version": "1.1",
        "versions": {"1.0": "https://d/demo.1.0.zip", "1.1": "https://d/demo.1.1.zip"},
        "requires_php": False,
        "tags": [],
    }
    base.update(extra)
    return UpstreamInfo.model_validate(base)


def test_first_import_records_no_invented_times() -> None:
    rec = merge(P, "demo", Found(info()), None, now=T0, revision=None)
    assert rec.status is PackageStatus.OPEN
    assert rec.first_seen == {}
    assert classify(None, rec, True) is Change.ADDED


def test_new_versions_get_first_seen_and_old_ones_keep_theirs() -> None:
    first = merge(P, "demo", Found(info()), None, now=T0)
    versions = {"1.0": "u", "1.1": "u", "1.2": "u", "trunk": "u"}
    second = merge(P, "demo", Found(info(versions=versions, version="1.2")), first, now=T1)
    assert second.first_seen == {"1.2": T1}
    third = merge(P, "demo", Found(info(versions=versions, version="1.2")), second, now="later")
    assert third.first_seen == {"1.2": T1}
    assert encode(third) == encode(second)
    assert classify(second, third, False) is Change.UNCHANGED


def test_closure_keeps_versions_and_info() -> None:
    first = merge(P, "demo", Found(info()), None, now=T0)
    closure = Closure(date="2026-04-09", reason="security-issue", permanent=True)
    closed = merge(P, "demo", Gone(closure), first, now=T1)
    assert closed.status is PackageStatus.CLOSED
    assert closed.info == first.info
    assert closed.closure == closure
    assert classify(first, closed, True) is Change.CLOSED
    reopened = merge(P, "demo", Found(info()), closed, now=T1)
    assert reopened.closure is None
    assert classify(closed, reopened, True) is Change.REOPENED


def test_not_found_is_distinct_from_closed() -> None:
    gone = merge(P, "ghost", Gone(None), None, now=T0)
    assert gone.status is PackageStatus.NOT_FOUND
    assert gone.info is None
    assert classify(None, gone, True) is Change.NOT_FOUND


def test_revision_only_moves_forward() -> None:
    a = merge(P, "demo", Found(info()), None, now=T0, revision=10)
    b = merge(P, "demo", Found(info()), a, now=T0, revision=5)
    c = merge(P, "demo", Found(info()), b, now=T0, revision=None)
    assert (a.revision, b.revision, c.revision) == (10, 10, 10)


def test_encode_keeps_only_sent_upstream_keys_verbatim() -> None:
    rec = merge(P, "demo", Found(info(versions=[], requires=False)), None, now=T0)
    data = decode(encode(rec)).to_json_data()
    assert data["info"]["versions"] == []
    assert data["info"]["requires"] is False
    assert "homepage" not in data["info"]
    assert decode(encode(rec)) == rec
    assert isinstance(decode(encode(rec)), PackageRecord)
