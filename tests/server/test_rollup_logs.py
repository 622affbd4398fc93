"""Rollup log records carry their numbers as structured fields (``event: rollup.finished`` and
``rollup.failed``), as :mod:`curator.logs` emits them: from the rollup itself, the in-process
scheduler and ``curator telemetry rollup --log-format json``. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from server_helpers import FakeClock
from sqlalchemy.engine import Engine

from curator.cli import cli
from curator.logs import JsonFormatter, record_fields
from server.runtime import schema
from server.runtime.engine import default_url, make_engine
from server.telemetry.common import DAY
from server.telemetry.rollup import rollup
from server.telemetry.scheduler import RollupScheduler
from server.telemetry.store import TelemetryStore

AKISMET = ("wp-plugin/akismet", "5.3.1.0")
FIELDS = {"events", "packages", "days", "batches", "pruned_seen", "pruned_salts", "seconds"}


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG, logger="server.telemetry"):
        yield caplog


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_rollup_logs_its_numbers_as_fields(
    runtime_engine: Engine, clock: FakeClock, logged: pytest.LogCaptureFixture
) -> None:
    store = TelemetryStore(runtime_engine, clock=clock)
    store.record("198.51.100.1", [AKISMET, ("wp-plugin/other", "1.0.0.0")])
    store.record("198.51.100.2", [AKISMET])
    clock.advance(DAY)
    store.record("198.51.100.3", [AKISMET])
    store.record("198.51.100.4", [AKISMET])
    result = rollup(runtime_engine, clock=clock, batch=2)
    [record] = events(logged, "rollup.finished")
    assert record.levelno == logging.INFO and record.name == "server.telemetry"
    fields = record_fields(record)
    assert set(fields) == FIELDS | {"event"}
    assert {k: fields[k] for k in FIELDS - {"seconds"}} == {
        "events": 5,
        "packages": 2,
        "days": 2,
        "batches": 3,  # 2 + 2 + 1 installs
        "pruned_seen": 0,
        "pruned_salts": 0,
    }
    assert isinstance(fields["seconds"], float) and fields["seconds"] >= 0
    assert (result.events, result.packages, result.days, result.batches) == (5, 2, 2, 3)
    assert record.getMessage().startswith("rollup: 5 installs of 2 packages over 2 days in ")
    # what a JSON log line (stderr with --log-format json, --log-file) holds
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "rollup.finished" and line["events"] == 5 and line["days"] == 2

    # two days later the dedup rows and past salts go
    logged.clear()
    clock.advance(2 * DAY)
    seen, salts = count(runtime_engine, schema.seen), count(runtime_engine, schema.salts)
    pruned = rollup(runtime_engine, clock=clock)
    [record] = events(logged, "rollup.finished")
    assert record.levelno == logging.INFO  # nothing rolled up, but pruned
    fields = record_fields(record)
    assert (fields["events"], fields["days"], fields["batches"]) == (0, 0, 0)
    assert fields["pruned_seen"] == seen - count(runtime_engine, schema.seen) > 0
    assert fields["pruned_salts"] == salts - count(runtime_engine, schema.salts) > 0
    assert (pruned.pruned_seen, pruned.pruned_salts) == (
        fields["pruned_seen"],
        fields["pruned_salts"],
    )

    # nothing at all: the same record, at DEBUG
    logged.clear()
    rollup(runtime_engine, clock=clock)
    [record] = events(logged, "rollup.finished")
    assert record.levelno == logging.DEBUG
    assert record_fields(record)["events"] == 0 and record_fields(record)["pruned_seen"] == 0


def test_the_scheduler_logs_a_failure_with_fields(
    runtime_engine: Engine, clock: FakeClock, logged: pytest.LogCaptureFixture
) -> None:
    store = TelemetryStore(runtime_engine, clock=clock)
    store.record("198.51.100.1", [AKISMET])
    scheduler = RollupScheduler(store, 90)
    assert scheduler.run_once() is not None
    [done] = events(logged, "rollup.finished")  # logged once, by the rollup
    assert record_fields(done)["events"] == 1
    with runtime_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE telemetry_events"))
    assert scheduler.run_once() is None
    [failed] = events(logged, "rollup.failed")
    assert failed.levelno == logging.ERROR and failed.exc_info is not None
    fields = record_fields(failed)
    assert fields["retry_in"] == 90 and fields["error"].split(":")[0] in {
        "OperationalError",
        "ProgrammingError",
    }
    assert "telemetry_events" in fields["error"]
    assert failed.getMessage() == "rollup failed; retrying in 90 s"


def test_curator_telemetry_rollup_emits_a_json_line_with_the_fields(
    tmp_path: Path, clock: FakeClock
) -> None:
    storage = tmp_path / "storage"
    runner = CliRunner()
    args = ["--log-format", "json", "--storage", str(storage), "telemetry"]
    assert runner.invoke(cli, [*args, "migrate"]).exit_code == 0
    engine = make_engine(default_url(storage))
    try:
        TelemetryStore(engine, clock=clock).record("198.51.100.1", [AKISMET])
    finally:
        engine.dispose()
    result = runner.invoke(cli, [*args, "rollup"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [line] = [x for x in lines if x.get("event") == "rollup.finished"]
    assert line["logger"] == "server.telemetry" and line["level"] == "INFO"
    assert {k: line[k] for k in ("events", "packages", "days", "batches")} == {
        "events": 1,
        "packages": 1,
        "days": 1,
        "batches": 1,
    }
    assert "seconds" in line and "pruned_seen" in line and "pruned_salts" in line
