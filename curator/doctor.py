"""Health checks of a registry installation (``curator doctor``): each says what it found and,
when something is wrong, what to do about it.

A :class:`Check` has an ``area`` (``configuration``, ``repository``, ``storage``,
``database``, ``deploy``), a ``name``, a :class:`Status` (``ok``, ``warn``, ``fail``), a
``detail`` (what was found) and a ``fix`` (one line: what to do; None when ok). This module
checks the data repository and its configuration, the build storage and the S3/R2 deploy
settings; the runtime database is checked by :mod:`server.runtime.check` (the server owns it).

Everything here is read-only and local: nothing is repaired, written (except a temporary
file proving the storage is writable, removed at once) or fetched, except the deployed
``manifest.json`` when ``online`` is asked for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from curator.build.manifest import (
    Manifest,
    ManifestError,
    parse_time,
    read_manifest,
    validate_build,
)
from curator.build.render import ConfigError, check_config
from curator.build.text import http_url
from curator.datarepo import MAX_PACKS, DataError, DataRepo
from curator.gitstore import GitStoreError
from curator.layout import REGISTRY_FILE, STATE_FILE, PackageType
from curator.runlog import read_run
from curator.storage.local import TMP_PREFIX, LocalStorage, StorageError

DEFAULT_STALE_AFTER: Final = 24 * 3600.0
SYNC_SEARCH_LIMIT: Final = 500  # commits searched for the newest sync run
MIB: Final = 1024 * 1024
FREE_FAIL: Final = 256 * MIB  # below this (or below one build), a build cannot be written
FREE_WARN: Final = 2048 * MIB  # below this (or below two builds), soon
MANY_BUILDS: Final = 20
_BUCKET_RE: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

Clock = Callable[[], float]


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def ok(area: str, name: str, detail: str) -> Check:
    return Check(area, name, Status.OK, detail)


def warn(area: str, name: str, detail: str, fix: str) -> Check:
    return Check(area, name, Status.WARN, detail, fix)


def fail(area: str, name: str, detail: str, fix: str) -> Check:
    return Check(area, name, Status.FAIL, detail, fix)


def overall(checks: Iterable[Check]) -> Status:
    """``fail`` if any check failed, else ``warn`` if any warned, else ``ok``."""
    found = {c.status for c in checks}
    for status in (Status.FAIL, Status.WARN):
        if status in found:
            return status
    return Status.OK


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# --- the data repository and its configuration ---------------------------------------------


def check_repository(
    path: Path | None,
    prefix: str | None,
    ref: str | None,
    *,
    now: Clock = time.time,
    stale_after: float = DEFAULT_STALE_AFTER,
) -> list[Check]:
    """The data repository opens, its head commit and tree are readable, the prefix holds a
    valid ``registry.json`` and ``state/sync.json``, packs are few, the last sync is recent."""
    where = str(path) if path is not None else "the current directory"
    try:
        repo = DataRepo.open(path, prefix, ref)
    except (GitStoreError, OSError) as exc:
        return [
            fail(
                "repository",
                "open",
                f"{where}: {exc}",
                "point --repo (CURATOR_REPO) at the data repository, or create one with "
                "`curator init DIR`",
            )
        ]
    try:
        return _check_open_repository(repo, now=now, stale_after=stale_after)
    finally:
        repo.store.close()


def _check_open_repository(repo: DataRepo, *, now: Clock, stale_after: float) -> list[Check]:
    git = f"git -C {repo.store.path}"
    try:
        head = repo.head()
    except GitStoreError as exc:
        head, problem = None, str(exc)
    else:
        problem = f"{repo.ref} has no commits"
    if head is None:
        return [
            fail(
                "repository",
                "head",
                f"{repo.store.path}: {problem}",
                "check --ref (CURATOR_REF), or create the data repository with `curator init`",
            )
        ]
    checks = [ok("repository", "open", f"{repo.store.path}, {repo.ref} at {head[:12]}")]
    try:
        view = repo.view(head)
        entries = view.snapshot.list_dir(repo.prefix.rstrip("/"))
        raw = view.read(REGISTRY_FILE)
    except Exception as exc:  # a damaged object store can fail in many ways
        checks.append(
            fail(
                "repository",
                "objects",
                f"the head commit or its tree cannot be read: {type(exc).__name__}: {exc}",
                f"run `{git} fsck --full`; restore the repository from a clone or a backup",
            )
        )
        return checks
    checks.append(
        ok("repository", "objects", f"head commit and tree readable ({view.commit[:12]})")
    )
    if raw is None:
        found = ", ".join(sorted(entries)[:8]) or "nothing"
        checks.append(
            fail(
                "repository",
                "prefix",
                f"no {REGISTRY_FILE} under prefix {repo.prefix!r} (found: {found})",
                "give the right --prefix (CURATOR_PREFIX), or set it once with "
                f"`{git} config curator.prefix PREFIX`",
            )
        )
        return checks
    checks.append(ok("repository", "prefix", f"data tree at {repo.prefix!r}"))
    checks.append(_check_config(view.path(REGISTRY_FILE), lambda: view.config()))
    try:
        state = view.state()
    except DataError as exc:
        checks.append(
            fail(
                "repository",
                "state",
                str(exc),
                f"restore {view.path(STATE_FILE)} from an earlier commit "
                f"(`{git} log -- {view.path(STATE_FILE)}`) in a commit of its own",
            )
        )
    else:
        cursors = [_cursor(kind.plural, state.cursor(kind).revision) for kind in PackageType]
        pending = sum(len(state.cursor(kind).pending) for kind in PackageType)
        checks.append(
            ok("repository", "state", f"{', '.join(cursors)}; {pending} packages pending")
        )
    checks.append(_check_packs(repo, git))
    checks.append(_check_last_sync(repo, now=now, stale_after=stale_after))
    return checks


def _cursor(what: str, revision: int | None) -> str:
    return f"{what} at SVN r{revision}" if revision is not None else f"{what} not synced yet"


def _check_config(where: str, load: Callable[[], Any]) -> Check:
    fix = f"correct {where} in a commit (its schema: `curator schemas`; `curator validate`)"
    try:
        config = load()
        check_config(config)
    except (DataError, ConfigError) as exc:
        return fail("configuration", "registry.json", str(exc), fix)
    bad = [name for name, url in config.upstream.model_dump().items() if http_url(url) is None]
    if bad:
        return fail(
            "configuration",
            "registry.json",
            f"upstream URLs that are not absolute http(s) URLs: {', '.join(sorted(bad))}",
            fix,
        )
    detail = (
        f"vendors {config.vendors.plugin}/{config.vendors.theme}; upstream {config.upstream.api}"
    )
    if config.public_url:
        detail += f"; public URL {config.public_url}"
    if config.notify_batch is None:
        return warn(
            "configuration",
            "registry.json",
            f"{detail}; no notify_batch URL: Composer reports no installs",
            "set notify_batch to https://HOST/downloads in registry.json for install counts",
        )
    return ok("configuration", "registry.json", detail)


def _check_packs(repo: DataRepo, git: str) -> Check:
    packs = repo.store.pack_count()
    if packs > MAX_PACKS:
        return warn(
            "repository",
            "packs",
            f"{packs} packs (more than {MAX_PACKS}: lookups hold ~4 file descriptors each)",
            f"run `{git} repack -d --geometric=2` (a sync run that commits also repacks)",
        )
    return ok("repository", "packs", f"{packs} packs")


def _check_last_sync(repo: DataRepo, *, now: Clock, stale_after: float) -> Check:
    for info in repo.store.log(repo.ref, max_count=SYNC_SEARCH_LIMIT):
        run = read_run(info.sha, info.timestamp, info.subject, info.trailers)
        if not run.is_sync:
            continue
        age = now() - run.timestamp
        detail = f"last sync run {run.sha[:12]} {_ago(age)}"
        if age > stale_after:
            return warn(
                "repository",
                "last sync",
                f"{detail} (older than {_ago(stale_after).removesuffix(' ago')})",
                "check the pipeline: `systemctl list-timers 'curator-*'`, "
                "`journalctl -u curator-pipeline`, or run `curator pipeline` (a run that "
                "finds nothing new upstream makes no commit)",
            )
        return ok("repository", "last sync", detail)
    return warn(
        "repository",
        "last sync",
        f"no sync run among the last {SYNC_SEARCH_LIMIT} commits of {repo.ref}",
        "run `curator pipeline` (or enable curator-pipeline.timer)",
    )


# --- build storage --------------------------------------------------------------------------


def check_storage(
    root: Path,
    *,
    full: bool = False,
    now: Clock = time.time,
    stale_after: float = DEFAULT_STALE_AFTER,
    free_fail: int = FREE_FAIL,
    free_warn: int = FREE_WARN,
) -> list[Check]:
    """The storage directory is writable, ``current`` names a valid build (root files hashed;
    every file with ``full``), there is room for the next build, old builds are cleaned up."""
    if not root.exists():
        return [
            fail(
                "storage",
                "directory",
                f"{root} does not exist",
                f"create it (`mkdir -p {root}`; systemd: StateDirectory=curator) or set "
                "--storage (CURATOR_STORAGE)",
            )
        ]
    if not root.is_dir():
        return [
            fail(
                "storage", "directory", f"{root} is not a directory", "set --storage to a directory"
            )
        ]
    checks = [_check_writable(root)]
    storage = LocalStorage(root)
    manifest, current = None, None
    try:
        current = storage.current()
    except StorageError as exc:
        checks.append(
            fail(
                "storage",
                "current",
                str(exc),
                f"point it at a build again: `curator rollback {_newest(storage)}`",
            )
        )
    else:
        if current is None:
            checks.append(
                fail(
                    "storage",
                    "current",
                    f"no promoted build in {storage.repository} (the `current` symlink is missing)",
                    "run `curator pipeline`, or `curator build` then `curator deploy`",
                )
            )
        elif not storage.build_path(current).is_dir():
            checks.append(
                fail(
                    "storage",
                    "current",
                    f"`current` points to build {current}, which is missing",
                    f"promote an existing build: `curator rollback {_newest(storage)}`",
                )
            )
        else:
            checks.append(ok("storage", "current", f"current -> builds/{current}"))
            found = _check_build(storage, current, full=full, now=now, stale_after=stale_after)
            checks.append(found[0])
            manifest = found[1]
    checks.append(_check_disk(root, storage, manifest, free_fail=free_fail, free_warn=free_warn))
    return checks


def _newest(storage: LocalStorage) -> str:
    ids = storage.build_ids()
    return ids[-1] if ids else "BUILD_ID"


def _check_writable(root: Path) -> Check:
    try:
        with tempfile.TemporaryFile(dir=root, prefix=".doctor-"):
            pass
    except OSError as exc:
        return fail(
            "storage",
            "directory",
            f"{root} is not writable: {exc.strerror or exc}",
            f"make it writable by the service user (`chown -R curator: {root}`; systemd: "
            "ReadWritePaths= or StateDirectory=)",
        )
    return ok("storage", "directory", f"{root} is writable")


def _check_build(
    storage: LocalStorage, build_id: str, *, full: bool, now: Clock, stale_after: float
) -> tuple[Check, Manifest | None]:
    path = storage.build_path(build_id)
    rebuild = (
        f"go back to a good build (`curator rollback`), then rebuild: `curator build --full` "
        f"and `curator deploy` (or `rm -r {path}` and run `curator pipeline`)"
    )
    try:
        manifest = read_manifest(path)
    except ManifestError as exc:
        return fail("storage", "current build", str(exc), rebuild), None
    problems = validate_build(path) if full else _root_file_problems(path, manifest)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return fail("storage", "current build", "; ".join(problems[:3]) + more, rebuild), manifest
    age = now() - parse_time(manifest.time).timestamp()
    checked = "every file hashed" if full else "manifest and root files hashed; --full: all"
    detail = (
        f"{build_id}: commit {manifest.commit[:12]}, {manifest.counts.get('packages', '?')} "
        f"packages, {len(manifest.files)} files; data from {_ago(age)} ({checked})"
    )
    if age > stale_after:
        return warn(
            "storage",
            "current build",
            detail,
            "the served data is old: check the pipeline (`journalctl -u curator-pipeline`)",
        ), manifest
    return ok("storage", "current build", detail), manifest


def _root_file_problems(path: Path, manifest: Manifest) -> list[str]:
    """The cheap validation: the top-level files (packages.json, list.json, ...) hashed."""
    problems = []
    if "packages.json" not in manifest.files:
        problems.append(f"packages.json: not listed in {path / 'manifest.json'}")
    for name, entry in sorted(manifest.files.items()):
        if "/" in name:
            continue
        try:
            data = (path / name).read_bytes()
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
            continue
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            problems.append(f"{name}: content differs from manifest.json")
    if not (path / "p2").is_dir() and any(p.startswith("p2/") for p in manifest.files):
        problems.append("p2/: missing")
    return problems


def _check_disk(
    root: Path,
    storage: LocalStorage,
    manifest: Manifest | None,
    *,
    free_fail: int,
    free_warn: int,
) -> Check:
    usage = shutil.disk_usage(root)
    build = manifest.total_bytes if manifest is not None else 0
    ids = storage.build_ids()
    stale = _stale_temporaries(storage)
    detail = f"{_size(usage.free)} free of {_size(usage.total)}; {len(ids)} builds kept"
    if stale:
        detail += f", {stale} leftover temporary directories"
    cleanup = "remove old builds: `curator cleanup --keep 5`"
    if usage.free < max(free_fail, build):
        return fail("storage", "disk", detail, f"free disk space; {cleanup}")
    if usage.free < max(free_warn, 2 * build):
        return warn("storage", "disk", detail, f"free disk space soon; {cleanup}")
    if len(ids) > MANY_BUILDS or stale:
        return warn("storage", "disk", detail, cleanup)
    return ok("storage", "disk", detail)


def _stale_temporaries(storage: LocalStorage) -> int:
    limit = time.time() - 24 * 3600
    try:
        entries = list(os.scandir(storage.builds_dir))
    except OSError:
        return 0
    return sum(
        1
        for e in entries
        if e.name.startswith(TMP_PREFIX)
        and e.is_dir(follow_symlinks=False)
        and e.stat(follow_symlinks=False).st_mtime < limit
    )


# --- S3/R2 deploy ---------------------------------------------------------------------------


def check_deploy(
    target: str | None,
    endpoint_url: str | None,
    env: Mapping[str, str],
    *,
    online: bool = False,
    local_commit: str | None = None,
) -> list[Check]:
    """The deploy target (``s3://bucket/prefix``), endpoint and credentials, from ``env``;
    with ``online`` the deployed ``manifest.json`` is read and compared with the local one."""
    if not target:
        return [ok("deploy", "target", "no S3/R2 target (CURATOR_DEPLOY_TO unset): local only")]
    checks: list[Check] = []
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    if not target.startswith("s3://") or not _BUCKET_RE.fullmatch(bucket):
        return [
            fail(
                "deploy",
                "target",
                f"{target!r} is not s3://BUCKET/PREFIX with a valid bucket name",
                "set CURATOR_DEPLOY_TO (or --to) to s3://BUCKET/PREFIX",
            )
        ]
    checks.append(ok("deploy", "target", f"bucket {bucket}, prefix {prefix.strip('/')!r}"))
    if endpoint_url and http_url(endpoint_url) is None:
        checks.append(
            fail(
                "deploy",
                "endpoint",
                f"{endpoint_url!r} is not an http(s) URL",
                "set CURATOR_S3_ENDPOINT to the S3 API URL (R2: https://ACCOUNT.r2.cloudflarestorage.com)",
            )
        )
        return checks
    checks.append(ok("deploy", "endpoint", endpoint_url or "AWS S3 (CURATOR_S3_ENDPOINT unset)"))
    checks.append(_check_credentials(env))
    if online and checks[-1].status is not Status.FAIL:
        checks.append(_check_online(bucket, prefix, endpoint_url, env, local_commit))
    return checks


def _check_credentials(env: Mapping[str, str]) -> Check:
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    fix = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment file"
    if key and secret:
        return ok("deploy", "credentials", f"access key {key[:4]}... from the environment")
    if key or secret:
        missing = "AWS_SECRET_ACCESS_KEY" if key else "AWS_ACCESS_KEY_ID"
        return fail("deploy", "credentials", f"{missing} is not set", fix)
    shared = Path(
        env.get("AWS_SHARED_CREDENTIALS_FILE") or Path(env.get("HOME", "~")) / ".aws/credentials"
    ).expanduser()
    if env.get("AWS_PROFILE") or shared.is_file():
        return ok("deploy", "credentials", f"profile {env.get('AWS_PROFILE', 'default')}")
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return ok("deploy", "credentials", "from the platform (web identity or container)")
    return fail("deploy", "credentials", "no S3 credentials found", fix)


def _check_online(
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    env: Mapping[str, str],
    local_commit: str | None,
) -> Check:
    from curator.deploy.s3 import S3Bucket, make_client

    fix = "check the bucket name, endpoint and credentials (and that a deploy ran)"
    try:
        client = make_client(
            endpoint_url=endpoint_url,
            region=env.get("AWS_REGION"),
            access_key=env.get("AWS_ACCESS_KEY_ID"),
            secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
        )
        raw = S3Bucket(client, bucket, prefix.strip("/")).get("manifest.json")
    except Exception as exc:  # S3Error, botocore's configuration and network errors
        return fail("deploy", "online", f"cannot read the bucket: {exc}", fix)
    if raw is None:
        return warn(
            "deploy",
            "online",
            f"s3://{bucket}/{prefix} is reachable but holds no manifest.json",
            "deploy a build: `curator deploy --to s3://...` (or `curator pipeline --to`)",
        )
    try:
        deployed = read_manifest(raw)
    except ManifestError as exc:
        return fail("deploy", "online", f"the deployed manifest.json: {exc}", "deploy again")
    when = dt.datetime.fromisoformat(deployed.time.replace("Z", "+00:00"))
    detail = f"deployed commit {deployed.commit[:12]} (data of {when:%Y-%m-%d %H:%M}Z)"
    if local_commit is not None and deployed.commit != local_commit:
        return warn(
            "deploy",
            "online",
            f"{detail}; the local current build is {local_commit[:12]}",
            "deploy the current build: `curator deploy --to s3://...`",
        )
    return ok("deploy", "online", detail)


def local_commit(storage_root: Path) -> str | None:
    """The commit of the promoted local build, if readable (for the online deploy check)."""
    try:
        path = LocalStorage(storage_root).current_path()
        return None if path is None else read_manifest(path).commit
    except (StorageError, ManifestError, OSError):
        return None
