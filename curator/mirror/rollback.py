"""Rollback protection: the newest manifest ``curator verify --against`` accepted per location.

A published registry that starts serving an older manifest than one already verified
(a replayed, validly signed old build) is refused. The state file (default
``$XDG_STATE_HOME/curator/verify.json``, else ``~/.local/state/curator/verify.json``; or
``--state PATH``) maps each published location (a URL without its trailing slash, or a
resolved directory path) to the last accepted manifest::

    {
      "format": 1,
      "repositories": {
        "https://repo.example": {
          "accepted": "2026-11-02T09:00:00Z",
          "commit": "<40 hex>",
          "manifest_sha256": "<64 hex>",
          "time": "2026-11-01T12:00:00Z"
        }
      }
    }

A manifest is older when its ``time`` (the commit's time) is earlier, or when its commit is
a proper ancestor of the accepted one (known from the data repository; commit times can be
set by anyone). The state only ever moves forward; it is written atomically. An unreadable
state file is an error, never silently reset (that would disable the protection).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from curator import canonical
from curator.build.manifest import atomic_write, format_time, parse_time

__all__ = [
    "Accepted",
    "RollbackError",
    "StateError",
    "VerifyState",
    "default_state_path",
]

MAX_STATE_BYTES: Final = 16 * 1024 * 1024
_HEX40: Final = re.compile(r"[0-9a-f]{40}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")

IsAncestor = Callable[[str, str], bool]  # (ancestor, commit) -> bool


class StateError(ValueError):
    """The state file cannot be read or written."""


class RollbackError(ValueError):
    """A manifest older than the newest one already accepted for the location."""

    def __init__(self, location: str, offered: Accepted, last: Accepted, why: str) -> None:
        super().__init__(
            f"{location} serves the manifest of commit {offered.commit} ({offered.time}), "
            f"{why} the one accepted on {last.accepted}: commit {last.commit} ({last.time}). "
            "Refusing a rollback (--allow-rollback accepts it)"
        )
        self.offered, self.last = offered, last


@dataclass(frozen=True)
class Accepted:
    """One accepted (or offered) manifest."""

    commit: str
    time: str
    manifest_sha256: str
    accepted: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "accepted": self.accepted,
            "commit": self.commit,
            "manifest_sha256": self.manifest_sha256,
            "time": self.time,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> Accepted:
        if not isinstance(data, dict):
            raise StateError(f"{where}: expected an object")
        commit, when = data.get("commit"), data.get("time")
        digest, accepted = data.get("manifest_sha256"), data.get("accepted", "")
        if not isinstance(commit, str) or not _HEX40.fullmatch(commit):
            raise StateError(f"{where}: commit must be 40 hex digits")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise StateError(f"{where}: manifest_sha256 must be 64 hex digits")
        if not isinstance(accepted, str):
            raise StateError(f"{where}: accepted must be a time")
        try:
            parse_time(str(when))
        except ValueError:
            raise StateError(f"{where}: time {when!r} is not YYYY-MM-DDTHH:MM:SSZ") from None
        return cls(commit, str(when), digest, accepted)


def default_state_path(env: Mapping[str, str], home: Path) -> Path:
    """``$XDG_STATE_HOME/curator/verify.json`` (an absolute XDG_STATE_HOME only, as the XDG
    spec says), else ``<home>/.local/state/curator/verify.json``."""
    xdg = env.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "state"
    return base / "curator" / "verify.json"


class VerifyState:
    """The state file: read once, checked, advanced, saved."""

    def __init__(self, path: Path, entries: dict[str, Accepted]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def load(cls, path: Path) -> VerifyState:
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return cls(path, {})
        except OSError as exc:
            raise StateError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if len(raw) > MAX_STATE_BYTES:
            raise StateError(f"{path}: larger than {MAX_STATE_BYTES} bytes")
        try:
            data = canonical.loads(raw)
        except ValueError as exc:
            raise StateError(f"{path}: not JSON ({exc}); fix or remove it") from None
        repos = data.get("repositories") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("format") != 1 or not isinstance(repos, dict):
            raise StateError(f'{path}: expected {{"format": 1, "repositories": {{...}}}}')
        entries = {
            str(loc): Accepted.from_json(item, f"{path}: {loc}") for loc, item in repos.items()
        }
        return cls(path, entries)

    def last(self, location: str) -> Accepted | None:
        return self.entries.get(location)

    def check(
        self, location: str, offered: Accepted, *, is_ancestor: IsAncestor | None = None
    ) -> Accepted | None:
        """The last accepted manifest of ``location`` (None: first one seen);
        :class:`RollbackError` if ``offered`` is older than it."""
        last = self.entries.get(location)
        if last is None or last.commit == offered.commit:
            return last
        if parse_time(offered.time) < parse_time(last.time):
            raise RollbackError(location, offered, last, "older than")
        if is_ancestor is not None and is_ancestor(offered.commit, last.commit):
            raise RollbackError(location, offered, last, "an ancestor of")
        return last

    def accept(self, location: str, offered: Accepted, now: dt.datetime) -> bool:
        """Record ``offered`` as the newest for ``location`` unless an accepted one is newer
        (with --allow-rollback an older one is checked but never recorded). Returns whether
        the state changed; :meth:`save` writes it."""
        last = self.entries.get(location)
        if last is not None and (
            last.commit == offered.commit or parse_time(offered.time) < parse_time(last.time)
        ):
            return False
        self.entries[location] = Accepted(
            offered.commit, offered.time, offered.manifest_sha256, format_time(now)
        )
        return True

    def save(self) -> None:
        data = {
            "format": 1,
            "repositories": {loc: item.to_json() for loc, item in sorted(self.entries.items())},
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, canonical.dumps(data))
        except OSError as exc:
            raise StateError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
