"""The replay's world: records, SVN revisions, change logs, scripted changes and faults.

``ReplayState`` holds one :class:`Repository` per package type — mirroring WordPress.org,
where ``plugins.svn`` and ``themes.svn`` are separate repositories with their own revision
numbers — and everything the ASGI app and the control API read or change:

* records keyed by slug (a closed plugin's record *is* its closed body; the open record is
  stashed so ``reopen`` can restore it); records are never mutated in place, only replaced;
* the head revision and the log (one :class:`LogEntry` per revision, contiguous numbers; the
  initial revision gets one seed entry so ``limit=1`` always finds a head entry);
* a virtual clock: it starts at the newest ``last_updated`` in the corpus and advances
  ``time_step`` seconds per revision, so runs are reproducible;
* serialized info responses cached per (slug, field set, download base), dropped on change;
* the fault injector and request counters.

Every public method takes :attr:`ReplayState.lock`, so tests may call them from another
thread while the server runs. One change = one revision (as one SVN commit touches one
package); ``"log": false`` on a change applies it without a revision (WordPress.org closes
plugins without an SVN commit).
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from curator.layout import PackageType
from curator.replay import api, formats
from curator.replay.corpus import PathLike, load_corpora, sample_corpus_paths
from curator.replay.faults import Fault, FaultConfig, FaultInjector
from curator.replay.formats import LogEntry
from curator.replay.zips import package_zip

Record = dict[str, Any]
Action = Literal["update", "add", "close", "reopen", "delete"]
ACTIONS: Final[tuple[Action, ...]] = ("update", "add", "close", "reopen", "delete")

DEFAULT_REVISION: Final = 3_070_000
DEFAULT_START: Final = datetime(2024, 4, 16, tzinfo=UTC)
REPLAY_WP_VERSION: Final = "6.5.2"  # WordPress release current at the corpus date
DOWNLOADS: Final = "https://downloads.wordpress.org"
TRUNK: Final = "trunk"

# Template::get_close_reasons() labels (plugin-directory); "unknown" appears on old closures.
CLOSE_REASONS: Final[Mapping[str, str]] = {
    "security-issue": "Security Issue",
    "author-request": "Author Request",
    "guideline-violation": "Guideline Violation",
    "licensing-trademark-violation": "Licensing/Trademark Violation",
    "merged-into-core": "Merged into Core",
    "unused": "Unused",
    "unknown": "Unknown",
}

_SCRIPT_KEYS: Final = frozenset({"changes", "mutate", "faults"})


class ChangeError(ValueError):
    """A change the replay cannot apply (unknown slug, wrong state, bad shape)."""


class ScriptExhausted(LookupError):
    """``step()`` was called after the last step of the script."""


class NoSuchChangeset(LookupError):
    """A Trac log request named a revision beyond the head (Trac answers 404)."""

    def __init__(self, revision: str) -> None:
        super().__init__(f"No changeset {revision} in the repository")
        self.revision = revision


def _kind(value: Any) -> PackageType:
    try:
        return PackageType(value)
    except ValueError:
        raise ChangeError(f"type must be 'plugin' or 'theme', not {value!r}") from None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` deletes a key."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def bump_version(version: str, taken: set[str]) -> str:
    """The next release after ``version``: its leading numeric part with the last component
    incremented (``5.3.2`` -> ``5.3.3``, ``1.0-beta`` -> ``1.1``); never a key in ``taken``."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    parts = match.group(0).split(".") if match else ["1", "0"]
    while True:
        parts[-1] = str(int(parts[-1]) + 1)
        candidate = ".".join(parts)
        if candidate not in taken:
            return candidate


def _author_of(kind: PackageType, record: Mapping[str, Any]) -> str:
    if kind is PackageType.THEME:
        author = record.get("author")
        if isinstance(author, Mapping) and isinstance(author.get("user_nicename"), str):
            return str(author["user_nicename"])
        return author if isinstance(author, str) and author else "replay"
    contributors = record.get("contributors")
    if isinstance(contributors, Mapping) and contributors:
        return str(next(iter(contributors)))
    profile = record.get("author_profile")
    if isinstance(profile, str) and profile.rstrip("/").rsplit("/", 1)[-1]:
        return profile.rstrip("/").rsplit("/", 1)[-1]
    return "replay"


def _name_of(record: Mapping[str, Any], slug: str) -> str:
    name = record.get("name")
    return html.unescape(name) if isinstance(name, str) and name else slug


def _version_keys(record: Mapping[str, Any] | None) -> list[str]:
    versions = record.get("versions") if record else None
    return list(versions) if isinstance(versions, Mapping) else []


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of ``POST /_replay/changes``, validated."""

    kind: PackageType
    slug: str
    action: Action
    record: Record | None = None
    patch: Mapping[str, Any] | None = None
    closure: Mapping[str, Any] | None = None
    log: bool = True
    author: str | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, obj: Any) -> Change:
        if not isinstance(obj, Mapping):
            raise ChangeError("a change must be an object")
        unknown = set(obj) - {
            "type",
            "slug",
            "action",
            "record",
            "patch",
            "closure",
            "log",
            "author",
            "message",
        }
        if unknown:
            raise ChangeError(f"unknown change keys: {sorted(unknown)}")
        kind = _kind(obj.get("type", "plugin"))
        slug = obj.get("slug")
        if not isinstance(slug, str) or not api.PLUGIN_SLUG_RE.fullmatch(slug):
            raise ChangeError(f"slug must match [a-z0-9_-]+, got {slug!r}")
        action = obj.get("action")
        if action not in ACTIONS:
            raise ChangeError(f"action must be one of {list(ACTIONS)}, got {action!r}")
        record, patch, closure = obj.get("record"), obj.get("patch"), obj.get("closure")
        for name, value in (("record", record), ("patch", patch), ("closure", closure)):
            if value is not None and not isinstance(value, Mapping):
                raise ChangeError(f"{name} must be an object")
        if record is not None and record.get("slug", slug) != slug:
            raise ChangeError(f"record slug {record.get('slug')!r} differs from {slug!r}")
        log = obj.get("log", True)
        if not isinstance(log, bool):
            raise ChangeError("log must be true or false")
        author, message = obj.get("author"), obj.get("message")
        if author is not None and not isinstance(author, str):
            raise ChangeError("author must be a string")
        if message is not None and not isinstance(message, str):
            raise ChangeError("message must be a string")
        return cls(
            kind,
            slug,
            action,
            dict(record) if record is not None else None,
            patch,
            closure,
            log,
            author,
            message,
        )


@dataclass
class Repository:
    """One SVN repository's worth of state (plugins or themes)."""

    kind: PackageType
    records: dict[str, Record]
    revision: int
    log: list[LogEntry] = field(default_factory=list)
    stash: dict[str, Record] = field(default_factory=dict)
    responses: dict[str, dict[tuple[api.FieldOverrides, str | None], bytes]] = field(
        default_factory=dict
    )
    _listing: tuple[int, bytes] | None = None
    _slugs: list[str] | None = None

    def is_open(self, slug: str) -> bool:
        record = self.records.get(slug)
        return record is not None and not api.is_closed(record)

    def changed(self, slug: str, *, membership: bool = False) -> None:
        self.responses.pop(slug, None)
        if membership:
            self._slugs = None

    def sorted_slugs(self) -> list[str]:
        if self._slugs is None:
            self._slugs = sorted(self.records)
        return self._slugs

    def listing(self) -> bytes:
        if self._listing is None or self._listing[0] != self.revision:
            self._listing = (
                self.revision,
                formats.render_svn_listing(self.revision, self.sorted_slugs()),
            )
        return self._listing[1]

    def entries(self, newest: int, oldest: int, limit: int) -> list[LogEntry]:
        """Log entries with ``oldest <= revision <= newest``, newest first, at most ``limit``."""
        if not self.log or limit <= 0:
            return []
        first = self.log[0].revision
        hi = min(newest, self.revision) - first
        lo = max(oldest, first) - first
        if hi < lo or hi < 0:
            return []
        stop = max(lo, hi - limit + 1)
        return self.log[stop : hi + 1][::-1]


def _newest(kind: PackageType, records: Mapping[str, Record]) -> tuple[datetime, str] | None:
    """The newest ``last_updated`` moment among ``records`` and its slug."""
    if kind is PackageType.PLUGIN:
        best_day = ""
        for record in records.values():
            value = record.get("last_updated")
            if isinstance(value, str) and value[:10] > best_day:
                best_day = value[:10]
        found: list[tuple[datetime, str]] = []
        for slug, record in records.items():
            value = record.get("last_updated")
            if isinstance(value, str) and value.startswith(best_day) and best_day:
                moment = formats.parse_last_updated(value)
                if moment is not None:
                    found.append((moment, slug))
        return max(found) if found else None
    found = []
    for slug, record in records.items():
        value = record.get("last_updated_time")
        if isinstance(value, str):
            try:
                found.append((datetime.fromisoformat(value).replace(tzinfo=UTC), slug))
            except ValueError:
                continue
    return max(found) if found else None


class ReplayState:
    """Everything the replay serves; see the module docstring."""

    def __init__(
        self,
        plugins: Mapping[str, Record] | None = None,
        themes: Mapping[str, Record] | None = None,
        *,
        revision: int = DEFAULT_REVISION,
        theme_revision: int | None = None,
        start_time: datetime | None = None,
        time_step: float = 60.0,
        faults: FaultConfig | None = None,
        script: Sequence[Mapping[str, Any]] | None = None,
        cache_limit_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.lock = threading.RLock()
        plugin_records = dict(plugins or {})
        theme_records = dict(themes or {})
        self._repos = {
            PackageType.PLUGIN: Repository(PackageType.PLUGIN, plugin_records, revision),
            PackageType.THEME: Repository(
                PackageType.THEME,
                theme_records,
                revision if theme_revision is None else theme_revision,
            ),
        }
        newest = {k: _newest(k, r.records) for k, r in self._repos.items()}
        if start_time is None:
            moments = [n[0] for n in newest.values() if n is not None]
            start_time = max(moments) if moments else DEFAULT_START
        self._now = start_time.astimezone(UTC)
        self._step = timedelta(seconds=time_step)
        for kind, repo in self._repos.items():
            repo.log.append(self._seed_entry(kind, repo, newest[kind]))
        self.faults = FaultInjector(faults or FaultConfig())
        self.requests: Counter[str] = Counter()
        self._script = [dict(s) for s in (script or [])]
        for number, step in enumerate(self._script, start=1):
            if not step or set(step) - _SCRIPT_KEYS:
                raise ValueError(f"script step {number}: expected keys among {_SCRIPT_KEYS}")
        self._script_pos = 0
        self._cache_limit = cache_limit_bytes
        self._cache_bytes = 0

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_paths(
        cls,
        plugin_paths: Sequence[PathLike] = (),
        theme_paths: Sequence[PathLike] = (),
        **kwargs: Any,
    ) -> ReplayState:
        """A state loaded from corpus files (see :mod:`curator.replay.corpus`)."""
        return cls(load_corpora(plugin_paths), load_corpora(theme_paths), **kwargs)

    @classmethod
    def sample(cls, **kwargs: Any) -> ReplayState:
        """A state holding the sample corpus shipped with the project."""
        plugins, themes = sample_corpus_paths()
        return cls.from_paths([plugins], [themes], **kwargs)

    def _seed_entry(
        self, kind: PackageType, repo: Repository, newest: tuple[datetime, str] | None
    ) -> LogEntry:
        if newest is None:
            return LogEntry(repo.revision, self._now, "replay", (), "Initial replay revision")
        moment, slug = newest
        record = repo.records[slug]
        if kind is PackageType.PLUGIN:
            paths: tuple[tuple[str, str], ...] = ((f"{slug}/trunk/readme.txt", "modified"),)
            message = "Update readme.txt"
        else:
            version = str(record.get("version", ""))
            paths = ((f"{slug}/{version}", "added"), (f"{slug}/{version}/style.css", "added"))
            message = f"New version of {_name_of(record, slug)} - {version}"
        return LogEntry(repo.revision, moment, _author_of(kind, record), paths, message)

    # --- reading ---------------------------------------------------------------------------

    def repo(self, kind: PackageType | str) -> Repository:
        return self._repos[PackageType(kind)]

    @property
    def plugins(self) -> dict[str, Record]:
        return self._repos[PackageType.PLUGIN].records

    @property
    def themes(self) -> dict[str, Record]:
        return self._repos[PackageType.THEME].records

    @property
    def revision(self) -> int:
        """Head revision of the plugins repository."""
        return self._repos[PackageType.PLUGIN].revision

    @property
    def revisions(self) -> dict[str, int]:
        return {k.value: r.revision for k, r in self._repos.items()}

    @property
    def now(self) -> datetime:
        """The virtual clock: the time of the latest revision."""
        return self._now

    def get(self, kind: PackageType | str, slug: str) -> Record | None:
        with self.lock:
            return self.repo(kind).records.get(slug)

    def info(
        self, kind: PackageType, request: api.InfoRequest, downloads_base: str | None
    ) -> tuple[int, bytes]:
        """Status and body of ``{plugin,theme}_information`` for ``request``."""
        with self.lock:
            repo = self._repos[kind]
            slug = request.slug
            if kind is PackageType.PLUGIN:
                if slug is None or not api.PLUGIN_SLUG_RE.fullmatch(slug):
                    return 404, api.BODY_INVALID_PLUGIN_SLUG
                record = repo.records.get(slug)
                if record is None:
                    return 404, api.BODY_PLUGIN_NOT_FOUND
                if api.is_closed(record):
                    return 404, orjson.dumps(record)
            else:
                slug = (slug or "").strip()
                if not slug:
                    return 200, api.BODY_SLUG_NOT_PROVIDED
                record = repo.records.get(slug)
                if record is None or api.is_closed(record):
                    return 404, api.BODY_THEME_NOT_FOUND
            cached = repo.responses.get(slug)
            key = (request.fields, downloads_base)
            if cached is not None:
                body = cached.get(key)
                if body is not None:
                    return 200, body
            else:
                cached = repo.responses[slug] = {}
            body = api.render_info(kind, record, request.fields, downloads_base)
            self._cache_bytes += len(body)
            if self._cache_bytes > self._cache_limit:
                for r in self._repos.values():
                    r.responses.clear()
                self._cache_bytes = len(body)
                cached = repo.responses[slug] = {}
            cached[key] = body
            return 200, body

    def listing(self, kind: PackageType) -> bytes:
        """The SVN root listing at the head revision (closed packages stay listed)."""
        with self.lock:
            return self._repos[kind].listing()

    def changelog(
        self, kind: PackageType, rev: str | None, stop_rev: str | None, limit: int
    ) -> bytes:
        """Trac ``log/?format=changelog`` text. ``rev``/``stop_rev`` are numbers or ``HEAD``;
        a number beyond the head raises :class:`NoSuchChangeset` (as Trac does)."""
        with self.lock:
            repo = self._repos[kind]

            def resolve(value: str | None, default: int) -> int:
                text = (value or "").strip()
                if not text:
                    return default
                if text.upper() == "HEAD":
                    return repo.revision
                if not text.isdigit() or int(text) > repo.revision:
                    raise NoSuchChangeset(text)
                return int(text)

            newest = resolve(rev, repo.revision)
            oldest = resolve(stop_rev, 0)
            entries = repo.entries(newest, oldest, limit)
            return formats.render_changelog(entries, self._now)

    def log_entries(
        self,
        kind: PackageType | str,
        newest: int | None = None,
        oldest: int = 0,
        limit: int = 100,
    ) -> list[LogEntry]:
        """Log entries (newest first) for tests and tools."""
        with self.lock:
            repo = self.repo(kind)
            return repo.entries(repo.revision if newest is None else newest, oldest, limit)

    def download(self, kind: PackageType, filename: str) -> bytes | None:
        """The zip named ``filename`` (``<slug>.zip`` or ``<slug>.<version>.zip``), or ``None``.

        The version part is matched against the record's ``versions`` keys, then against the
        file names of its download URLs, so keys with a trailing dot or a ``\\r`` work."""
        with self.lock:
            if not filename.endswith(".zip"):
                return None
            slug, dot, version = filename[:-4].partition(".")
            record = self._repos[kind].records.get(slug)
            if record is None or api.is_closed(record):
                return None
            current = record.get("version")
            if not dot:
                return package_zip(kind, slug, str(current or ""), record)
            versions = record.get("versions")
            if isinstance(versions, Mapping):
                if version in versions and version != TRUNK:
                    return package_zip(kind, slug, version, record)
                for key, url in versions.items():
                    if isinstance(url, str) and url.rsplit("/", 1)[-1] == filename:
                        return package_zip(kind, slug, str(key), record)
            link = record.get("download_link")
            if isinstance(link, str) and link.rsplit("/", 1)[-1] == filename:
                return package_zip(kind, slug, str(current or version), record)
            return None

    # --- faults and counters ---------------------------------------------------------------

    def count_request(self, group: str) -> None:
        with self.lock:
            self.requests[group] += 1

    def decide_fault(
        self, info_route: bool, key: str, slug: tuple[str, str] | None
    ) -> Fault | None:
        with self.lock:
            if not self.faults.in_scope(info_route):
                return None
            return self.faults.decide(key, slug=slug)

    def latency(self, info_route: bool) -> float:
        """Seconds of injected latency for a route (0 when out of scope)."""
        config = self.faults.config
        if not config.latency_ms or not self.faults.in_scope(info_route):
            return 0.0
        return config.latency_ms / 1000.0

    def configure_faults(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Apply fault settings (``FaultConfig`` field names, plus ``reset`` to zero the
        counters); returns the new fault snapshot. Raises ``ValueError`` on bad input."""
        with self.lock:
            settings = dict(settings)
            reset = settings.pop("reset", False)
            if not isinstance(reset, bool):
                raise ValueError("reset must be true or false")
            self.faults.configure(self.faults.config.updated(settings), reset=reset)
            return self.faults.snapshot()

    def sticky_fault(self, kind: PackageType | str, slug: str) -> Fault | None:
        """The fault sticky mode gives the info request for ``slug`` (no request needed)."""
        with self.lock:
            return self.faults.sticky_fault(f"{PackageType(kind).value}:{slug}")

    # --- changes ---------------------------------------------------------------------------

    def _tick(self) -> datetime:
        self._now = self._now + self._step
        return self._now

    def _commit(
        self,
        repo: Repository,
        moment: datetime,
        author: str,
        paths: list[tuple[str, str]],
        message: str,
    ) -> int:
        repo.revision += 1
        repo.log.append(LogEntry(repo.revision, moment, author, tuple(sorted(paths)), message))
        return repo.revision

    def apply_changes(self, changes: Sequence[Any]) -> dict[str, Any]:
        """Validate all ``changes`` (JSON objects, see :class:`Change`), then apply them in
        order, one revision each. Nothing is applied when one is invalid (``ChangeError``)."""
        with self.lock:
            if not isinstance(changes, Sequence) or isinstance(changes, str | bytes):
                raise ChangeError("changes must be a list")
            plan = [Change.from_json(c) for c in changes]
            self._check_plan(plan)
            applied = [self._apply(change) for change in plan]
            last_kind = plan[-1].kind if plan else PackageType.PLUGIN
            return {
                "revision": self._repos[last_kind].revision,
                "revisions": self.revisions,
                "applied": applied,
            }

    def _check_plan(self, plan: Sequence[Change]) -> None:
        status: dict[tuple[PackageType, str], str] = {}
        stashed: dict[tuple[PackageType, str], bool] = {}
        for number, change in enumerate(plan, start=1):
            key = (change.kind, change.slug)
            repo = self._repos[change.kind]
            if key not in status:
                record = repo.records.get(change.slug)
                status[key] = (
                    "absent" if record is None else "closed" if api.is_closed(record) else "open"
                )
                stashed[key] = change.slug in repo.stash
            state, where = status[key], f"change {number} ({change.kind.value} {change.slug})"
            if change.action == "add":
                if state != "absent":
                    raise ChangeError(f"{where}: already exists")
                closed = change.record is not None and api.is_closed(change.record)
                status[key] = "closed" if closed else "open"
            elif change.action == "update":
                if state == "absent":
                    raise ChangeError(f"{where}: no such package")
                if change.record is None and change.patch is None:
                    raise ChangeError(f"{where}: update needs a record or a patch")
                if state == "closed" and change.record is None and not stashed[key]:
                    raise ChangeError(f"{where}: closed without a known open record to patch")
                if change.record is not None and api.is_closed(change.record):
                    raise ChangeError(f"{where}: use 'close' to close a package")
                if state == "closed":
                    stashed[key] = True
            elif change.action == "close":
                if state != "open":
                    raise ChangeError(f"{where}: not open ({state})")
                status[key], stashed[key] = "closed", True
            elif change.action == "reopen":
                if state != "closed":
                    raise ChangeError(f"{where}: not closed ({state})")
                if change.record is None and not stashed[key]:
                    raise ChangeError(f"{where}: reopen needs a record (none was stashed)")
                status[key], stashed[key] = "open", False
            else:  # delete
                if state == "absent":
                    raise ChangeError(f"{where}: no such package")
                status[key], stashed[key] = "absent", False

    def _apply(self, change: Change) -> dict[str, Any]:
        kind, slug, repo = change.kind, change.slug, self._repos[change.kind]
        moment = self._tick() if change.log else self._now
        old = repo.records.get(slug)
        old_open = repo.stash.get(slug) if old is not None and api.is_closed(old) else old
        paths: list[tuple[str, str]]
        membership = False
        if change.action == "add":
            base = (
                change.record if change.record is not None else self._new_record(kind, slug, moment)
            )
            record = merge_patch(base, change.patch) if change.patch else dict(base)
            record["slug"] = slug
            repo.records[slug] = record
            membership = True
            paths = self._add_paths(kind, slug, record)
            message = f"Adding {_name_of(record, slug)}"
        elif change.action == "update":
            if change.record is not None:
                new = dict(change.record)
                new["slug"] = slug
            else:
                new = merge_patch(old_open, change.patch)
            if old is not None and api.is_closed(old):
                repo.stash[slug] = new
            else:
                repo.records[slug] = new
            paths = self._update_paths(kind, slug, old_open, new)
            message = self._update_message(kind, slug, old_open, new)
        elif change.action == "close":
            assert old is not None
            repo.stash[slug] = old
            repo.records[slug] = self.closed_body(old, slug, change.closure or {})
            paths = self._touch_paths(kind, slug, old)
            message = f"Close {_name_of(old, slug)}"
        elif change.action == "reopen":
            record = dict(change.record if change.record is not None else repo.stash[slug])
            record["slug"] = slug
            repo.stash.pop(slug, None)
            repo.records[slug] = record
            paths = self._touch_paths(kind, slug, record)
            message = f"Reopen {_name_of(record, slug)}"
        else:  # delete
            repo.records.pop(slug, None)
            repo.stash.pop(slug, None)
            membership = True
            paths = [(slug, "deleted")]
            message = f"Remove {slug}"
        repo.changed(slug, membership=membership)
        revision = None
        if change.log:
            author = change.author or _author_of(kind, old_open or repo.records.get(slug) or {})
            revision = self._commit(repo, moment, author, paths, change.message or message)
        return {"type": kind.value, "slug": slug, "action": change.action, "revision": revision}

    def _new_record(self, kind: PackageType, slug: str, moment: datetime) -> Record:
        name = slug.replace("-", " ").replace("_", " ").title()
        profile = "https://profiles.wordpress.org/replay/"
        if kind is PackageType.THEME:
            url = f"{DOWNLOADS}/theme/{slug}.1.0.zip"
            return {
                "name": name,
                "slug": slug,
                "version": "1.0",
                "preview_url": f"https://wp-themes.com/{slug}/",
                "author": {
                    "user_nicename": "replay",
                    "profile": profile,
                    "avatar": "https://secure.gravatar.com/avatar/?s=96&d=monsterid&r=g",
                    "display_name": "Replay",
                    "author": "Replay",
                    "author_url": "",
                },
                "screenshot_url": f"//ts.w.org/wp-content/themes/{slug}/screenshot.png?ver=1.0",
                "rating": 0,
                "num_ratings": 0,
                "reviews_url": f"https://wordpress.org/support/theme/{slug}/reviews/",
                "downloaded": 0,
                "last_updated": f"{moment:%Y-%m-%d}",
                "last_updated_time": f"{moment:%Y-%m-%d %H:%M:%S}",
                "creation_time": f"{moment:%Y-%m-%d %H:%M:%S}",
                "homepage": f"https://wordpress.org/themes/{slug}/",
                "sections": {"description": f"{name}, a theme added to the replay."},
                "download_link": url,
                "tags": {},
                "versions": {"1.0": url},
                "requires": "6.0",
                "requires_php": "7.4",
                "is_commercial": False,
                "external_support_url": False,
                "is_community": False,
                "external_repository_url": "",
            }
        url = f"{DOWNLOADS}/plugin/{slug}.1.0.0.zip"
        return {
            "name": name,
            "slug": slug,
            "version": "1.0.0",
            "author": f'<a href="{profile}">Replay</a>',
            "author_profile": profile,
            "contributors": {
                "replay": {
                    "profile": profile,
                    "avatar": "https://secure.gravatar.com/avatar/?s=96&d=monsterid&r=g",
                    "display_name": "Replay",
                }
            },
            "requires": "6.0",
            "tested": REPLAY_WP_VERSION,
            "requires_php": "7.4",
            "requires_plugins": [],
            "rating": 0,
            "ratings": {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0},
            "num_ratings": 0,
            "support_url": f"https://wordpress.org/support/plugin/{slug}/",
            "support_threads": 0,
            "support_threads_resolved": 0,
            "active_installs": 0,
            "downloaded": 0,
            "last_updated": formats.format_last_updated(moment),
            "added": f"{moment:%Y-%m-%d}",
            "homepage": "",
            "short_description": f"{name}, a plugin added to the replay.",
            "download_link": url,
            "upgrade_notice": [],
            "tags": [],
            "stable_tag": "1.0.0",
            "versions": {"1.0.0": url, TRUNK: f"{DOWNLOADS}/plugin/{slug}.zip"},
            "business_model": False,
            "repository_url": "",
            "commercial_support_url": "",
            "donate_link": "",
            "banners": [],
            "icons": {"default": f"https://s.w.org/plugins/geopattern-icon/{slug}.svg"},
            "blocks": [],
            "block_assets": [],
            "author_block_count": 0,
            "author_block_rating": 0,
            "blueprints": [],
            "preview_link": "",
        }

    def closed_body(
        self, record: Mapping[str, Any], slug: str, closure: Mapping[str, Any]
    ) -> Record:
        """The body WordPress.org serves (HTTP 404) for a closed plugin.

        ``closure``: ``date`` (``YYYY-MM-DD``, default today on the virtual clock), ``reason``
        (default ``author-request``; ``false`` for a fresh temporary closure), ``reason_text``,
        ``permanent`` (default: reason is author-request) and ``description`` (override).
        The description follows the plugin directory's template: permanent closures say so,
        temporary ones younger than 60 days say "pending a full review", and the reason is
        shown for permanent closures and after 60 days."""
        today = self._now.date()
        when = closure.get("date")
        try:
            closed_on = date.fromisoformat(when) if isinstance(when, str) else today
        except ValueError:
            raise ChangeError(f"closure date must be YYYY-MM-DD, got {when!r}") from None
        reason = closure.get("reason", "author-request")
        if reason is not False and not isinstance(reason, str):
            raise ChangeError("closure reason must be a string or false")
        default_text: str | bool = (
            CLOSE_REASONS.get(reason, reason.replace("-", " ").title()) if reason else False
        )
        reason_text = closure.get("reason_text", default_text)
        permanent = bool(closure.get("permanent", reason == "author-request"))
        days = (today - closed_on).days
        description = closure.get("description")
        if not isinstance(description, str):
            description = (
                f"This plugin has been closed as of {formats.closure_date_text(closed_on)} "
                "and is not available for download."
            )
            if permanent:
                description += " This closure is permanent."
            elif days < 60:
                description += " This closure is temporary, pending a full review."
            if reason_text and (permanent or days >= 60):
                description += f" Reason: {reason_text}."
        return {
            "error": "closed",
            "name": record.get("name", slug),
            "slug": slug,
            "description": description,
            "closed": True,
            "closed_date": closed_on.isoformat(),
            "reason": reason,
            "reason_text": reason_text,
        }

    @staticmethod
    def _add_paths(
        kind: PackageType, slug: str, record: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        if kind is PackageType.THEME:
            paths = [(slug, "added")]
            keys = _version_keys(record) or [str(record.get("version", "1.0"))]
            for key in keys:
                paths += [(f"{slug}/{key}", "added"), (f"{slug}/{key}/style.css", "added")]
            return paths
        paths = [
            (slug, "added"),
            (f"{slug}/trunk", "added"),
            (f"{slug}/trunk/readme.txt", "added"),
            (f"{slug}/trunk/{slug}.php", "added"),
        ]
        tags = [k for k in _version_keys(record) if k != TRUNK]
        if tags:
            paths.append((f"{slug}/tags", "added"))
            paths += [(f"{slug}/tags/{k}", "added") for k in tags]
        return paths

    @staticmethod
    def _update_paths(
        kind: PackageType, slug: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        before, after = set(_version_keys(old)), set(_version_keys(new))
        added = sorted(after - before - {TRUNK})
        removed = sorted(before - after - {TRUNK})
        if kind is PackageType.THEME:
            paths = [(f"{slug}/{k}", "added") for k in added]
            paths += [(f"{slug}/{k}/style.css", "added") for k in added]
            paths += [(f"{slug}/{k}", "deleted") for k in removed]
            if not paths:
                paths = [(f"{slug}/{new.get('version', '')}/style.css", "modified")]
            return paths
        paths = [(f"{slug}/tags/{k}", "added") for k in added]
        paths += [(f"{slug}/tags/{k}", "deleted") for k in removed]
        paths.append((f"{slug}/trunk/readme.txt", "modified"))
        return paths

    @staticmethod
    def _update_message(
        kind: PackageType, slug: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
    ) -> str:
        version = new.get("version")
        if kind is PackageType.THEME:
            return f"New version of {_name_of(new, slug)} - {version}"
        if old is not None and version != old.get("version"):
            return f"Tagging version {version}"
        return "Update readme.txt"

    @staticmethod
    def _touch_paths(
        kind: PackageType, slug: str, record: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        if kind is PackageType.THEME:
            return [(f"{slug}/{record.get('version', '')}/style.css", "modified")]
        return [(f"{slug}/trunk/readme.txt", "modified")]

    # --- releases ---------------------------------------------------------------------------

    def mutate(
        self, percent: float, seed: int = 0, kind: PackageType | str = PackageType.PLUGIN
    ) -> dict[str, Any]:
        """Release a new version of ``percent`` % of the open packages of ``kind``.

        The packages are the first by ``sha256(seed, type, slug)``; each release is one
        revision (in slug order) that adds a tag, bumps ``version`` (and ``stable_tag`` unless
        it is ``trunk``, then also ``download_link``), sets ``last_updated`` and, for about
        half of them, ``tested``."""
        kind = PackageType(kind)
        if not 0 <= percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        with self.lock:
            repo = self._repos[kind]
            candidates = [s for s, r in repo.records.items() if not api.is_closed(r)]
            count = min(len(candidates), round(len(candidates) * percent / 100))
            if percent > 0 and candidates and count == 0:
                count = 1

            def rank(slug: str) -> bytes:
                return hashlib.sha256(f"{seed}:{kind.value}:{slug}".encode()).digest()

            chosen = sorted(sorted(candidates, key=rank)[:count])
            for slug in chosen:
                moment = self._tick()
                old = repo.records[slug]
                new, version = self._release(kind, slug, old, moment, seed)
                repo.records[slug] = new
                repo.changed(slug)
                if kind is PackageType.PLUGIN:
                    paths = [
                        (f"{slug}/tags/{version}", "added"),
                        (f"{slug}/trunk/readme.txt", "modified"),
                        (f"{slug}/trunk/{slug}.php", "modified"),
                    ]
                    message = f"Tagging version {version}"
                else:
                    paths = [
                        (f"{slug}/{version}", "added"),
                        (f"{slug}/{version}/style.css", "added"),
                    ]
                    message = f"New version of {_name_of(new, slug)} - {version}"
                self._commit(repo, moment, _author_of(kind, old), paths, message)
            return {
                "type": kind.value,
                "changed": chosen,
                "revision": repo.revision,
                "revisions": self.revisions,
            }

    @staticmethod
    def _release(
        kind: PackageType, slug: str, old: Mapping[str, Any], moment: datetime, seed: int
    ) -> tuple[Record, str]:
        new = dict(old)
        versions = old.get("versions")
        existing = dict(versions) if isinstance(versions, Mapping) else {}
        version = bump_version(str(old.get("version") or ""), set(existing))
        if kind is PackageType.THEME:
            url = f"{DOWNLOADS}/theme/{slug}.{version}.zip"
            existing[version] = url  # themes list versions in upload order
            new.update(
                version=version,
                versions=existing,
                download_link=url,
                last_updated=f"{moment:%Y-%m-%d}",
                last_updated_time=f"{moment:%Y-%m-%d %H:%M:%S}",
            )
            return new, version
        url = f"{DOWNLOADS}/plugin/{slug}.{version}.zip"
        existing[version] = url
        new["versions"] = dict(sorted(existing.items()))  # SVN tag names in string order
        new["version"] = version
        if old.get("stable_tag") != TRUNK:
            new["stable_tag"] = version
            new["download_link"] = url
        new["last_updated"] = formats.format_last_updated(moment)
        if hashlib.sha256(f"tested:{seed}:{slug}".encode()).digest()[0] & 1:
            new["tested"] = REPLAY_WP_VERSION
        return new, version

    # --- script ----------------------------------------------------------------------------

    def step(self) -> dict[str, Any]:
        """Apply the next step of the script (``changes``, ``mutate``, ``faults``, in that
        order when a step has several)."""
        with self.lock:
            if self._script_pos >= len(self._script):
                raise ScriptExhausted("the script has no more steps")
            step = self._script[self._script_pos]
            self._script_pos += 1
            result: dict[str, Any] = {
                "step": self._script_pos,
                "remaining": len(self._script) - self._script_pos,
            }
            if "changes" in step:
                result["changes"] = self.apply_changes(step["changes"])
            if "mutate" in step:
                options = step["mutate"]
                if not isinstance(options, Mapping):
                    raise ChangeError("mutate must be an object")
                result["mutate"] = self.mutate(
                    float(options.get("percent", 1.0)),
                    int(options.get("seed", 0)),
                    options.get("type", "plugin"),
                )
            if "faults" in step:
                result["faults"] = self.configure_faults(step["faults"])
            return result

    # --- snapshot --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """``GET /_replay/state``."""
        with self.lock:
            counts = {}
            for kind, repo in self._repos.items():
                closed = sum(1 for r in repo.records.values() if api.is_closed(r))
                counts[kind.value] = {
                    "total": len(repo.records),
                    "open": len(repo.records) - closed,
                    "closed": closed,
                }
            return {
                "revision": self.revision,
                "revisions": self.revisions,
                "time": self._now.isoformat(),
                "counts": counts,
                "faults": self.faults.snapshot(),
                "requests": dict(self.requests),
                "script": {"steps": len(self._script), "next": self._script_pos + 1},
            }


def load_script(path: PathLike) -> list[dict[str, Any]]:
    """A ``--script`` file: a JSON list of steps, or ``{"steps": [...]}``. Each step is an
    object with ``changes`` (a change list), ``mutate`` (``percent``/``seed``/``type``) and/or
    ``faults`` (fault settings)."""
    data = orjson.loads(Path(path).read_bytes())
    if isinstance(data, Mapping):
        data = data.get("steps")
    if not isinstance(data, list) or not all(isinstance(s, Mapping) for s in data):
        raise ValueError(f"{path}: expected a list of step objects (or {{'steps': [...]}})")
    return [dict(s) for s in data]
