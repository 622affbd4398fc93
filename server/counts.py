"""Install counts: the seam where telemetry plugs in.

Pages and the API ask a :class:`Counts` provider for Composer install counts. Until the
runtime database and ``POST /downloads`` land, :class:`ZeroCounts` answers zero for
everything; a database-backed provider implements the same protocol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MonthCount:
    month: str  # "YYYY-MM"
    installs: int


class Counts(Protocol):
    """Composer install counts of packages (from telemetry)."""

    def total(self, name: str) -> int:
        """All-time installs of package ``name``."""
        ...

    def monthly(self, name: str, months: int) -> list[MonthCount]:
        """Installs per calendar month, oldest first, the last ``months`` months."""
        ...

    def totals(self, names: Sequence[str]) -> dict[str, int]:
        """All-time installs of several packages (for result lists)."""
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
    """The provider used until telemetry exists: zero installs everywhere."""

    def total(self, name: str) -> int:
        return 0

    def monthly(self, name: str, months: int) -> list[MonthCount]:
        return [MonthCount(m, 0) for m in last_months(months)]

    def totals(self, names: Sequence[str]) -> dict[str, int]:
        return dict.fromkeys(names, 0)
