"""Deploy a build directory to S3 or R2 (``s3://bucket/prefix``). The only module importing boto3.

A deploy makes the bucket serve the build, uploading as little as possible and never leaving
clients with an inconsistent entry point:

1. Read the deployed ``manifest.json`` and the deployer's bookkeeping under
   ``<prefix>/.curator/`` (pending deletions; the record of an interrupted deploy; the record
   ``deployed.json`` each complete deploy leaves), then plan with :mod:`curator.deploy.plan`.
   The keys under the prefix are listed only when that bookkeeping cannot be trusted (first
   deploy, another deployer, an interrupted deploy) or the last full listing is older than a
   day (``rescan``), so a routine deploy costs a few requests plus its uploads, not one
   request per 1,000 keys (:func:`read_remote_state`).
2. Record what is about to be written (``.curator/deploy-in-progress.json``).
3. Upload, phase by phase (a phase finishes before the next starts): ``p2/`` files, other
   files, ``packages.json``, ``manifest.json``, and last, for a signed build, its signature
   ``manifest.json.sig`` (checked first to sign this very manifest). Each file is re-hashed
   while it is read and must match the build's manifest; each PUT carries Content-MD5 (the
   store checks the bytes), Content-Type, Cache-Control and the sha256 in
   ``x-amz-meta-sha256``.
4. Delete orphans whose grace period has passed, record the others in
   ``.curator/pending-deletes.json``, write ``.curator/deployed.json``, and drop the
   in-progress record.

A deploy killed anywhere before step 3's last PUT leaves the old ``packages.json`` and
``manifest.json`` in place, and no key the old manifest names is deleted; the only keys that
may hold new content are the p2/other files of the new build that differ from the old one
(each individually complete: a PUT is atomic). The next deploy re-uploads every path the
interrupted one may have touched, so it completes the job whatever build it deploys.
Deploys to one prefix must not run concurrently (use a CI concurrency group).

The prefix belongs to the curator: a key under it that the deployed build does not name is
scheduled for deletion (after the grace period), whoever wrote it, once a full listing
finds it.

Cache policy (``Cache-Control`` per file kind; see :data:`curator.deploy.plan.POLICIES`):

====================  ========================  =====================================
file                  Content-Type              Cache-Control
====================  ========================  =====================================
packages.json         application/json          public, max-age=60, must-revalidate
manifest.json         application/json          public, max-age=60, must-revalidate
manifest.json.sig     application/json          public, max-age=60, must-revalidate
p2/**/*.json          application/json          public, max-age=300
list.json             application/json          public, max-age=300
report.json           application/json          public, max-age=300
search.sqlite         application/vnd.sqlite3   public, max-age=3600
other files           application/octet-stream  public, max-age=300 (.json: application/json)
.curator/*            application/json          no-store
====================  ========================  =====================================

Why: ``packages.json`` is the one URL every Composer run fetches first; one minute bounds how
long a new build takes to reach clients, and ``must-revalidate`` stops caches serving it stale
after that. ``manifest.json`` changes together with it (mirrors and ``curator verify`` read
it). p2 files change only when their package changes and Composer revalidates them with
``If-Modified-Since``; five minutes keeps CDN hit rates high while the registry stays far
fresher than its upstream sync interval. ``list.json``/``report.json`` are large, rarely
read and not latency-critical. The search index is only read by the server, which syncs it
per build, so it may be cached for an hour. Bookkeeping objects are never cached.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
from botocore.config import Config

from curator.build.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    FileCache,
    FileEntry,
    InvalidBuildError,
    Manifest,
    ManifestError,
    check_build,
    file_entry,
    read_manifest,
)
from curator.deploy import plan as planning
from curator.deploy.plan import (
    DEFAULT_GRACE,
    DEFAULT_RESCAN_AFTER,
    DEPLOYED,
    IN_PROGRESS,
    PENDING_DELETES,
    Deployed,
    InProgress,
    Phase,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

ENDPOINT_ENV = "CURATOR_S3_ENDPOINT"
DEFAULT_WORKERS = 16
_DELETE_BATCH = 1000  # DeleteObjects limit

Clock = Callable[[], dt.datetime]
ProgressHook = Callable[[str, int], None]


class S3Error(Exception):
    """The bucket could not be read or written (network, credentials, missing bucket)."""


class DeployError(Exception):
    """A deploy stopped before completing; the deployed repository is still the old one."""


def make_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    max_pool_connections: int = DEFAULT_WORKERS + 4,
) -> S3Client:
    """An S3 client; unset arguments come from ``CURATOR_S3_ENDPOINT`` and the AWS env/config.

    With an endpoint URL (R2, seaweedfs, MinIO) path-style addressing is used and the region
    defaults to ``us-east-1``. Checksums are only sent where the API requires them (many
    S3-compatible stores reject the newer defaults); uploads carry Content-MD5 instead.
    """
    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
    )
    if session.region_name is None and (endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        region = "us-east-1"
    config = Config(
        max_pool_connections=max_pool_connections,
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=10,
        read_timeout=60,
        s3={"addressing_style": "path"} if endpoint_url else {},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _describe(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '') or exc}"
    return str(exc)


@dataclass(frozen=True)
class Listed:
    size: int
    etag: str


class S3Bucket:
    """A prefix of a bucket, addressed by build path. Thread-safe (boto3 clients are)."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = planning.normalize_prefix(prefix)

    @classmethod
    def from_url(cls, url: str, client: S3Client) -> S3Bucket:
        bucket, prefix = planning.parse_s3_url(url)
        return cls(client, bucket, prefix)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, path: str) -> str:
        return planning.key_for(self.prefix, path)

    def listing(self) -> dict[str, Listed]:
        """Every object under the prefix: build path -> size and ETag."""
        out: dict[str, Listed] = {}
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.prefix:
            kwargs["Prefix"] = f"{self.prefix}/"
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for obj in page.get("Contents", []):
                    path = planning.path_for(self.prefix, obj["Key"])
                    if path is not None and not path.endswith("/"):
                        out[path] = Listed(obj["Size"], obj.get("ETag", "").strip('"'))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise S3Error(f"cannot list {self.url}: {_describe(exc)}") from exc
        return out

    def get(self, path: str) -> bytes | None:
        """The content of ``path``, or None if there is no such object."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(path))
            return response["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise S3Error(f"cannot read {self.url}/{path}: {_describe(exc)}") from exc

    def head(self, path: str) -> dict[str, Any] | None:
        """HEAD ``path``: ContentType, CacheControl, Metadata, ...; None if absent."""
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self.key(path)))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise S3Error(f"cannot read {self.url}/{path}: {_describe(exc)}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise S3Error(f"cannot read {self.url}/{path}: {_describe(exc)}") from exc

    def put(self, path: str, data: bytes, *, sha256: str | None = None) -> None:
        """Upload ``data`` to ``path`` with the Content-Type and Cache-Control of its kind."""
        policy = planning.policy(path)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(path),
                Body=data,
                ContentMD5=md5,
                ContentType=policy.content_type,
                CacheControl=policy.cache_control,
                Metadata={"sha256": sha256 or hashlib.sha256(data).hexdigest()},
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise S3Error(f"cannot upload {self.url}/{path}: {_describe(exc)}") from exc

    def delete(self, paths: Iterable[str]) -> list[str]:
        """Delete ``paths`` (batched); returns the paths that were deleted."""
        todo = sorted(paths)
        done: list[str] = []
        for start in range(0, len(todo), _DELETE_BATCH):
            batch = todo[start : start + _DELETE_BATCH]
            try:
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.key(p)} for p in batch], "Quiet": True},
                )
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise S3Error(f"cannot delete under {self.url}: {_describe(exc)}") from exc
            failed = {e.get("Key") for e in response.get("Errors", [])}
            for err in response.get("Errors", []):
                log.warning("could not delete %s: %s", err.get("Key"), err.get("Message"))
            done.extend(p for p in batch if self.key(p) not in failed)
        return done


def ensure_bucket(client: S3Client, bucket: str) -> None:
    """Create ``bucket`` if it does not exist (for tests, benchmarks and first set-up)."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except botocore.exceptions.ClientError:
        pass
    try:
        client.create_bucket(Bucket=bucket)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise S3Error(f"cannot create bucket {bucket}: {_describe(exc)}") from exc


# --- the deploy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteState:
    """What the bucket holds before a deploy."""

    listed: Mapping[str, Listed]
    manifest: Manifest | None
    manifest_raw: bytes | None
    pending: Mapping[str, dt.datetime]
    in_progress: InProgress | None
    signature_raw: bytes | None = None  # the deployed manifest.json.sig, if any
    # True: ``listed`` is a listing of the prefix; False: it is what the deployed manifest
    # and the pending deletions name (sizes from the manifest), see read_remote_state
    scanned: bool = True
    last_scan: dt.datetime | None = None  # when the prefix was last listed in full
    deployed: Deployed | None = None  # the record the last complete deploy left

    @property
    def manifest_sha256(self) -> str | None:
        return None if self.manifest_raw is None else hashlib.sha256(self.manifest_raw).hexdigest()


def read_remote_state(
    target: S3Bucket,
    *,
    rescan: bool | None = None,
    now: dt.datetime | None = None,
    rescan_after: dt.timedelta = DEFAULT_RESCAN_AFTER,
) -> RemoteState:
    """What the bucket holds, for planning a deploy.

    Listing the prefix costs one request per 1,000 keys (seconds at WordPress.org scale), so
    by default (``rescan=None``) it is listed only when the bookkeeping cannot be trusted: no
    readable ``manifest.json``, no ``.curator/deployed.json`` naming that very manifest (a
    first deploy, or another deployer wrote it), an interrupted deploy, or a last full listing
    older than ``rescan_after``. Otherwise the deployed manifest and the pending deletions
    stand for the listing, and objects removed or keys added behind the deployer's back are
    found by the next full listing (``rescan=True`` forces one; ``curator verify`` checks
    every object). ``rescan=False`` lists only when the bookkeeping cannot be trusted.
    """
    if rescan is not True:
        known = _known_state(target, now or _utcnow(), None if rescan is False else rescan_after)
        if known is not None:
            return known
    return _scanned_state(target)


def _known_state(
    target: S3Bucket, now: dt.datetime, rescan_after: dt.timedelta | None
) -> RemoteState | None:
    """The remote state from the bookkeeping alone; None when a listing is needed."""
    raw_deployed = target.get(DEPLOYED)
    raw = target.get(MANIFEST_NAME)
    if raw_deployed is None or raw is None or target.get(IN_PROGRESS) is not None:
        return None
    try:
        deployed = planning.decode_deployed(raw_deployed)
        manifest = Manifest.from_bytes(raw)
    except (ValueError, ManifestError):
        return None
    if deployed.manifest_sha256 != hashlib.sha256(raw).hexdigest():
        return None  # somebody else deployed since: list
    if rescan_after is not None and now - deployed.scanned >= rescan_after:
        return None
    pending: dict[str, dt.datetime] = {}
    raw_pending = target.get(PENDING_DELETES)
    if raw_pending is not None:
        try:
            pending = planning.decode_pending(raw_pending)
        except ValueError:
            return None  # a listing finds the orphans again
    signature = target.get(SIGNATURE_NAME)
    listed = {path: Listed(entry.size, "") for path, entry in manifest.files.items()}
    listed[MANIFEST_NAME] = Listed(len(raw), "")
    listed[DEPLOYED] = Listed(len(raw_deployed), "")
    if signature is not None:
        listed[SIGNATURE_NAME] = Listed(len(signature), "")
    if raw_pending is not None:
        listed[PENDING_DELETES] = Listed(len(raw_pending), "")
    for path in pending:
        listed.setdefault(path, Listed(-1, ""))
    return RemoteState(
        listed,
        manifest,
        raw,
        pending,
        None,
        signature,
        scanned=False,
        last_scan=deployed.scanned,
        deployed=deployed,
    )


def _scanned_state(target: S3Bucket) -> RemoteState:
    listed = target.listing()
    raw = target.get(MANIFEST_NAME) if MANIFEST_NAME in listed else None
    manifest = None
    if raw is not None:
        try:
            manifest = Manifest.from_bytes(raw)
        except ManifestError as exc:
            log.warning(
                "%s/%s unreadable (%s): every file will be uploaded", target.url, MANIFEST_NAME, exc
            )
    pending: dict[str, dt.datetime] = {}
    if PENDING_DELETES in listed:
        raw_pending = target.get(PENDING_DELETES)
        if raw_pending is not None:
            try:
                pending = planning.decode_pending(raw_pending)
            except ValueError as exc:
                log.warning(
                    "%s/%s unreadable (%s): orphans restart their grace period",
                    target.url,
                    PENDING_DELETES,
                    exc,
                )
    in_progress = None
    if IN_PROGRESS in listed:
        raw_progress = target.get(IN_PROGRESS)
        if raw_progress is not None:
            try:
                in_progress = planning.decode_in_progress(raw_progress)
            except ValueError:
                # We cannot tell what it touched: treat every listed path as dirty.
                in_progress = InProgress("", "", dt.datetime.now(dt.UTC), frozenset(listed))
    signature = target.get(SIGNATURE_NAME) if SIGNATURE_NAME in listed else None
    deployed = None
    raw_deployed = target.get(DEPLOYED) if DEPLOYED in listed else None
    if raw_deployed is not None:
        with contextlib.suppress(ValueError):
            deployed = planning.decode_deployed(raw_deployed)
    return RemoteState(
        listed, manifest, raw, pending, in_progress, signature, scanned=True, deployed=deployed
    )


@dataclass
class DeployReport:
    target: str
    commit: str
    previous_commit: str | None
    files: int  # files in the build, manifest.json included
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0
    scheduled: int = 0  # newly orphaned keys, now pending deletion
    pending: int = 0  # keys pending deletion after this deploy
    deleted: int = 0
    restored: int = 0  # keys that were pending and are named again
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    scanned: bool = True  # the prefix was listed (else the bookkeeping stood for the listing)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def deploy_build(
    directory: Path,
    target: S3Bucket,
    *,
    grace: dt.timedelta = DEFAULT_GRACE,
    workers: int = DEFAULT_WORKERS,
    clock: Clock = _utcnow,
    on_upload: ProgressHook | None = None,
    dry_run: bool = False,
    validate: bool = True,
    rescan: bool | None = None,
    rescan_after: dt.timedelta = DEFAULT_RESCAN_AFTER,
    cache: FileCache | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> DeployReport:
    """Make ``target`` serve the build in ``directory``; see the module docstring.

    ``rescan`` and ``rescan_after``: when the prefix is listed, see :func:`read_remote_state`.
    ``cache``: files an earlier validation read (see :class:`FileCache`), not read again.
    ``on_plan(uploads)`` is called once the number of files to upload is known, and
    ``on_upload(path, size)`` (from worker threads) after each successful PUT.
    Raises :class:`InvalidBuildError` if the build does not validate (nothing is written),
    :class:`DeployError` if an upload fails (the old entry point stays), :class:`S3Error` if
    the bucket cannot be read.
    """
    started = time.monotonic()
    now = clock()
    # Reading the bucket is network-bound and hashing the build CPU-bound: overlap them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="deploy-list") as lister:
        remote = lister.submit(
            read_remote_state, target, rescan=rescan, now=now, rescan_after=rescan_after
        )
        try:
            checked = None
            if validate:  # reads and checks the manifest once, and keeps its bytes
                checked = check_build(directory, cache=cache)
                if checked.problems:
                    raise InvalidBuildError(str(directory), checked.problems)
            if checked is not None and checked.manifest and checked.manifest_raw is not None:
                manifest, manifest_raw = checked.manifest, checked.manifest_raw
            else:
                manifest = read_manifest(directory)
                manifest_raw = (directory / MANIFEST_NAME).read_bytes()
            signature_raw = _read_signature(directory, manifest_raw)
        except BaseException:
            remote.cancel()
            raise
        state = remote.result()
    new_files: dict[str, FileEntry] = dict(manifest.files)
    new_files[MANIFEST_NAME] = file_entry(manifest_raw)
    if signature_raw is not None:
        new_files[SIGNATURE_NAME] = file_entry(signature_raw)
    old_files: dict[str, FileEntry] | None = None
    if state.manifest is not None and state.manifest_raw is not None:
        old_files = dict(state.manifest.files)
        old_files[MANIFEST_NAME] = file_entry(state.manifest_raw)
        if state.signature_raw is not None:
            old_files[SIGNATURE_NAME] = file_entry(state.signature_raw)
    dirty = planning.dirty_paths(state.in_progress, state.manifest_sha256)
    upload_plan = planning.plan_uploads(
        new_files,
        old_files,
        remote={p: o.size for p, o in state.listed.items()} if state.scanned else None,
        dirty=dirty,
    )
    report = DeployReport(
        target=target.url,
        commit=manifest.commit,
        previous_commit=state.manifest.commit if state.manifest else None,
        files=len(new_files),
        skipped=upload_plan.skipped,
        dry_run=dry_run,
        scanned=state.scanned,
    )
    for reason in upload_plan.reasons.values():
        report.reasons[reason.value] = report.reasons.get(reason.value, 0) + 1
    delete_plan = planning.plan_deletions(
        new_files, state.listed, state.pending, now=now, grace=grace
    )
    report.scheduled = len(delete_plan.scheduled)
    report.restored = len(delete_plan.restored)
    if dry_run:
        report.uploaded = len(upload_plan)
        report.bytes_uploaded = upload_plan.bytes
        report.deleted = len(delete_plan.delete)
        report.pending = len(delete_plan.pending)
        report.seconds = time.monotonic() - started
        return report

    before_manifest = [p for p in upload_plan.uploads if p != MANIFEST_NAME]
    if before_manifest:
        record = InProgress(
            commit=manifest.commit,
            manifest_sha256=new_files[MANIFEST_NAME].sha256,
            started=now,
            paths=frozenset(before_manifest) | dirty,
        )
        target.put(IN_PROGRESS, planning.encode_in_progress(record))

    if on_plan is not None:
        on_plan(len(upload_plan))
    counter = _Counter()
    uploader = _Uploader(directory, target, new_files, manifest_raw, counter, on_upload)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="deploy") as pool:
        for ph in Phase:
            group = upload_plan.phases[ph]
            if group:
                uploader.run_phase(pool, group)
    report.uploaded = counter.count
    report.bytes_uploaded = counter.bytes

    deleted: list[str] = []
    if delete_plan.delete:
        deleted = target.delete(delete_plan.delete)
    report.deleted = len(deleted)
    still = dict(delete_plan.pending)
    for path in set(delete_plan.delete) - set(deleted):
        still[path] = state.pending.get(path, now)  # retry next time
    report.pending = len(still)
    if still:
        if still != dict(state.pending):
            target.put(PENDING_DELETES, planning.encode_pending(still))
    elif PENDING_DELETES in state.listed:
        target.delete([PENDING_DELETES])
    scanned = now if state.scanned else state.last_scan or now
    done = Deployed(new_files[MANIFEST_NAME].sha256, scanned)
    if done != state.deployed:
        target.put(DEPLOYED, planning.encode_deployed(done))
    if before_manifest or IN_PROGRESS in state.listed:
        target.delete([IN_PROGRESS])
    report.seconds = time.monotonic() - started
    return report


def _read_signature(directory: Path, manifest_raw: bytes) -> bytes | None:
    """The build's ``manifest.json.sig`` (None if unsigned); DeployError if it does not sign
    this manifest (a stale signature must never be published next to it)."""
    from curator.signing import SignatureError, read_signature

    try:
        raw = (directory / SIGNATURE_NAME).read_bytes()
    except FileNotFoundError:
        return None
    try:
        signed = read_signature(raw).manifest_sha256
    except SignatureError as exc:
        raise DeployError(str(exc)) from None
    if signed != hashlib.sha256(manifest_raw).hexdigest():
        raise DeployError(f"{SIGNATURE_NAME} signs another manifest than {MANIFEST_NAME}")
    return raw


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.bytes = 0

    def add(self, size: int) -> None:
        with self._lock:
            self.count += 1
            self.bytes += size


class _Uploader:
    def __init__(
        self,
        directory: Path,
        target: S3Bucket,
        files: Mapping[str, FileEntry],
        manifest_raw: bytes,
        counter: _Counter,
        on_upload: ProgressHook | None,
    ) -> None:
        self.directory = directory
        self.target = target
        self.files = files
        self.manifest_raw = manifest_raw
        self.counter = counter
        self.on_upload = on_upload
        self.failed = threading.Event()

    def upload(self, path: str) -> None:
        if self.failed.is_set():
            return  # another upload failed: stop early, the phase is aborted anyway
        expected = self.files[path]
        if path == MANIFEST_NAME:
            data = self.manifest_raw
        else:
            try:
                data = (self.directory / path).read_bytes()
            except OSError as exc:
                raise DeployError(f"{path}: cannot read from the build: {exc}") from exc
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 != expected.sha256 or len(data) != expected.size:
            raise DeployError(f"{path}: changed since the build's manifest was written")
        self.target.put(path, data, sha256=sha256)
        self.counter.add(len(data))
        if self.on_upload is not None:
            self.on_upload(path, len(data))

    def run_phase(self, pool: ThreadPoolExecutor, paths: Iterable[str]) -> None:
        futures: dict[Future[None], str] = {pool.submit(self.upload, p): p for p in paths}
        try:
            done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # KeyboardInterrupt: stop queued uploads, then leave
            self.failed.set()
            for f in futures:
                f.cancel()
            raise
        errors = [(futures[f], f.exception()) for f in done if f.exception() is not None]
        if errors:
            self.failed.set()
            for f in not_done:
                f.cancel()
            wait(not_done)
            first_path, first = errors[0]
            more = f" ({len(errors) - 1} more failed)" if len(errors) > 1 else ""
            raise DeployError(
                f"upload of {first_path} failed: {first}{more}; the deployed "
                f"packages.json and manifest.json are unchanged, run the deploy again"
            ) from first
