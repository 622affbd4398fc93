"""The builder: one pinned commit of the data repository in, one build directory out.

:func:`build` reads only the tree at the commit (through :class:`curator.datarepo.DataView`,
never a working tree), renders every package with :mod:`curator.build.render`, writes the
files into a fresh directory (``storage.building(id)`` or a temporary sibling of ``out``),
then ``manifest.json`` last (format of :mod:`curator.build.manifest`: the commit's time, the
builder version, counts, sha256 and size of every file), with a signing key its signature
``manifest.json.sig`` (:mod:`curator.signing`), and only then makes the directory visible
under its final name. A failure (bad override, invalid record) leaves nothing behind.

**Full builds** split the packages between worker processes (one per CPU; in-process for
small repositories). Each worker opens the repository itself, reads, renders, writes and
hashes its share, and hands back its manifest entries, listed names, report entries and
counts; the parent then writes ``packages.json``, ``list.json``, ``report.json`` and the
manifest. Which process writes a file never changes its bytes.

**Incremental builds.** Given the directory and commit of an earlier build (by default the
newest build in the storage), the builder diffs the two commits' data trees
(:meth:`curator.gitstore.GitStore.changed_paths`, cost proportional to the change) and
re-renders only the packages whose record or override file changed. Every other file is
hard-linked from the earlier build and its manifest entry reused instead of re-hashing it.
Builds are immutable and a re-rendered file is never linked first (every file is created with
``O_EXCL`` in a directory this build made), so nothing is ever written through a link.
Counts are updated from the earlier build's files of the re-rendered packages. The result is
byte-for-byte what a full build of the commit gives (tests check it). A full build is done
instead when ``registry.json`` changed, when the earlier build was made by another builder
version, render format or data prefix, or when its files cannot be read or linked.

**Costs** (bench/bench_build.py). A full build is CPU-bound rendering plus one file creation
per file, split across the workers. An incremental build costs one ``link()`` per
unchanged file (two per package) and one rewrite of the search index: the links are made by
a small separate process (``python -I -S``) while the builder renders the changed packages
and then writes the search index, whose unchanged rows are copied inside SQLite from the
earlier build's index (:class:`curator.build.search_index.PreviousIndex`), so the three
overlap. At 60,000 packages both the links (120,000) and the index (~60 MB, FTS5) take
1-2 s, which is what a 1% incremental build costs there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from curator import canonical
from curator.build.manifest import (
    BUILDER,
    ENTRY_POINT,
    FORMAT,
    LIST_NAME,
    MANIFEST_NAME,
    ManifestError,
    atomic_write,
    format_time,
    fsync_dir,
    read_manifest,
)
from curator.build.overrides import OverrideError, parse_override
from curator.build.render import (
    RENDER_FORMAT,
    REPORT_SECTIONS,
    ConfigError,
    Rendered,
    Report,
    check_config,
    dev_path,
    p2_path,
    package_name,
    render_list,
    render_orphan_override,
    render_package,
    render_packages_json,
    render_report,
)
from curator.build.search_index import (
    SEARCH_INDEX_NAME,
    PreviousIndex,
    PreviousIndexError,
    SearchRow,
    check_index,
    row_values,
    write_search_index,
)
from curator.build.worker import run_workers
from curator.datarepo import DataError, DataRepo, DataView
from curator.gitstore import GitStore
from curator.layout import (
    OVERRIDES_DIR,
    REGISTRY_FILE,
    PackageType,
    is_valid_slug,
    override_path,
    package_path,
    parse_package_path,
)
from curator.models import OverrideFile, PackageRecord, RegistryConfig
from curator.records import decode
from curator.storage.local import LocalStorage, make_build_id

if TYPE_CHECKING:
    from curator.signing import SigningKey

__all__ = [
    "REPORT_NAME",
    "BuildResult",
    "PreviousBuild",
    "build",
    "find_previous",
]

REPORT_NAME: Final = "report.json"
PROGRESS_EVERY: Final = 64  # packages between progress reports
BuildProgress = Callable[[int, int], None]  # (packages rendered, packages to render)
ROOT_FILES: Final = (ENTRY_POINT, LIST_NAME, REPORT_NAME, SEARCH_INDEX_NAME)
# Below this many packages a full build renders in-process (a worker costs ~0.4 s to start).
PARALLEL_MIN: Final = 3000

Key = tuple[PackageType, str]
Task = tuple[str, str, str | None]  # (kind, slug, override path relative to the data tree)
FileEntries = dict[str, dict[str, Any]]  # path -> {"sha256": hex, "size": n}


@dataclass(frozen=True)
class PreviousBuild:
    """An earlier build to reuse files from: its directory and the commit it was built from."""

    path: Path
    commit: str


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` made. ``build_id`` is None for a build written to ``out``."""

    build_id: str | None
    path: Path
    commit: str
    tree: str
    time: str
    counts: dict[str, int]
    incremental: bool
    seconds: float = 0.0
    rendered: int = 0  # packages rendered
    reused: int = 0  # files linked from the previous build
    previous: str | None = None  # commit of the build files were reused from
    full_reason: str | None = None  # why a full build was done although one was possible
    existing: bool = False  # the build already existed in the storage; nothing was written
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    workers: int = 0  # worker processes used (0: rendered in-process)
    worker_peak_rss_mb: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "path": str(self.path),
            "commit": self.commit,
            "tree": self.tree,
            "time": self.time,
            "counts": self.counts,
            "skipped_versions": self.counts.get("skipped_versions", 0),
            "incremental": self.incremental,
            "seconds": round(self.seconds, 3),
            "rendered": self.rendered,
            "reused": self.reused,
            "previous": self.previous,
            "full_reason": self.full_reason,
            "existing": self.existing,
            "timings": self.timings,
            "workers": self.workers,
            "worker_peak_rss_mb": self.worker_peak_rss_mb,
        }


class _Fallback(Exception):
    """The previous build cannot be reused; do a full build (the message says why)."""


# --- writing files -------------------------------------------------------------------------


class _Writer:
    """Creates files under ``root`` (``O_EXCL``: never through an existing name or link),
    hashes them, and links files from an earlier build."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: FileEntries = {}
        self._dirs: dict[str, int] = {}

    def _dir_fd(self, directory: str) -> int:
        fd = self._dirs.get(directory)
        if fd is None:
            (self.root / directory).mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / directory, os.O_RDONLY | os.O_DIRECTORY)
            self._dirs[directory] = fd
        return fd

    def write(self, path: str, data: bytes) -> None:
        directory, _, name = path.rpartition("/")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = os.open(name, flags, 0o644, dir_fd=self._dir_fd(directory))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.entries[path] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def link_all(self, source: Path, paths: Sequence[str], entries: FileEntries) -> int:
        """Hard-link ``paths`` from ``source`` (another build) and adopt their ``entries``."""
        by_dir: dict[str, list[str]] = {}
        for path in paths:
            directory, _, name = path.rpartition("/")
            by_dir.setdefault(directory, []).append(name)
        link = os.link
        for directory, names in sorted(by_dir.items()):
            dst = self._dir_fd(directory)
            src = os.open(source / directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                for name in names:
                    link(name, name, src_dir_fd=src, dst_dir_fd=dst)
            finally:
                os.close(src)
        self.adopt(paths, entries)
        return len(paths)

    def adopt(self, paths: Sequence[str], entries: FileEntries) -> None:
        """Take the manifest entries of ``paths`` (linked by someone else) as they are."""
        mine = self.entries
        for path in paths:
            mine[path] = entries[path]

    def close(self) -> FileEntries:
        for fd in self._dirs.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._dirs.clear()
        return self.entries


def peak_rss_kb() -> int:
    """This process's peak resident set size (``VmHWM``; 0 where /proc is missing).

    Unlike ``getrusage().ru_maxrss``, it is not inherited from the parent across exec."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# Hard-links NUL-separated relative paths (stdin) from argv[1] into argv[2], whose directories
# exist. Run as a separate process (``python -I -S -c``: no site, starts in milliseconds) so
# linking, which is all kernel time, overlaps with rendering in the builder.
_LINKER = """
import os, sys
src_root, dst_root = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
fds = {}
def dir_fd(root, directory):
    key = (root, directory)
    if key not in fds:
        fds[key] = os.open(os.path.join(root, directory), os.O_RDONLY | os.O_DIRECTORY)
    return fds[key]
link = os.link
for path in sys.stdin.buffer.read().split(b"\\0"):
    if path:
        directory, _, name = path.rpartition(b"/")
        link(name, name, src_dir_fd=dir_fd(src_root, directory),
             dst_dir_fd=dir_fd(dst_root, directory))
"""
# Fewer files than this are linked in-process (a process costs a few milliseconds).
LINKER_MIN: Final = 2000


class _Linker:
    """Links files from an earlier build in a separate process while the builder renders."""

    def __init__(self, source: Path, target: Path, paths: Sequence[str]) -> None:
        for directory in sorted({p.rpartition("/")[0] for p in paths}):
            (target / directory).mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LINKER, str(source), str(target)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(b"\0".join(os.fsencode(p) for p in paths))
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # it failed early: wait() says why

    def _finish(self) -> bytes:
        stderr = self._proc.stderr
        if stderr is None or stderr.closed:
            return b""
        err = stderr.read()
        stderr.close()
        self._proc.wait()
        return err

    def wait(self) -> None:
        err = self._finish()
        if self._proc.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1] if lines else f"exit status {self._proc.returncode}"
            raise _Fallback(f"cannot link the previous build's files ({why})")

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._finish()


class _Stopwatch:
    """Seconds per phase of a build (reported in :class:`BuildResult`)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 4)
        self._last = now


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Rendering allocates millions of short-lived containers and frees them by refcount;
    the cyclic collector only slows that down (it rescans every live record)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- reading the data tree -----------------------------------------------------------------


def _override_key(rel: str) -> Key | None:
    """``overrides/plugins/<slug>.json`` -> (plugin, slug); None for any other path."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] != OVERRIDES_DIR or not parts[2].endswith(".json"):
        return None
    kinds = {k.plural: k for k in PackageType}
    kind = kinds.get(parts[1])
    if kind is None:
        return None
    slug = parts[2][: -len(".json")]
    if not is_valid_slug(slug):
        raise OverrideError([f"{rel}: not a valid slug: {slug!r}"])
    return kind, slug


def _overrides(view: DataView) -> dict[Key, str]:
    """Every override file at the commit: (kind, slug) -> path relative to the data tree."""
    found: dict[Key, str] = {}
    for path, _blob in view.snapshot.walk(view.path(OVERRIDES_DIR)):
        rel = path[len(view.prefix) :]
        key = _override_key(rel)
        if key is not None:
            found[key] = rel
    return found


def _read_override(view: DataView, rel: str) -> OverrideFile | None:
    raw = view.read(rel)
    return None if raw is None else parse_override(raw, view.path(rel))


def _read_record(view: DataView, kind: PackageType, slug: str) -> PackageRecord | None:
    rel = package_path(kind, slug)
    raw = view.read(rel)
    if raw is None:
        return None
    try:
        record = decode(raw)
    except ValueError as exc:
        raise DataError(f"{view.path(rel)}: {exc}") from exc
    if record.type is not kind or record.slug != slug:
        raise DataError(
            f"{view.path(rel)}: the record is {record.type.value} {record.slug!r}, "
            f"but its path says {kind.value} {slug!r}"
        )
    return record


def _render(
    view: DataView, config: RegistryConfig, kind: PackageType, slug: str, override_rel: str | None
) -> Rendered | None:
    record = _read_record(view, kind, slug)
    override = _read_override(view, override_rel) if override_rel is not None else None
    opath = view.path(override_rel) if override_rel is not None else None
    if record is None:
        if override is None or opath is None:
            return None
        return render_orphan_override(kind, slug, override, config, override_path=opath)
    return render_package(record, override, config, override_path=opath)


# --- rendering a share of the packages -----------------------------------------------------


@dataclass
class _Partial:
    """What rendering some packages produced (also what a worker hands back)."""

    names: list[str] = field(default_factory=list)
    rows: list[SearchRow] = field(default_factory=list)
    report: Report = field(default_factory=dict)
    versions: int = 0
    rendered: int = 0
    entries: FileEntries = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    worker_rss_kb: int = 0  # the largest worker's peak RSS (0: rendered in-process)
    workers: int = 0
    previous_index: PreviousIndex | None = None  # rows carried over from an earlier build

    def merge(self, other: _Partial) -> None:
        self.names.extend(other.names)
        self.rows.extend(other.rows)
        for section, entries in other.report.items():
            self.report.setdefault(section, []).extend(entries)
        self.versions += other.versions
        self.rendered += other.rendered
        self.entries.update(other.entries)
        self.worker_rss_kb = max(self.worker_rss_kb, other.worker_rss_kb)


def _render_tasks(
    view: DataView,
    config: RegistryConfig,
    tasks: Sequence[Task],
    writer: _Writer,
    on_count: Callable[[int], None] | None = None,
) -> _Partial:
    """Render ``tasks``; ``on_count(done)`` every :data:`PROGRESS_EVERY` tasks and at the end."""
    out = _Partial()
    with _gc_paused():
        for done, (kind_value, slug, override_rel) in enumerate(tasks):
            if on_count is not None and done and done % PROGRESS_EVERY == 0:
                on_count(done)  # the tasks before this one
            rendered = _render(view, config, PackageType(kind_value), slug, override_rel)
            if rendered is None:
                continue
            out.rendered += 1
            for path, data in rendered.files.items():
                writer.write(path, data)
            if rendered.listed:
                out.names.append(rendered.name)
            if rendered.row is not None:
                out.rows.append(rendered.row)
            out.versions += rendered.versions
            for section, entries in rendered.report.items():
                out.report.setdefault(section, []).extend(entries)
    if on_count is not None:
        on_count(len(tasks))
    return out


def _failure(kind: str, problems: list[str]) -> Exception:
    if kind == "override":
        return OverrideError(problems)
    if kind == "config":
        return ConfigError(problems[0])
    return DataError(problems[0])


def run_job(job: dict[str, Any], on_count: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Render one share of a full build (in a worker process, see :mod:`.worker`)."""
    store = GitStore.open(Path(job["store"]))
    try:
        view = DataRepo(store, job["prefix"], "HEAD").view(job["commit"])
        writer = _Writer(Path(job["directory"]))
        tasks: list[Task] = [(k, s, o) for k, s, o in job["tasks"]]
        try:
            partial = _render_tasks(view, view.config(), tasks, writer, on_count)
        finally:
            entries = writer.close()
        return {
            "ok": True,
            "names": partial.names,
            "rows": [row_values(row) for row in partial.rows],
            "report": partial.report,
            "versions": partial.versions,
            "rendered": partial.rendered,
            "entries": entries,
            "peak_rss_kb": peak_rss_kb(),
        }
    except OverrideError as exc:
        return {"ok": False, "kind": "override", "problems": exc.problems}
    except ConfigError as exc:
        return {"ok": False, "kind": "config", "problems": [str(exc)]}
    except DataError as exc:
        return {"ok": False, "kind": "data", "problems": [str(exc)]}
    finally:
        store.close()


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _render_all(
    repo: DataRepo,
    view: DataView,
    config: RegistryConfig,
    directory: Path,
    tasks: list[Task],
    progress: BuildProgress | None = None,
) -> _Partial:
    total = len(tasks)
    on_count = None if progress is None else (lambda done: progress(done, total))
    workers = min(_workers(), 8)
    if workers < 2 or len(tasks) < PARALLEL_MIN:
        writer = _Writer(directory)
        try:
            partial = _render_tasks(view, config, tasks, writer, on_count)
        finally:
            entries = writer.close()
        partial.entries = entries
        return partial
    for kind in PackageType:  # made once here, so workers do not race to create them
        (directory / "p2" / config.vendors.for_type(kind)).mkdir(parents=True, exist_ok=True)
    jobs = [
        {
            "store": str(repo.store.path),
            "prefix": view.prefix,
            "commit": view.commit,
            "directory": str(directory),
            "tasks": tasks[i::workers],
            "progress": progress is not None,
        }
        for i in range(workers)
    ]
    merged = _Partial(workers=len(jobs))
    for result in run_workers(jobs, on_count):
        if not result["ok"]:
            raise _failure(result["kind"], result["problems"])
        merged.merge(
            _Partial(
                names=result["names"],
                rows=[SearchRow(*row) for row in result["rows"]],
                report=result["report"],
                versions=result["versions"],
                rendered=result["rendered"],
                entries=result["entries"],
                worker_rss_kb=result["peak_rss_kb"],
            )
        )
    return merged


# --- finishing a build ---------------------------------------------------------------------


def _finish(
    directory: Path,
    writer: _Writer,
    state: _Partial,
    config: RegistryConfig,
    view: DataView,
    commit_time: int,
    before_manifest: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Write the root documents and then the manifest; returns the counts.

    ``before_manifest`` runs right before the manifest is written (an incremental build
    waits there for its links, so the search index is written while they are made)."""
    names = set(state.names)
    writer.write(ENTRY_POINT, render_packages_json(config))
    writer.write(LIST_NAME, render_list(names))
    writer.write(REPORT_NAME, render_report(state.report, source=_source(view)))
    entries = state.entries
    entries.update(writer.close())
    entries[SEARCH_INDEX_NAME] = _write_index(
        directory / SEARCH_INDEX_NAME, state.rows, state.previous_index
    )
    if before_manifest is not None:
        before_manifest()
    vendors = {k: f"{config.vendors.for_type(k)}/" for k in PackageType}
    counts = {
        "packages": len(names),
        "plugins": sum(1 for n in names if n.startswith(vendors[PackageType.PLUGIN])),
        "themes": sum(1 for n in names if n.startswith(vendors[PackageType.THEME])),
        "versions": state.versions,
        "skipped_versions": len(state.report.get("skipped_versions", [])),
        "files": len(entries),
        "bytes": sum(e["size"] for e in entries.values()),
        "p2_files": sum(1 for p in entries if p.startswith("p2/")),
    }
    manifest = {
        "format": FORMAT,
        "commit": view.commit,
        "tree": view.snapshot.tree,
        "builder": BUILDER,
        "time": format_time(commit_time),
        "counts": counts,
        "files": entries,
    }
    atomic_write(directory / MANIFEST_NAME, canonical.dumps(manifest))
    return counts


def _write_index(
    path: Path, rows: list[SearchRow], previous: PreviousIndex | None
) -> dict[str, Any]:
    """Write the search index (``search.sqlite``) of ``rows`` (and of the rows carried over
    from ``previous``); its manifest entry."""
    try:
        write_search_index(path, rows, previous)
    except PreviousIndexError as exc:
        raise _Fallback(f"the previous build's search index cannot be read ({exc})") from None
    except ValueError as exc:  # two records rendering to one package name
        raise DataError(f"search index: {exc}") from None
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _source(view: DataView) -> dict[str, str]:
    return {"builder": BUILDER, "prefix": view.prefix}


# --- full and incremental ------------------------------------------------------------------


def _full(
    repo: DataRepo,
    directory: Path,
    view: DataView,
    config: RegistryConfig,
    commit_time: int,
    progress: BuildProgress | None = None,
) -> tuple[_Partial, dict[str, int]]:
    clock = _Stopwatch()
    overrides = _overrides(view)
    tasks: list[Task] = []
    for kind in PackageType:
        for slug, _blob in view.records(kind):
            tasks.append((kind.value, slug, overrides.pop((kind, slug), None)))
    tasks.extend((k.value, slug, rel) for (k, slug), rel in sorted(overrides.items()))
    clock.lap("walk")
    state = _render_all(repo, view, config, directory, tasks, progress)
    clock.lap("render")
    counts = _finish(directory, _Writer(directory), state, config, view, commit_time)
    clock.lap("finish")
    state.timings = clock.laps
    return state, counts


@dataclass
class _Previous:
    path: Path
    commit: str
    files: FileEntries
    counts: dict[str, int]
    names: set[str]
    report: Report


def _load_previous(previous: PreviousBuild, view: DataView) -> _Previous:
    try:
        manifest = orjson.loads((previous.path / MANIFEST_NAME).read_bytes())
        report = orjson.loads((previous.path / REPORT_NAME).read_bytes())
        names = orjson.loads((previous.path / LIST_NAME).read_bytes())["packageNames"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _Fallback(f"the previous build cannot be read ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("commit") != previous.commit:
        raise _Fallback("the previous build's manifest names another commit")
    if manifest.get("builder") != BUILDER:
        raise _Fallback(f"the previous build was made by {manifest.get('builder')!r}")
    if not isinstance(report, dict) or report.get("format") != RENDER_FORMAT:
        raise _Fallback("the previous build used another render format")
    if report.get("source") != _source(view):
        raise _Fallback("the previous build read another data prefix")
    files, counts = manifest.get("files"), manifest.get("counts")
    if not isinstance(files, dict) or not isinstance(counts, dict) or not isinstance(names, list):
        raise _Fallback("the previous build's manifest has no files or counts")
    sections = {s: list(report.get(s, [])) for s in REPORT_SECTIONS}
    if SEARCH_INDEX_NAME not in files:
        raise _Fallback("the previous build has no search index")
    try:
        if check_index(previous.path / SEARCH_INDEX_NAME) != len(names):
            raise _Fallback("the previous build's search index and list.json disagree")
    except PreviousIndexError as exc:
        raise _Fallback(f"the previous build's search index cannot be read ({exc})") from None
    return _Previous(previous.path, previous.commit, files, counts, set(names), sections)


def _changed(repo: DataRepo, old: str, new: str) -> set[Key]:
    """The packages whose record or override differs between the two commits."""
    try:
        changes = repo.store.changed_paths(old, new, repo.prefix)
    except Exception as exc:  # an unknown commit: the previous build came from elsewhere
        raise _Fallback(f"cannot diff against the previous build's commit ({exc})") from None
    keys: set[Key] = set()
    for path, status in changes:
        rel = path[len(repo.prefix) :]
        if rel == REGISTRY_FILE:
            raise _Fallback(f"{REGISTRY_FILE} changed")
        parsed = parse_package_path(rel)
        if parsed is not None:
            keys.add(parsed)
            continue
        try:
            key = _override_key(rel)
        except OverrideError:
            if status == "D":  # removing a badly named file changes nothing
                continue
            raise
        if key is not None:
            keys.add(key)
    return keys


def _old_versions(prev: _Previous, name: str) -> int:
    count = 0
    for path in (p2_path(name), dev_path(name)):
        if path not in prev.files:
            continue
        try:
            data = orjson.loads((prev.path / path).read_bytes())
            count += len(data["packages"][name])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _Fallback(f"the previous build's {path} cannot be read ({exc})") from None
    return count


def _incremental(
    repo: DataRepo,
    directory: Path,
    view: DataView,
    config: RegistryConfig,
    commit_time: int,
    previous: PreviousBuild,
    progress: BuildProgress | None = None,
) -> tuple[_Partial, dict[str, int], int]:
    clock = _Stopwatch()
    prev = _load_previous(previous, view)
    clock.lap("load")
    changed = set() if prev.commit == view.commit else _changed(repo, prev.commit, view.commit)
    # the previous state, minus every package that is rendered again
    names = {package_name(config, kind, slug) for kind, slug in changed}
    old_versions = sum(_old_versions(prev, name) for name in names)
    if not 0 <= old_versions <= prev.counts.get("versions", -1):
        raise _Fallback("the previous build's counts do not add up")
    state = _Partial(
        names=sorted(prev.names - names),
        previous_index=PreviousIndex(prev.path / SEARCH_INDEX_NAME, frozenset(names)),
        report={
            s: [e for e in entries if e.get("package") not in names]
            for s, entries in prev.report.items()
        },
        versions=prev.counts["versions"] - old_versions,
    )
    skip = set(ROOT_FILES)
    for name in names:
        skip.add(p2_path(name))
        skip.add(dev_path(name))
    clock.lap("diff")
    writer = _Writer(directory)
    reuse = [p for p in prev.files if p not in skip]
    linker: _Linker | None = None

    def wait_for_links() -> None:
        nonlocal linker
        clock.lap("index")  # root files and the search index, written while linking
        if linker is not None:
            linker.wait()
            linker = None
            clock.lap("link")

    try:
        if len(reuse) >= LINKER_MIN:
            linker = _Linker(prev.path, directory, reuse)  # runs while we render
            writer.adopt(reuse, prev.files)
        else:
            try:
                writer.link_all(prev.path, reuse, prev.files)
            except OSError as exc:
                raise _Fallback(f"cannot link the previous build's files ({exc})") from None
        tasks: list[Task] = []
        for kind, slug in sorted(changed):
            rel = override_path(kind, slug)
            tasks.append((kind.value, slug, rel if view.blob_id(rel) is not None else None))
        on_count = None if progress is None else (lambda done: progress(done, len(tasks)))
        try:
            part = _render_tasks(view, config, tasks, writer, on_count)
        finally:
            state.entries = writer.close()
        clock.lap("render")
        state.merge(part)
        # the root files and the search index are written while the links are still made
        counts = _finish(
            directory,
            _Writer(directory),
            state,
            config,
            view,
            commit_time,
            before_manifest=wait_for_links,
        )
        clock.lap("finish")
    finally:
        if linker is not None:
            linker.kill()
    state.timings = clock.laps
    return state, counts, len(reuse)


# --- entry point ---------------------------------------------------------------------------


_COMMIT_RE: Final = re.compile(rb'\n  "commit": "([0-9a-f]{40})",\n')


def _manifest_commit(path: Path) -> str | None:
    """The commit a build's manifest names, read from its head (the manifest is canonical
    JSON, so ``"commit"`` comes right after ``"builder"``); the whole file if that fails."""
    try:
        with open(path / MANIFEST_NAME, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    match = _COMMIT_RE.search(head)
    if match is not None:
        return match.group(1).decode()
    try:
        return read_manifest(path).commit
    except ManifestError:
        return None


def find_previous(storage: LocalStorage) -> PreviousBuild | None:
    """The newest build in ``storage`` with a manifest, if any (it is checked when used)."""
    for build_id in reversed(storage.build_ids()):
        path = storage.build_path(build_id)
        commit = _manifest_commit(path)
        if commit is not None:
            return PreviousBuild(path, commit)
    return None


@contextlib.contextmanager
def _out_dir(out: Path) -> Iterator[Path]:
    """A temporary sibling of ``out``, renamed to ``out`` on success, removed on failure."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not an empty directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _empty(directory: Path) -> None:
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def _sign(directory: Path, signer: SigningKey | None) -> None:
    """With a key, write ``manifest.json.sig`` after the manifest (:mod:`curator.signing`)."""
    if signer is not None:
        from curator.signing import sign_build

        sign_build(directory, signer)


def build(
    repo: DataRepo,
    commit: str | None,
    storage: LocalStorage | None,
    out: Path | None,
    *,
    previous: PreviousBuild | None = None,
    full: bool = False,
    clock: Callable[[], float] = time.perf_counter,
    signer: SigningKey | None = None,
    progress: BuildProgress | None = None,
) -> BuildResult:
    """Build ``commit`` (default: the data ref's head) into ``storage`` or ``out``.

    With ``storage``, the build goes to ``builds/<id>`` (id from the commit's time and sha);
    unless ``full`` it reuses ``previous``, else the newest stored build. If that build id
    exists already, nothing is written (same commit, same bytes) and ``existing`` is set.
    With ``out`` (a missing or empty directory) the build is written there; it reuses only
    an explicit ``previous``. Raises :class:`~curator.build.overrides.OverrideError`,
    :class:`~curator.build.render.ConfigError` or :class:`~curator.datarepo.DataError` for
    bad data; nothing is left behind then. With ``signer`` the manifest is signed
    (``manifest.json.sig``, also added to an existing build); without, nothing is signed.
    ``progress(rendered, total)`` is called as packages are rendered (from a reader thread
    when worker processes render: it must be thread-safe).
    """
    if (storage is None) == (out is None):
        raise ValueError("give exactly one of storage and out")
    started = clock()
    view = repo.view(commit)
    commit_time = next(repo.store.log(view.commit, max_count=1)).timestamp
    when = format_time(commit_time)
    config = view.config()
    check_config(config)
    build_id: str | None = None
    if storage is not None:
        build_id = make_build_id(view.commit, dt.datetime.fromtimestamp(commit_time, dt.UTC))
        existing = storage.build_path(build_id)
        if existing.is_dir():
            counts = dict(read_manifest(existing).counts)
            _sign(existing, signer)
            return BuildResult(
                build_id, existing, view.commit, view.snapshot.tree, when, counts, False,
                clock() - started, existing=True,
            )  # fmt: skip
        if previous is None and not full:
            previous = find_previous(storage)
    if full:
        previous = None

    def run(directory: Path) -> BuildResult:
        base = BuildResult(build_id, directory, view.commit, view.snapshot.tree, when, {}, False)
        full_reason = None
        if previous is not None:
            try:
                state, counts, reused = _incremental(
                    repo, directory, view, config, commit_time, previous, progress
                )
                return dataclasses.replace(
                    base,
                    counts=counts,
                    incremental=True,
                    rendered=state.rendered,
                    reused=reused,
                    previous=previous.commit,
                    timings=state.timings,
                )
            except _Fallback as exc:
                full_reason = str(exc)
                _empty(directory)
        state, counts = _full(repo, directory, view, config, commit_time, progress)
        return dataclasses.replace(
            base,
            counts=counts,
            rendered=state.rendered,
            full_reason=full_reason,
            timings=state.timings,
            workers=state.workers,
            worker_peak_rss_mb=round(state.worker_rss_kb / 1024, 1),
        )

    if storage is not None:
        assert build_id is not None
        with storage.building(build_id) as tmp:
            result = run(tmp)
            _sign(tmp, signer)
        final = storage.build_path(build_id)
    else:
        assert out is not None
        with _out_dir(out) as tmp:
            result = run(tmp)
            _sign(tmp, signer)
        final = out
    return dataclasses.replace(result, path=final, seconds=clock() - started)
