"""Install counts: what pages and the API ask about Composer installs.

Pages and the API ask a :class:`Counts` provider. :class:`server.telemetry.counts.DbCounts`
reads the runtime database (what ``POST /downloads`` counted); :class:`ZeroCounts` answers
zero for everything (tests that do not care about counts).

``epoch()`` changes whenever counts change; a package page puts it in its cache key, so a cached
page is reused between installs and never shows a stale count after one. Browse and search
pages put :class:`server.site.CountsGeneration`'s epoch instead, which moves at most every
``page_counts_refresh`` seconds (those pages list many packages: any install would evict them).
``ranking()`` gives every package's total for sorting by installs, tagged with the epoch it
was read at (the search index refreshes its copy when the tag changes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class MonthCount:
    month: str  # "YYYY-MM"
    installs: int


@dataclass(frozen=True)
class Ranking:
    """All-time installs of every package with at least one (others: zero), as of ``epoch``."""

    epoch: int
    installs: Mapping[str, int] = field(default_factory=dict)


class Counts(Protocol):
    """Composer install counts of packages (from telemetry)."""

    def epoch(self) -> int:
        """A number that changes whenever any count changes."""
        ...

    def total(self, name: str) -> int:
        """All-time installs of package ``name``."""
        ...

    def recent(self, name: str, days: int) -> int:
        """Installs of ``name`` in the last ``days`` UTC days, today included."""
        ...

    def monthly(self, name: str, months: int) -> list[MonthCount]:
        """Installs per calendar month, oldest first, the last ``months`` months."""
        ...

    def totals(self, names: Sequence[str]) -> dict[str, int]:
        """All-time installs of several packages (for result lists)."""
        ...

    def ranking(self) -> Ranking:
        """All-time installs of every package (for sorting by installs)."""
        ...


def last_months(months: int, today: dt.date | None = None) -> list[str]:
    """``YYYY-MM`` of the last ``months`` calendar months, oldest first, this month last."""
    day = today or dt.datetime.now(dt.UTC).date()
    year, month = day.year, day.month
    out: list[str] = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


class ZeroCounts:
    """Zero installs everywhere."""

    def epoch(self) -> int:
        return 0

    def total(self, name: str) -> int:
        return 0

    def recent(self, name: str, days: int) -> int:
        return 0

    def monthly(self, name: str, months: int) -> list[MonthCount]:
        return [MonthCount(m, 0) for m in last_months(months)]

    def totals(self, names: Sequence[str]) -> dict[str, int]:
        return dict.fromkeys(names, 0)

    def ranking(self) -> Ranking:
        return Ranking(0)
