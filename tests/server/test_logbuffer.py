"""The in-process log buffer of the admin logs viewer: capacity, sequence numbers, level
filters, extra fields, tracebacks, and attaching/detaching without leaking state."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from server.logbuffer import LogBuffer, level_number


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.logbuffer")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()
    log.setLevel(logging.NOTSET)
    log.propagate = True


def test_keeps_the_last_records_with_sequence_numbers(logger: logging.Logger) -> None:
    buffer = LogBuffer(capacity=3)
    buffer.attach(logger)
    for n in range(5):
        logger.info("record %d", n)
    records = buffer.records()
    assert [r["message"] for r in records] == ["record 2", "record 3", "record 4"]
    assert [r["seq"] for r in records] == [3, 4, 5] and buffer.last_seq == 5
    assert [r["message"] for r in buffer.records(after=4)] == ["record 4"]
    assert [r["message"] for r in buffer.records(limit=1)] == ["record 4"]
    assert buffer.records(limit=0) == []
    first = records[0]
    assert first["level"] == "INFO" and first["logger"] == "tests.logbuffer"
    assert first["time"].endswith("Z") and len(first["time"]) == len("2026-01-01T00:00:00.000Z")
    buffer.detach()


def test_levels_extra_and_tracebacks(logger: logging.Logger) -> None:
    buffer = LogBuffer()
    buffer.attach(logger)
    logger.debug("debug")
    logger.warning("warn", extra={"build": "b1", "count": 3, "obj": object(), "_private": 1})
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    assert [r["message"] for r in buffer.records(level=level_number("warning"))] == [
        "warn",
        "failed",
    ]
    warn = buffer.records(level=logging.WARNING)[0]
    assert warn["extra"]["build"] == "b1" and warn["extra"]["count"] == 3
    assert warn["extra"]["obj"].startswith("<object object") and "_private" not in warn["extra"]
    failed = buffer.records(level=logging.ERROR)[0]
    assert "ValueError: boom" in failed["extra"]["exc"]
    logger.info("x" * 10_000)
    assert len(buffer.records()[-1]["message"]) == 4000
    buffer.detach()


def test_level_names() -> None:
    assert level_number("warning") == logging.WARNING and level_number(" ERROR ") == 40
    assert level_number(None) == 0 and level_number("bogus") == 0 and level_number("") == 0


def test_access_log_lines_are_not_kept() -> None:
    buffer = LogBuffer()
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord("uvicorn.access", logging.INFO, "f", 1, "GET / 200", (), None)
    buffer.handle(record)
    assert buffer.records() == []
    record = access.makeRecord("uvicorn.access", logging.WARNING, "f", 1, "odd", (), None)
    buffer.handle(record)
    assert len(buffer.records()) == 1


def test_attach_lower_level_and_detach_restore() -> None:
    root = logging.getLogger()
    server = logging.getLogger("server.tests.level")
    before_root_handlers = list(root.handlers)
    server.setLevel(logging.WARNING)
    buffer = LogBuffer()
    buffer.attach()
    buffer.attach()  # once only
    buffer.lower_level(server, logging.INFO)
    assert root.handlers.count(buffer) == 1 and server.level == logging.INFO
    server.info("seen")
    assert [r["message"] for r in buffer.records()] == ["seen"]
    buffer.detach()
    assert root.handlers == before_root_handlers and server.level == logging.WARNING
    server.warning("not seen")
    assert len(buffer.records()) == 1
    server.setLevel(logging.NOTSET)


def test_two_buffers_do_not_share_records(logger: logging.Logger) -> None:
    one, two = LogBuffer(), LogBuffer()
    one.attach(logger)
    logger.info("only one")
    two.attach(logger)
    one.detach()
    logger.info("only two")
    assert [r["message"] for r in one.records()] == ["only one"]
    assert [r["message"] for r in two.records()] == ["only two"]
    two.detach()


def test_threads(logger: logging.Logger) -> None:
    buffer = LogBuffer(capacity=10_000)
    buffer.attach(logger)

    def work() -> None:
        for n in range(500):
            logger.info("n=%d", n)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [r["seq"] for r in buffer.records()]
    assert seqs == list(range(1, 2001))
    buffer.detach()


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LogBuffer(capacity=0)
