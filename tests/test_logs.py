"""Structured logs: text or JSON lines on stderr, JSON lines appended to a file (logrotate-safe),
levels, and the global ``--log-*`` options of every ``curator`` command."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from curator import logs
from curator.cli import cli
from curator.replay import ReplayServer, ReplayState

TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    """Each test configures logging; the root logger is put back as it was afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def record(message: str = "hello %s", *args: Any, **extra: Any) -> logging.LogRecord:
    item = logging.LogRecord("curator.test", logging.INFO, __file__, 1, message, args, None)
    item.__dict__.update(extra)
    return item


def test_json_lines_carry_time_level_logger_message_and_fields() -> None:
    line = logs.JsonFormatter().format(
        record("run %s", "r1", event="sync.finished", counts={"added": 2}, _private=1)
    )
    data = json.loads(line)
    assert list(data)[:4] == ["time", "level", "logger", "message"]
    assert data["level"] == "INFO" and data["logger"] == "curator.test"
    assert data["message"] == "run r1"
    assert data["event"] == "sync.finished" and data["counts"] == {"added": 2}
    assert "_private" not in data and "\n" not in line
    import re

    assert re.match(TIME_RE, data["time"]), data["time"]


def test_json_lines_hold_the_traceback_and_odd_values() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        item = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    item.__dict__["path"] = Path("/tmp/a b")
    line = logs.JsonFormatter().format(item)
    data = json.loads(line)
    assert "\n" not in line  # one record, one line, whatever the message holds
    assert data["exception"].startswith("Traceback") and "ValueError: boom" in data["exception"]
    assert data["path"] == "/tmp/a b"


def test_text_lines_append_fields_as_key_value() -> None:
    formatter = logs.TextFormatter()
    line = formatter.format(record("done", event="build.finished", seconds=1.5, note="two words"))
    assert line.endswith('curator.test: done event=build.finished seconds=1.5 note="two words"')
    assert formatter.format(record("plain")).endswith("curator.test: plain")


def test_uvicorn_access_records_get_request_fields_but_keep_their_line() -> None:
    args = ("127.0.0.1:5000", "GET", "/p2/wp-plugin/akismet.json", "1.1", 304)
    item = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )
    assert logs.uvicorn_access_fields(item)
    text = logs.TextFormatter().format(item)
    assert text.endswith('127.0.0.1:5000 - "GET /p2/wp-plugin/akismet.json HTTP/1.1" 304')
    data = json.loads(logs.JsonFormatter().format(item))
    assert data["method"] == "GET" and data["status"] == 304
    assert data["path"] == "/p2/wp-plugin/akismet.json" and data["client"] == "127.0.0.1:5000"


def test_default_levels_and_explicit_level() -> None:
    setup = logs.configure()
    assert setup.stderr is not None and setup.stderr.level == logging.WARNING
    assert logs.configure(verbose=1).stderr_level(logging.WARNING) == logging.INFO
    assert logs.configure(verbose=5).stderr_level(logging.WARNING) == logging.DEBUG
    setup = logs.configure(log_format="json")
    assert setup.stderr is not None and setup.stderr.level == logging.INFO
    setup = logs.configure(level="error")
    setup.service_defaults()  # an explicit level is kept by services too
    assert setup.stderr is not None and setup.stderr.level == logging.ERROR
    setup = logs.configure()
    setup.service_defaults()
    assert setup.stderr is not None and setup.stderr.level == logging.INFO
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("httpx").level == logging.WARNING  # one line per request: no
    with pytest.raises(ValueError, match="unknown log format"):
        logs.configure(log_format="xml")  # type: ignore[arg-type]


def test_reconfiguring_replaces_only_our_handlers(tmp_path: Path) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    logs.configure(file=tmp_path / "a.log")
    logs.configure(file=tmp_path / "b.log")
    ours = [h for h in root.handlers if getattr(h, "_curator_handler", False)]
    assert len(ours) == 2  # stderr + b.log
    assert foreign in root.handlers
    root.removeHandler(foreign)


def test_the_file_gets_json_lines_and_survives_logrotate(tmp_path: Path) -> None:
    path = tmp_path / "curator.log"
    path.write_text('{"old": "line"}\n')
    logs.configure(file=path)  # text on stderr, JSON in the file (at info by default)
    log = logging.getLogger("curator.test")
    log.info("first", extra={"event": "one"})
    log.debug("not shown")
    os.rename(path, tmp_path / "curator.log.1")  # logrotate moves the file away
    log.warning("second", extra={"event": "two"})
    rotated = (tmp_path / "curator.log.1").read_text().splitlines()
    assert rotated[0] == '{"old": "line"}'  # appended, never truncated
    assert [json.loads(x)["event"] for x in rotated[1:]] == ["one"]
    fresh = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(x["message"], x["level"]) for x in fresh] == [("second", "WARNING")]


def test_stderr_follows_the_current_stream(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(log_format="json")
    logging.getLogger("curator.test").info("to stderr", extra={"n": 1})
    err = capsys.readouterr().err
    assert json.loads(err.splitlines()[-1])["n"] == 1


# --- the global options --------------------------------------------------------------------


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


def test_pipeline_logs_its_steps_as_json(tmp_path: Path, replay: ReplayServer) -> None:
    data = tmp_path / "data"
    init = CliRunner().invoke(
        cli, ["init", str(data), "--prefix", "", "--upstream", replay.base_url]
    )
    assert init.exit_code == 0, init.output
    log_file = tmp_path / "pipeline.log"
    args = ["--repo", str(data), "--storage", str(tmp_path / "storage"), "--log-format", "json"]
    result = CliRunner().invoke(cli, [*args, "--log-file", str(log_file), "-q", "pipeline"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    events = {x["event"]: x for x in lines if "event" in x}
    assert {"pipeline.started", "sync.finished", "build.finished", "build.promoted"} <= set(events)
    sync = events["sync.finished"]
    assert sync["counts"]["added"] == 29 and len(sync["run_id"]) == 32 and sync["failed"] == 0
    build = events["build.finished"]
    assert build["packages"] == 29 and build["build_id"].endswith(sync["commit"][:12])
    assert events["pipeline.finished"]["build_id"] == build["build_id"]
    in_file = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert [x.get("event") for x in in_file] == [x.get("event") for x in lines]


def test_environment_selects_format_and_level(tmp_path: Path) -> None:
    env = {"CURATOR_LOG_FORMAT": "json", "CURATOR_LOG_LEVEL": "debug"}
    result = CliRunner().invoke(cli, ["log", "--help"], env=env)
    assert result.exit_code == 0
    setup = logging.getLogger().handlers[-1]
    assert isinstance(setup.formatter, logs.JsonFormatter) and setup.level == logging.DEBUG


def test_a_log_file_that_cannot_be_opened_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.log"
    result = CliRunner().invoke(cli, ["--log-file", str(missing), "log"])
    assert result.exit_code == 2
    assert "--log-file" in result.output and "No such file or directory" in result.output
    bad = CliRunner().invoke(cli, ["--log-format", "xml", "log"])
    assert bad.exit_code == 2 and "xml" in bad.output
