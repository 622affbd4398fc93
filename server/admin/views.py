"""Read-only data of the admin pages: overrides in effect and telemetry totals.

- :func:`overrides_in_effect` reads the promoted build's ``search.sqlite`` (opened read-only,
  immutable) for packages whose ``overrides_json`` is not empty: what trustees changed and
  why, exactly as the build applied it;
- :func:`telemetry_totals` sums the runtime database's rollups plus the counted installs not
  rolled up yet (as the public pages do).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from curator.build.search_index import SEARCH_INDEX_NAME
from server.runtime import schema

MAX_OVERRIDE_PACKAGES: Final = 1000


@dataclass(frozen=True)
class OverrideEntry:
    package: str
    scope: str
    field: str
    reason: str
    author: str
    date: str


@dataclass(frozen=True)
class OverridesInEffect:
    packages: int  # packages with at least one override in effect
    entries: list[OverrideEntry]
    truncated: bool


def _text(value: Any) -> str:
    return "" if value is None else str(value)[:500]


def overrides_in_effect(
    build: Path, limit: int = MAX_OVERRIDE_PACKAGES
) -> OverridesInEffect | None:
    """The overrides the build at ``build`` applied (the first ``limit`` packages by name),
    or None when the build has no readable search index."""
    path = build / SEARCH_INDEX_NAME
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        where = "overrides_json NOT IN ('', '[]')"
        total = int(conn.execute(f"SELECT count(*) FROM packages WHERE {where}").fetchone()[0])
        rows = conn.execute(
            f"SELECT name, overrides_json FROM packages WHERE {where} ORDER BY name LIMIT ?",
            (limit,),
        ).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    entries: list[OverrideEntry] = []
    for name, raw in rows:
        try:
            items = json.loads(raw)
        except ValueError:
            continue
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                entries.append(
                    OverrideEntry(
                        package=str(name),
                        scope=_text(item.get("scope")),
                        field=_text(item.get("field")),
                        reason=_text(item.get("reason")),
                        author=_text(item.get("author")),
                        date=_text(item.get("date")),
                    )
                )
    return OverridesInEffect(total, entries, total > len(rows))


@dataclass(frozen=True)
class TelemetryTotals:
    all_time: int
    last_30_days: int
    packages: int  # packages with at least one counted install
    pending: int  # counted installs not rolled up yet
    top: list[tuple[str, int]]


def telemetry_totals(engine: Engine, now: float, top: int = 20) -> TelemetryTotals:
    """Install totals over every package (one snapshot per statement)."""
    totals, events, daily = schema.totals, schema.events, schema.daily
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    since = (today - dt.timedelta(days=29)).isoformat()
    per_package = sa.union_all(
        sa.select(totals.c.package.label("package"), totals.c.installs.label("n")),
        sa.select(events.c.package.label("package"), sa.func.count().label("n")).group_by(
            events.c.package
        ),
    ).subquery()
    summed = (
        sa.select(per_package.c.package, sa.func.sum(per_package.c.n).label("n"))
        .group_by(per_package.c.package)
        .subquery()
    )
    recent_rolled = sa.select(sa.func.coalesce(sa.func.sum(daily.c.installs), 0)).where(
        daily.c.day >= since
    )
    recent_fresh = sa.select(sa.func.count()).select_from(events).where(events.c.day >= since)
    with engine.connect() as conn:
        all_time, packages = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(summed.c.n), 0), sa.func.count())
        ).one()
        recent = int(conn.execute(recent_rolled).scalar_one()) + int(
            conn.execute(recent_fresh).scalar_one()
        )
        pending = int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())
        best = conn.execute(
            sa.select(summed.c.package, summed.c.n)
            .order_by(summed.c.n.desc(), summed.c.package)
            .limit(top)
        ).all()
    return TelemetryTotals(
        all_time=int(all_time),
        last_30_days=recent,
        packages=int(packages),
        pending=pending,
        top=[(str(r[0]), int(r[1])) for r in best],
    )
