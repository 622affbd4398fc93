"""Deploys to a real S3 server (seaweedfs): incremental uploads, order, headers, grace-period
deletion, interrupted deploys, and verification by content."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from curator.build import synthetic
from curator.build.manifest import MANIFEST_NAME, InvalidBuildError, Manifest
from curator.deploy import plan
from curator.deploy.plan import DEPLOYED, IN_PROGRESS, PENDING_DELETES
from curator.deploy.s3 import DeployError, S3Bucket, S3Error, deploy_build
from curator.deploy.verify import Problem, verify_bucket

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NAMES = synthetic.package_names(140, 10, seed=7)  # 300 p2 files
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
SQLITE = b"SQLite format 3\x00" + bytes(range(256)) * 4


class Puts:
    """Records every PutObject the client makes: starts and completions, in order."""

    def __init__(self, client: S3Client) -> None:
        self.client = client
        self.events: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._id = f"puts-{id(self)}"

    def _start(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["curator_key"] = params["Key"]
        with self._lock:
            self.events.append(("start", params["Key"]))

    def _done(self, context: dict[str, Any], http_response: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            with self._lock:
                self.events.append(("done", context["curator_key"]))

    def __enter__(self) -> Puts:
        events = self.client.meta.events
        events.register("before-parameter-build.s3.PutObject", self._start, self._id + "s")
        events.register("after-call.s3.PutObject", self._done, self._id + "d")
        return self

    def __exit__(self, *_: object) -> None:
        events = self.client.meta.events
        events.unregister("before-parameter-build.s3.PutObject", unique_id=self._id + "s")
        events.unregister("after-call.s3.PutObject", unique_id=self._id + "d")

    def done(self, bucket: S3Bucket) -> list[str]:
        """Build paths uploaded (bookkeeping under .curator/ excluded)."""
        paths = [plan.path_for(bucket.prefix, k) for e, k in self.events if e == "done"]
        return [p for p in paths if p is not None and not p.startswith(".curator/")]

    def index(self, event: str, key: str) -> int:
        return self.events.index((event, key))


def content(bucket: S3Bucket) -> dict[str, str]:
    """Build path -> sha256 of the downloaded content, for every object under the prefix."""
    return {path: hashlib.sha256(bucket.get(path) or b"").hexdigest() for path in bucket.listing()}


def p2_paths(manifest: Manifest) -> list[str]:
    return sorted(p for p in manifest.files if p.startswith("p2/"))


def change(manifest: Manifest, fraction: float, seed: int = 0) -> dict[str, int]:
    paths = p2_paths(manifest)
    chosen = random.Random(seed).sample(paths, max(1, int(len(paths) * fraction)))
    return {p: 1 for p in chosen}


@pytest.fixture
def build1(tmp_path: Path) -> tuple[Path, Manifest]:
    directory = tmp_path / "b1"
    return directory, synthetic.write(
        directory, NAMES, label="one", extra={"search.sqlite": SQLITE}
    )


def test_first_deploy_uploads_everything_with_headers(
    bucket: S3Bucket, build1: tuple[Path, Manifest]
) -> None:
    directory, m1 = build1
    with Puts(bucket.client) as puts:
        report = deploy_build(directory, bucket, clock=lambda: T0)
    every = {*m1.files, MANIFEST_NAME}
    assert sorted(puts.done(bucket)) == sorted(every)
    assert (report.uploaded, report.skipped, report.files) == (len(every), 0, len(every))
    assert report.bytes_uploaded == m1.total_bytes + len((directory / MANIFEST_NAME).read_bytes())
    assert report.reasons == {"new": len(every)}
    assert report.previous_commit is None and report.commit == m1.commit
    assert report.scanned  # nothing deployed yet: the prefix is listed
    # the only bookkeeping left: what this deploy published, and when it listed the prefix
    assert set(bucket.listing()) == {*every, DEPLOYED}
    deployed = plan.decode_deployed(bucket.get(DEPLOYED) or b"")
    sha = hashlib.sha256((directory / MANIFEST_NAME).read_bytes()).hexdigest()
    assert deployed == plan.Deployed(sha, T0)

    expected = {
        "packages.json": ("application/json", "public, max-age=60, must-revalidate"),
        MANIFEST_NAME: ("application/json", "public, max-age=60, must-revalidate"),
        f"p2/{NAMES[0]}.json": ("application/json", "public, max-age=300"),
        f"p2/{NAMES[-1]}~dev.json": ("application/json", "public, max-age=300"),
        "list.json": ("application/json", "public, max-age=300"),
        "report.json": ("application/json", "public, max-age=300"),
        "search.sqlite": ("application/vnd.sqlite3", "public, max-age=3600"),
    }
    for path, (content_type, cache_control) in expected.items():
        head = bucket.head(path)
        assert head is not None, path
        assert (head["ContentType"], head["CacheControl"]) == (content_type, cache_control), path
        sha = m1.files[path].sha256 if path in m1.files else None
        if sha is not None:
            assert head["Metadata"]["sha256"] == sha
    assert bucket.get(MANIFEST_NAME) == (directory / MANIFEST_NAME).read_bytes()
    assert verify_bucket(bucket, m1) == []


def test_second_deploy_uploads_only_changed_files_in_order(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path
) -> None:
    directory, m1 = build1
    deploy_build(directory, bucket)
    revisions = change(m1, 0.01)
    assert len(revisions) == 3
    m2 = synthetic.write(
        tmp_path / "b2", NAMES, revisions=revisions, label="two", extra={"search.sqlite": SQLITE}
    )
    planned: list[int] = []
    progress: list[str] = []
    lock = threading.Lock()

    def on_upload(path: str, size: int) -> None:
        with lock:
            progress.append(path)

    with Puts(bucket.client) as puts:
        report = deploy_build(tmp_path / "b2", bucket, on_plan=planned.append, on_upload=on_upload)
    uploaded = puts.done(bucket)
    assert planned == [5] and sorted(progress) == sorted(uploaded)  # what a progress bar shows
    assert sorted(uploaded) == sorted([*revisions, "packages.json", MANIFEST_NAME])
    assert report.uploaded == len(uploaded) == 5
    assert report.skipped == len(m2.files) + 1 - 5
    assert report.reasons == {"changed": 5}
    assert report.previous_commit == m1.commit
    assert not report.scanned  # the bookkeeping named the deployed manifest: no listing

    # p2 files complete before packages.json starts, which completes before manifest.json.
    key = bucket.key
    entry_start = puts.index("start", key("packages.json"))
    assert all(puts.index("done", key(p)) < entry_start for p in revisions)
    assert puts.index("done", key("packages.json")) < puts.index("start", key(MANIFEST_NAME))
    assert uploaded[-1] == MANIFEST_NAME
    # The in-progress record went up first and was removed at the end.
    assert puts.events[0] == ("start", key(IN_PROGRESS))
    assert IN_PROGRESS not in bucket.listing()
    assert verify_bucket(bucket, m2) == []

    with Puts(bucket.client) as puts:
        again = deploy_build(tmp_path / "b2", bucket)
    assert (again.uploaded, puts.events) == (0, [])


def test_stale_keys_survive_until_the_grace_period_passed(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path
) -> None:
    directory, _ = build1
    deploy_build(directory, bucket, clock=lambda: T0)
    removed = NAMES[:3]
    gone = [f"p2/{n}.json" for n in removed] + [f"p2/{n}~dev.json" for n in removed]
    m2 = synthetic.write(tmp_path / "b2", NAMES[3:], label="two")
    bucket.put("stray.txt", b"left by hand")

    t1 = T0 + dt.timedelta(hours=1)
    # a routine deploy knows the keys it wrote; a key written by hand takes a full listing
    report = deploy_build(tmp_path / "b2", bucket, clock=lambda: t1, rescan=True)
    orphans = sorted([*gone, "search.sqlite", "stray.txt"])
    assert (report.scheduled, report.deleted, report.pending) == (8, 0, 8)
    listed = bucket.listing()
    assert all(p in listed for p in orphans)
    pending = plan.decode_pending(bucket.get(PENDING_DELETES) or b"")
    assert pending == dict.fromkeys(orphans, t1)
    assert verify_bucket(bucket, m2) == []  # pending keys are not "extra"

    # A package comes back before the grace period ends: it leaves the pending list.
    m3 = synthetic.write(tmp_path / "b3", [NAMES[1], *NAMES[3:]], label="three")
    report = deploy_build(tmp_path / "b3", bucket, clock=lambda: t1 + dt.timedelta(hours=2))
    assert (report.restored, report.scheduled, report.deleted, report.pending) == (2, 0, 0, 6)
    back = [f"p2/{NAMES[1]}.json", f"p2/{NAMES[1]}~dev.json"]
    assert not set(back) & set(plan.decode_pending(bucket.get(PENDING_DELETES) or b""))

    almost = t1 + dt.timedelta(hours=23, minutes=59)
    report = deploy_build(tmp_path / "b3", bucket, clock=lambda: almost)
    assert (report.uploaded, report.deleted, report.pending) == (0, 0, 6)
    assert all(p in bucket.listing() for p in orphans if p not in back)

    report = deploy_build(tmp_path / "b3", bucket, clock=lambda: t1 + dt.timedelta(hours=24))
    assert (report.deleted, report.pending) == (6, 0)
    listed = bucket.listing()
    assert not (set(orphans) - set(back)) & set(listed)
    assert PENDING_DELETES not in listed
    assert set(listed) == {*m3.files, MANIFEST_NAME, DEPLOYED}
    assert verify_bucket(bucket, m3) == []


class Lists:
    """Counts the ListObjectsV2 requests the client makes."""

    def __init__(self, client: S3Client) -> None:
        self.client = client
        self.count = 0

    def _count(self, **_: Any) -> None:
        self.count += 1

    def __enter__(self) -> Lists:
        self.client.meta.events.register("before-call.s3.ListObjectsV2", self._count, "lists")
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister("before-call.s3.ListObjectsV2", unique_id="lists")


def test_routine_deploys_do_not_list_the_prefix_and_a_rescan_repairs_the_rest(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path, s3_client: S3Client
) -> None:
    """Listing costs a request per 1,000 keys: a deploy lists only when its bookkeeping
    cannot be trusted, or once its last full listing is older than ``rescan_after``."""
    directory, m1 = build1
    with Lists(bucket.client) as lists:
        first = deploy_build(directory, bucket, clock=lambda: T0)
    assert first.scanned and lists.count >= 1

    m2 = synthetic.write(tmp_path / "b2", NAMES[1:], revisions=change(m1, 0.01), label="two")
    t1 = T0 + dt.timedelta(hours=1)
    with Lists(bucket.client) as lists:
        report = deploy_build(tmp_path / "b2", bucket, clock=lambda: t1)
    assert (lists.count, report.scanned) == (0, False)
    differ = {p for p, e in m2.files.items() if m1.files.get(p) != e}
    assert report.uploaded == len(differ) + 1  # and manifest.json
    # orphans still come from the deployed manifest: NAMES[0]'s files and search.sqlite
    assert (report.scheduled, report.pending) == (3, 3)
    assert verify_bucket(bucket, m2) == []

    # Behind the deployer's back: an object deleted, a key added. A routine deploy cannot
    # know; verify names the damage; a rescan repairs it and schedules the stranger.
    lost = p2_paths(m2)[5]
    s3_client.delete_object(Bucket=bucket.bucket, Key=bucket.key(lost))
    bucket.put("stray.txt", b"left by hand")
    routine = deploy_build(tmp_path / "b2", bucket, clock=lambda: t1)
    assert (routine.scanned, routine.uploaded, routine.scheduled) == (False, 0, 0)
    damage = [(p.path, p.problem) for p in verify_bucket(bucket, m2)]
    assert sorted(damage) == [(lost, Problem.MISSING), ("stray.txt", Problem.EXTRA)]
    with Lists(bucket.client) as lists:
        repaired = deploy_build(tmp_path / "b2", bucket, clock=lambda: t1, rescan=True)
    assert repaired.scanned and lists.count >= 1
    assert (repaired.uploaded, repaired.reasons) == (1, {"missing": 1})
    assert repaired.scheduled == 1  # stray.txt
    assert verify_bucket(bucket, m2) == []
    assert plan.decode_deployed(bucket.get(DEPLOYED) or b"").scanned == t1

    # The last full listing ages: after rescan_after the next deploy lists again.
    later = t1 + dt.timedelta(hours=24)
    assert (
        deploy_build(tmp_path / "b2", bucket, clock=lambda: later - dt.timedelta(1e-3)).scanned
        is False
    )
    assert deploy_build(tmp_path / "b2", bucket, clock=lambda: later).scanned is True
    assert deploy_build(tmp_path / "b2", bucket, clock=lambda: later, rescan=False).scanned is False


def test_a_manifest_another_deployer_wrote_makes_the_next_deploy_list(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """An older curator (or any other tool) that deploys leaves our record naming a manifest
    that is no longer the bucket's: the next deploy cannot trust it and lists the prefix."""
    directory, m1 = build1
    deploy_build(directory, bucket, clock=lambda: T0)
    ours = bucket.get(DEPLOYED)
    assert ours is not None
    m2 = synthetic.write(tmp_path / "b2", NAMES, revisions=change(m1, 0.01), label="two")
    deploy_build(tmp_path / "b2", bucket, clock=lambda: T0)
    bucket.put(DEPLOYED, ours)  # as if m2 had been deployed by a tool that keeps no record
    bucket.put("stray.txt", b"left by hand")
    report = deploy_build(tmp_path / "b2", bucket, clock=lambda: T0, rescan=False)
    # stray.txt is found; search.sqlite (gone since m2) was already pending
    assert (report.scanned, report.scheduled, report.pending) == (True, 1, 2)
    assert verify_bucket(bucket, m2) == []


def test_grace_is_an_option(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path
) -> None:
    directory, _ = build1
    deploy_build(directory, bucket)
    m2 = synthetic.write(tmp_path / "b2", NAMES[1:], label="two")
    report = deploy_build(tmp_path / "b2", bucket, grace=dt.timedelta(0))
    assert (report.scheduled, report.deleted, report.pending) == (3, 3, 0)
    assert set(bucket.listing()) == {*m2.files, MANIFEST_NAME, DEPLOYED}


KILLER = """
import itertools, os, signal, sys
from pathlib import Path
from curator.deploy.s3 import S3Bucket, deploy_build, make_client
uploads = itertools.count(1)
def hook(path, size):
    if next(uploads) == int(sys.argv[4]):
        os.kill(os.getpid(), signal.SIGKILL)
target = S3Bucket(make_client(), sys.argv[2], sys.argv[3])
deploy_build(Path(sys.argv[1]), target, workers=4, on_upload=hook)
print("finished without being killed")
"""


def run_killed(directory: Path, bucket: S3Bucket, after: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(directory), bucket.bucket, bucket.prefix, str(after)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr


@pytest.mark.usefixtures("s3_env")
def test_a_killed_deploy_keeps_the_old_repository_and_the_next_one_completes(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path
) -> None:
    directory, m1 = build1
    deploy_build(directory, bucket)
    before = content(bucket)
    old_entry = bucket.get("packages.json")
    revisions = change(m1, 0.25, seed=1)
    names2 = [*NAMES[5:], "wp-plugin/zz-new-one", "wp-plugin/zz-new-two"]
    m2 = synthetic.write(tmp_path / "b2", names2, revisions=revisions, label="two")

    run_killed(tmp_path / "b2", bucket, after=20)

    after = content(bucket)
    assert bucket.get("packages.json") == old_entry
    assert bucket.get(MANIFEST_NAME) == (directory / MANIFEST_NAME).read_bytes()
    assert set(m1.files) <= set(after)  # nothing the old manifest names was deleted
    rewritten = [p for p in m1.files if after[p] != m1.files[p].sha256]
    assert rewritten, "the deploy was not interrupted midway"
    for path in rewritten:  # only files the new build changed, each complete
        assert path in revisions and after[path] == m2.files[path].sha256
    assert all(after[p] == before[p] for p in m1.files if p not in revisions)
    assert IN_PROGRESS in after
    found = verify_bucket(bucket, m1)
    differ = (Problem.SHA256, Problem.SIZE)
    assert {m.problem for m in found} <= {*differ, Problem.EXTRA}
    assert sorted(m.path for m in found if m.problem in differ) == sorted(rewritten)

    # Going back to the old build repairs what the interrupted deploy rewrote...
    report = deploy_build(directory, bucket)
    assert report.reasons.get("interrupted", 0) >= len(rewritten)
    assert verify_bucket(bucket, m1) == []
    assert IN_PROGRESS not in bucket.listing()

    # ...and deploying the new build after another interruption completes it.
    run_killed(tmp_path / "b2", bucket, after=5)
    deploy_build(tmp_path / "b2", bucket)
    assert verify_bucket(bucket, m2) == []


def test_verify_downloads_and_names_every_difference(
    bucket: S3Bucket, build1: tuple[Path, Manifest], s3_client: S3Client
) -> None:
    directory, m1 = build1
    deploy_build(directory, bucket)
    p2 = p2_paths(m1)
    tampered, deleted = p2[0], p2[1]
    data = bytearray(bucket.get(tampered) or b"")
    data[-3] = ord("X")
    s3_client.put_object(  # same size, same sha256 metadata: only the content tells
        Bucket=bucket.bucket,
        Key=bucket.key(tampered),
        Body=bytes(data),
        Metadata={"sha256": m1.files[tampered].sha256},
    )
    s3_client.delete_object(Bucket=bucket.bucket, Key=bucket.key(deleted))
    bucket.put("list.json", b'{"packageNames": []}\n')
    bucket.put("p2/wp-plugin/intruder.json", b"{}")
    bucket.put(".curator/notes.json", b"{}")  # bookkeeping: ignored

    found = verify_bucket(bucket, m1)
    assert [(m.path, m.problem) for m in found] == [
        ("list.json", Problem.SIZE),
        (tampered, Problem.SHA256),
        (deleted, Problem.MISSING),
        ("p2/wp-plugin/intruder.json", Problem.EXTRA),
    ]
    messages = [str(m) for m in found]
    assert messages[0].startswith("list.json: size is 21, expected ")
    assert messages[1].startswith(f"{tampered}: sha256 is ")
    assert messages[1].endswith(f", expected {m1.files[tampered].sha256}")
    assert messages[2] == f"{deleted}: missing"
    assert messages[3] == "p2/wp-plugin/intruder.json: not in the manifest"

    other = m1.model_copy(update={"commit": "f" * 40})
    [wrong] = [m for m in verify_bucket(bucket, other) if m.path == MANIFEST_NAME]
    assert str(wrong) == f"manifest.json: names commit {m1.commit}, expected {'f' * 40}"


def test_an_invalid_build_is_never_uploaded(
    bucket: S3Bucket, build1: tuple[Path, Manifest]
) -> None:
    directory, m1 = build1
    (directory / p2_paths(m1)[0]).write_bytes(b"{}")
    with Puts(bucket.client) as puts, pytest.raises(InvalidBuildError, match=r"p2/"):
        deploy_build(directory, bucket)
    assert puts.events == []


def test_a_failed_upload_aborts_before_the_entry_point(
    bucket: S3Bucket, build1: tuple[Path, Manifest], tmp_path: Path
) -> None:
    directory, m1 = build1
    deploy_build(directory, bucket)
    m2 = synthetic.write(tmp_path / "b2", NAMES, revisions=change(m1, 0.05), label="two")
    victim = sorted(p for p in m2.files if m2.files[p] != m1.files.get(p))[0]
    (tmp_path / "b2" / victim).write_bytes(b"{}")  # the build changed after its manifest
    with pytest.raises(DeployError, match=victim):
        deploy_build(tmp_path / "b2", bucket, validate=False)
    assert bucket.get(MANIFEST_NAME) == (directory / MANIFEST_NAME).read_bytes()
    assert bucket.get("packages.json") == (directory / "packages.json").read_bytes()


def test_a_missing_bucket_is_a_clear_error(
    s3_client: S3Client, build1: tuple[Path, Manifest]
) -> None:
    directory, _ = build1
    with pytest.raises(S3Error, match="no-such-bucket"):
        deploy_build(directory, S3Bucket(s3_client, "no-such-bucket", "x"))


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = {t.name for t in threading.enumerate()}
    yield
    leftover = [
        t.name
        for t in threading.enumerate()
        if t.name not in before and t.name.startswith("deploy")
    ]
    assert leftover == []
