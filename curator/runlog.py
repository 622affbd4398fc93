"""The sync run record carried by each commit: message, trailers, and reading them back.

A sync commit's message is a one-line summary, a body listing discovery and failures, and a
trailer block (``Curator-Run-Id``, ``Curator-Version``, ``Curator-Added`` ...). ``curator log``
and the admin area read runs back from the trailers, so this module owns both directions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from curator.records import Change

TRAILER_PREFIX = "Curator-"
COUNTED = (
    Change.ADDED,
    Change.UPDATED,
    Change.CLOSED,
    Change.REOPENED,
    Change.NOT_FOUND,
    Change.FAILED,
    Change.UNCHANGED,
)
MAX_LISTED_FAILURES = 100


def trailer_key(change: Change) -> str:
    return TRAILER_PREFIX + "-".join(p.capitalize() for p in change.value.split("_"))


def summary_line(counts: Mapping[Change, int]) -> str:
    shown = [
        f"{counts.get(c, 0)} {c.value.replace('_', ' ')}"
        for c in COUNTED
        if c is not Change.UNCHANGED and (counts.get(c, 0) or c in (Change.ADDED, Change.UPDATED))
    ]
    return "sync: " + ", ".join(shown)


def format_message(
    *,
    counts: Mapping[Change, int],
    sources: Iterable[str],
    failures: Iterable[tuple[str, str]],
    run_id: str,
    version: str,
    types: Iterable[str],
) -> str:
    """The full commit message of one sync run."""
    lines = [summary_line(counts), ""]
    lines += [f"- {s}" for s in sources]
    failed = list(failures)
    if failed:
        lines += ["", f"Failed ({len(failed)}):"]
        lines += [f"  {name}: {why}" for name, why in failed[:MAX_LISTED_FAILURES]]
        if len(failed) > MAX_LISTED_FAILURES:
            lines.append(f"  ... and {len(failed) - MAX_LISTED_FAILURES} more")
    lines += ["", f"{TRAILER_PREFIX}Run-Id: {run_id}", f"{TRAILER_PREFIX}Version: {version}"]
    lines.append(f"{TRAILER_PREFIX}Types: {','.join(types)}")
    lines += [f"{trailer_key(c)}: {counts.get(c, 0)}" for c in COUNTED]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunInfo:
    """A sync run as read back from a commit."""

    sha: str
    timestamp: int
    subject: str
    run_id: str | None
    version: str | None
    counts: dict[Change, int]

    @property
    def is_sync(self) -> bool:
        return self.run_id is not None


def read_run(sha: str, timestamp: int, subject: str, trailers: Mapping[str, str]) -> RunInfo:
    counts: dict[Change, int] = {}
    for change in COUNTED:
        value = trailers.get(trailer_key(change))
        if value is not None and value.isdigit():
            counts[change] = int(value)
    return RunInfo(
        sha=sha,
        timestamp=timestamp,
        subject=subject,
        run_id=trailers.get(f"{TRAILER_PREFIX}Run-Id"),
        version=trailers.get(f"{TRAILER_PREFIX}Version"),
        counts=counts,
    )


def read_failures(message: str) -> tuple[list[tuple[str, str]], int]:
    """The failures a sync commit's message lists, ``[(package, why)]``, and how many more
    it left out (``... and N more``); the total is the ``Curator-Failed`` trailer."""
    failures: list[tuple[str, str]] = []
    more = 0
    listing = False
    for line in message.splitlines():
        if not listing:
            listing = line.startswith("Failed (") and line.endswith("):")
            continue
        if not line.startswith("  "):
            break
        text = line.strip()
        if text.startswith("... and ") and text.endswith(" more"):
            count = text[len("... and ") : -len(" more")]
            more = int(count) if count.isdigit() else 0
            continue
        name, _, why = text.partition(": ")
        failures.append((name, why))
    return failures, more
