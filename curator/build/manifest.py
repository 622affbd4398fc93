"""The build manifest: what a build directory contains, and whether a directory matches it.

A build directory is a static Composer v2 repository made from one pinned commit. Its
``manifest.json`` (written last) names the commit and tree it was built from, the builder
version, the commit's time, some counts, and the sha256 and size of every other file::

    {
      "builder": "curator 0.1.0",
      "commit": "<40 hex>",
      "counts": {"files": 3, ...},
      "files": {"list.json": {"sha256": "<64 hex>", "size": 40}, ...},
      "format": 1,
      "time": "2026-11-01T12:00:00Z",
      "tree": "<40 hex>"
    }

``manifest.json`` never lists itself, nor ``manifest.json.sig`` (its detached signature,
written after it when the build is signed; see :mod:`curator.signing`). Paths are relative
and '/'-separated; ``..``, ``.``, empty segments, a leading '/', backslashes, NUL and the
reserved top directory ``.curator/`` (used by deploy targets for their own bookkeeping) are
refused. ``time`` is the commit's time, never the wall clock, and the encoding is canonical
JSON, so two builds of the same commit by the same builder are byte-identical.

Counts are free-form for the renderer, but these keys are checked by :func:`validate_build`
when present: ``files`` (files listed), ``bytes`` (their total size), ``p2_files`` (files under
``p2/``) and ``packages`` (names in ``list.json``).

This module owns the model, its canonical encoding, hashing a directory, and validating a
build directory. It does no network I/O and knows nothing about where builds are stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from curator import __version__, canonical

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"  # not listed in the manifest: see curator.signing
ENTRY_POINT = "packages.json"
LIST_NAME = "list.json"
RESERVED_DIR = ".curator"
FORMAT = 1
BUILDER = f"curator {__version__}"

_HEX40 = re.compile(r"[0-9a-f]{40}")
# Paths that need no closer look: segments of safe characters, none starting with a dot (so
# no "", ".", ".." and nothing under the reserved ".curator/").
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Files are read and hashed by a few threads: file reads and sha256 of buffers > 2 KiB release
# the GIL. Batches keep the per-task overhead small for tens of thousands of tiny files.
_SCAN_WORKERS = min(8, (os.cpu_count() or 2))
_SCAN_BATCH = 256


class ManifestError(ValueError):
    """A manifest that is missing, unreadable or does not match the model."""


class InvalidBuildError(Exception):
    """A build that failed validation; ``problems`` says every way it is wrong."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.what = what
        self.problems = list(problems)
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{what} is not a valid build: {shown}{more}")


def check_path(path: str) -> str:
    """Return ``path`` unchanged if it may name a file of a build, else raise ``ValueError``."""
    problem = path_problem(path)
    if problem is not None:
        raise ValueError(problem)
    return path


def path_problem(path: str) -> str | None:
    """Why ``path`` may not name a file of a build, or None if it may."""
    if _PLAIN_PATH.fullmatch(path) and path != MANIFEST_NAME and path != SIGNATURE_NAME:
        return None
    if not path:
        return "empty path"
    if "\x00" in path:
        return f"path {path!r} contains NUL"
    if "\\" in path:
        return f"path {path!r} contains a backslash"
    if path.startswith("/"):
        return f"path {path!r} is absolute"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return f"path {path!r} is not valid UTF-8"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"path {path!r} has an empty, '.' or '..' segment"
    if parts[0] == RESERVED_DIR:
        return f"path {path!r} is under the reserved directory {RESERVED_DIR}/"
    if path == MANIFEST_NAME:
        return f"{MANIFEST_NAME} must not list itself"
    if path == SIGNATURE_NAME:
        return f"{MANIFEST_NAME} must not list its signature {SIGNATURE_NAME}"
    return None


def _check_commit(value: str) -> str:
    if not _HEX40.fullmatch(value):
        raise ValueError(f"expected 40 lowercase hex digits, got {value!r}")
    return value


def _check_time(value: str) -> str:
    if not _TIME_RE.fullmatch(value):
        raise ValueError(f"expected a UTC time YYYY-MM-DDTHH:MM:SSZ, got {value!r}")
    dt.datetime.strptime(value, _TIME_FORMAT)  # a real date, not 2026-13-45
    return value


def _check_files(files: dict[str, FileEntry]) -> dict[str, FileEntry]:
    for path in files:
        check_path(path)
    return files


def _check_counts(counts: dict[str, int]) -> dict[str, int]:
    for key, value in counts.items():
        if value < 0:
            raise ValueError(f"count {key!r} is negative")
    return counts


Sha1 = Annotated[str, AfterValidator(_check_commit)]


class FileEntry(BaseModel):
    """The content of one file: its sha256 (hex) and size in bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    # checked by pydantic-core itself: a Python validator per entry costs 2 us (0.25 s at 60k)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: int = Field(ge=0)


class Manifest(BaseModel):
    """What one build directory contains; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    commit: Sha1
    tree: Sha1
    builder: str = Field(min_length=1)
    time: Annotated[str, AfterValidator(_check_time)]
    counts: Annotated[dict[str, int], AfterValidator(_check_counts)] = Field(default_factory=dict)
    files: Annotated[dict[str, FileEntry], AfterValidator(_check_files)]

    def to_bytes(self) -> bytes:
        """The canonical encoding (sorted keys, 2-space indent, trailing newline)."""
        return canonical.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data = canonical.loads(raw)
        except ValueError as exc:
            raise ManifestError(f"{MANIFEST_NAME} is not JSON: {exc}") from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ManifestError(f"{MANIFEST_NAME} is invalid: {_one_line(exc)}") from exc

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files.values())


def _one_line(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in errors[:3]
    ]
    if len(errors) > 3:
        parts.append(f"... {len(errors) - 3} more")
    return "; ".join(parts)


def format_time(when: dt.datetime | int) -> str:
    """A commit time (aware datetime or Unix seconds) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(when, int):
        when = dt.datetime.fromtimestamp(when, dt.UTC)
    if when.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous: give a timezone-aware time")
    return when.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def parse_time(value: str) -> dt.datetime:
    """The inverse of :func:`format_time`."""
    return dt.datetime.strptime(_check_time(value), _TIME_FORMAT).replace(tzinfo=dt.UTC)


def file_entry(data: bytes) -> FileEntry:
    """The manifest entry of a file with content ``data``."""
    return FileEntry(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


# --- scanning a directory ------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    regular: list[str]
    irregular: list[str]  # symlinks, sockets, ...: never part of a build


def _walk(root: Path) -> _Found:
    regular: list[str] = []
    irregular: list[str] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        abs_dir, rel_dir = stack.pop()
        with os.scandir(abs_dir) as it:
            for entry in it:
                rel = f"{rel_dir}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{rel}/"))
                elif entry.is_file(follow_symlinks=False):
                    regular.append(rel)
                else:
                    irregular.append(rel)
    regular.sort()
    irregular.sort()
    return _Found(regular, irregular)


FileKey = tuple[int, int, int, int]  # (device, inode, size, mtime in ns)


class FileCache:
    """Files already read, hashed (and, for ``.json``, parsed) by a validation: file identity
    ``(device, inode, size, mtime_ns)`` -> sha256.

    An incremental build hard-links its unchanged files from the previous build, so they keep
    the identity they had when that build was validated; a validation given the cache re-reads
    only files it has not seen (the quick check git and rsync make). A file rewritten in place
    with its size and mtime restored would not be re-read: for that, validate without a cache
    (``curator verify`` does). Thread-safe for :meth:`get` and :meth:`record` during one
    validation.
    """

    FORMAT = 1

    def __init__(self, entries: Mapping[FileKey, str] | None = None) -> None:
        self._known: dict[FileKey, str] = dict(entries or {})
        self.seen: dict[FileKey, str] = {}  # what this validation read or confirmed
        self.hits = 0

    def __len__(self) -> int:
        return len(self._known)

    def get(self, key: FileKey) -> str | None:
        sha = self._known.get(key)
        if sha is not None:
            self.seen[key] = sha
            self.hits += 1
        return sha

    def record(self, key: FileKey, sha256: str) -> None:
        self.seen[key] = sha256

    @classmethod
    def load(cls, path: Path) -> FileCache:
        """The cache saved at ``path``; empty when it is missing or unreadable."""
        try:
            data = orjson.loads(path.read_bytes())
            if data.get("format") != cls.FORMAT:
                return cls()
            return cls({(d, i, z, m): sha for d, i, z, m, sha in data["files"]})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def save(self, path: Path) -> None:
        """Keep what this validation saw (one build's files: the cache does not grow)."""
        files = [[*key, sha] for key, sha in self.seen.items()]
        atomic_write(path, orjson.dumps({"format": self.FORMAT, "files": files}))


@dataclass(frozen=True)
class _Known:
    """A file's sha256 and size as a :class:`FileCache` knows them (no model: it is cheap)."""

    sha256: str
    size: int


@dataclass(frozen=True)
class _Hashed:
    path: str
    entry: FileEntry | _Known | None
    json_error: str | None = None
    read_error: str | None = None
    data: bytes | None = None


def _hash_batch(
    root: str,
    paths: list[str],
    parse_json: bool,
    keep: frozenset[str],
    cache: FileCache | None = None,
) -> list[_Hashed]:
    """Read, hash (and parse) ``paths``; with ``cache``, record what was read in it (the
    caller has already looked the files up there, see :func:`_validate_against`)."""
    out: list[_Hashed] = []
    for rel in paths:
        full = os.path.join(root, rel)
        key: FileKey | None = None
        try:
            if cache is not None:
                st = os.lstat(full)
                key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            with open(full, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            out.append(_Hashed(rel, None, read_error=exc.strerror or str(exc)))
            continue
        json_error = None
        if parse_json and rel.endswith(".json"):
            try:
                canonical.loads(data)
            except ValueError as exc:
                json_error = str(exc)
        entry = FileEntry(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        if cache is not None and key is not None and json_error is None and key[2] == len(data):
            cache.record(key, entry.sha256)
        out.append(_Hashed(rel, entry, json_error, data=data if rel in keep else None))
    return out


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hash_all(
    root: Path,
    paths: list[str],
    *,
    parse_json: bool = False,
    keep: Iterable[str] = (),
    cache: FileCache | None = None,
) -> list[_Hashed]:
    keep_set = frozenset(keep)
    if len(paths) <= _SCAN_BATCH:
        return _hash_batch(str(root), paths, parse_json, keep_set, cache)
    with ThreadPoolExecutor(max_workers=_SCAN_WORKERS, thread_name_prefix="scan") as pool:
        results = pool.map(
            lambda batch: _hash_batch(str(root), batch, parse_json, keep_set, cache),
            _batches(paths, _SCAN_BATCH),
        )
        return [item for batch in results for item in batch]


def scan_directory(directory: Path) -> dict[str, FileEntry]:
    """sha256 and size of every regular file under ``directory`` except ``manifest.json``
    and its signature.

    Raises ``ValueError`` if the directory holds something that cannot be part of a build
    (a symlink, a socket, a path :func:`check_path` refuses) and ``OSError`` if a file cannot
    be read.
    """
    found = _walk(directory)
    if found.irregular:
        raise ValueError(f"{directory}: not a regular file: {', '.join(found.irregular[:5])}")
    paths = [p for p in found.regular if p not in (MANIFEST_NAME, SIGNATURE_NAME)]
    for path in paths:
        check_path(path)
    result: dict[str, FileEntry] = {}
    for item in _hash_all(directory, paths):
        if item.entry is None:
            raise OSError(f"{directory / item.path}: {item.read_error}")
        result[item.path] = (
            item.entry
            if isinstance(item.entry, FileEntry)
            else FileEntry(sha256=item.entry.sha256, size=item.entry.size)
        )
    return result


def make_manifest(
    directory: Path,
    *,
    commit: str,
    tree: str,
    time: dt.datetime | int | str,
    counts: Mapping[str, int] | None = None,
    builder: str = BUILDER,
) -> Manifest:
    """Scan ``directory`` and describe it; ``counts["files"]`` and ``["bytes"]`` are added."""
    files = scan_directory(directory)
    all_counts = dict(counts or {})
    all_counts["files"] = len(files)
    all_counts["bytes"] = sum(e.size for e in files.values())
    return Manifest(
        commit=commit,
        tree=tree,
        builder=builder,
        time=time if isinstance(time, str) else format_time(time),
        counts=all_counts,
        files=files,
    )


# --- reading and writing -------------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or creation inside ``directory`` durable (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` into ``directory`` (atomically); returns its path."""
    path = directory / MANIFEST_NAME
    atomic_write(path, manifest.to_bytes())
    return path


def read_manifest(source: Path | bytes) -> Manifest:
    """The manifest in a build directory (or a ``manifest.json`` path, or raw bytes)."""
    if isinstance(source, bytes):
        return Manifest.from_bytes(source)
    path = source / MANIFEST_NAME if source.is_dir() else source
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: missing") from exc
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror or exc}") from exc
    try:
        return Manifest.from_bytes(raw)
    except ManifestError as exc:
        raise ManifestError(f"{path}: {exc}") from exc


# --- validation ----------------------------------------------------------------------------


def validate_build(directory: Path, *, cache: FileCache | None = None) -> list[str]:
    """Every problem with the build in ``directory``; the build is valid iff this is empty.

    Checks: the directory and ``manifest.json`` exist and the manifest is valid; every file it
    lists is present with that size and sha256; no other file is present; every ``.json``
    file parses; ``packages.json`` exists and is listed; known counts agree with the files;
    every name in ``list.json`` has a p2 file. Each problem names the file.

    With ``cache``, files it already knows (see :class:`FileCache`) are not read again, and
    it learns the others; the caller saves it.
    """
    return check_build(directory, cache=cache).problems


@dataclass(frozen=True)
class CheckedBuild:
    """What :func:`check_build` found: the problems, and the manifest it checked against
    (its bytes as read, so a caller publishing them needs no second read: None if unread)."""

    problems: list[str]
    manifest: Manifest | None = None
    manifest_raw: bytes | None = None


def check_build(directory: Path, *, cache: FileCache | None = None) -> CheckedBuild:
    """:func:`validate_build`, also giving the manifest the files were checked against."""
    if not directory.is_dir():
        return CheckedBuild([f"{directory}: build directory missing"])
    try:
        try:
            raw = (directory / MANIFEST_NAME).read_bytes()
        except FileNotFoundError as exc:
            raise ManifestError(f"{directory / MANIFEST_NAME}: missing") from exc
        except OSError as exc:
            raise ManifestError(f"{directory / MANIFEST_NAME}: {exc.strerror or exc}") from exc
        try:
            manifest = Manifest.from_bytes(raw)
        except ManifestError as exc:
            raise ManifestError(f"{directory / MANIFEST_NAME}: {exc}") from exc
    except ManifestError as exc:
        problems = [f"{MANIFEST_NAME}: {_strip_path(str(exc), directory)}"]
        if not (directory / ENTRY_POINT).is_file():
            problems.append(f"{ENTRY_POINT}: missing")
        return CheckedBuild(problems)
    return CheckedBuild(_validate_against(directory, manifest, cache), manifest, raw)


def _strip_path(message: str, directory: Path) -> str:
    return message.replace(f"{directory / MANIFEST_NAME}: ", "")


def _validate_against(
    directory: Path, manifest: Manifest, cache: FileCache | None = None
) -> list[str]:
    problems: list[str] = []
    found = _walk(directory)
    problems.extend(f"{p}: not a regular file" for p in found.irregular)
    on_disk = [p for p in found.regular if p not in (MANIFEST_NAME, SIGNATURE_NAME)]
    for path in on_disk:
        bad = path_problem(path)
        if bad is not None:
            problems.append(f"{path}: {bad}")
    hashed: dict[str, _Hashed] = {}
    unknown = on_disk
    if cache is not None:  # the quick check, in this thread: a stat per file
        unknown = []
        root = str(directory)
        lstat, get = os.lstat, cache.get
        for rel in on_disk:
            if rel == LIST_NAME:  # read for its names
                unknown.append(rel)
                continue
            try:
                st = lstat(f"{root}/{rel}")
            except OSError:
                unknown.append(rel)
                continue
            sha = get((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
            if sha is None:
                unknown.append(rel)
            else:
                hashed[rel] = _Hashed(rel, _Known(sha, st.st_size))
    for h in _hash_all(directory, unknown, parse_json=True, keep=(LIST_NAME,), cache=cache):
        hashed[h.path] = h

    if ENTRY_POINT not in hashed:
        problems.append(f"{ENTRY_POINT}: missing")
    elif ENTRY_POINT not in manifest.files:
        problems.append(f"{ENTRY_POINT}: not listed in {MANIFEST_NAME}")

    files = manifest.files
    in_order = all(a < b for a, b in itertools.pairwise(files))  # canonical JSON: sorted
    for path, expected in files.items() if in_order else sorted(files.items()):
        item = hashed.get(path)
        if item is None:
            problems.append(f"{path}: listed in {MANIFEST_NAME} but missing")
            continue
        if item.entry is None:
            problems.append(f"{path}: unreadable ({item.read_error})")
            continue
        if item.entry.size != expected.size:
            problems.append(f"{path}: size {item.entry.size}, manifest says {expected.size}")
        elif item.entry.sha256 != expected.sha256:
            problems.append(f"{path}: sha256 {item.entry.sha256}, manifest says {expected.sha256}")
    for path in sorted(set(hashed) - set(manifest.files)):
        problems.append(f"{path}: present but not listed in {MANIFEST_NAME}")
    for path, item in sorted((p, h) for p, h in hashed.items() if h.json_error is not None):
        if item.json_error is not None:
            problems.append(f"{path}: not valid JSON ({item.json_error})")

    problems.extend(_count_problems(manifest, hashed.get(LIST_NAME)))
    return problems


def _count_problems(manifest: Manifest, list_file: _Hashed | None) -> list[str]:
    problems: list[str] = []
    counts = manifest.counts
    files = manifest.files

    def check(key: str, actual: int, what: str) -> None:
        if key in counts and counts[key] != actual:
            problems.append(
                f"{MANIFEST_NAME}: counts.{key} is {counts[key]} but {what} is {actual}"
            )

    check("files", len(files), "the number of files listed")
    check("bytes", sum(e.size for e in files.values()), "their total size")
    check("p2_files", sum(1 for p in files if p.startswith("p2/")), "the number of p2 files")

    names = _package_names(list_file)
    if isinstance(names, str):
        problems.append(f"{LIST_NAME}: {names}")
    elif names is not None:
        check("packages", len(names), f"the number of names in {LIST_NAME}")
        for name in names:
            if f"p2/{name}.json" not in files and f"p2/{name}~dev.json" not in files:
                problems.append(f"{LIST_NAME}: names {name} but p2/{name}.json is missing")
    elif "packages" in counts:
        problems.append(f"{MANIFEST_NAME}: counts.packages is set but {LIST_NAME} is missing")
    return problems


def _package_names(list_file: _Hashed | None) -> list[str] | str | None:
    """The names in list.json, None when absent, or a problem description."""
    if list_file is None or list_file.data is None or list_file.json_error is not None:
        return None
    data = canonical.loads(list_file.data)
    names = data.get("packageNames") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return 'expected {"packageNames": [<strings>]}'
    bad = [n for n in names if path_problem(f"p2/{n}.json") is not None]
    if bad:
        return f"invalid package name {bad[0]!r}"
    return names


def write_build(
    directory: Path,
    files: Mapping[str, bytes],
    *,
    commit: str,
    tree: str,
    time: dt.datetime | int | str,
    counts: Mapping[str, int] | None = None,
    builder: str = BUILDER,
) -> Manifest:
    """Write ``files`` (path -> content) into ``directory``, then ``manifest.json`` last.

    Counts ``files`` and ``bytes`` are added to ``counts``. Returns the manifest written.
    """
    entries: dict[str, FileEntry] = {}
    made: set[Path] = set()
    for path, data in files.items():
        check_path(path)
        target = directory / path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(data)
        entries[path] = file_entry(data)
    all_counts = dict(counts or {})
    all_counts["files"] = len(entries)
    all_counts["bytes"] = sum(e.size for e in entries.values())
    manifest = Manifest(
        commit=commit,
        tree=tree,
        builder=builder,
        time=time if isinstance(time, str) else format_time(time),
        counts=all_counts,
        files=entries,
    )
    write_manifest(directory, manifest)
    return manifest
