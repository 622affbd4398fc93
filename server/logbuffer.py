"""An in-process ring buffer of recent log records, for the admin logs viewer.

:class:`LogBuffer` is a :class:`logging.Handler` that keeps the last ``capacity`` records as
plain dicts::

    {"seq": 42, "time": "2026-11-10T12:00:00.123Z", "level": "WARNING",
     "logger": "server.admin", "message": "...", "extra": {"key": "value"}}

``seq`` numbers records of one buffer from 1 upwards (readers resume with ``after=seq``);
``extra`` holds the attributes a caller passed with ``logging``'s ``extra=`` (JSON-safe:
other values become their ``repr``), plus ``exc`` with the formatted traceback, if any.
Records of the loggers in ``exclude`` (default: ``uvicorn.access``, one line per request,
which would push everything else out of the buffer) are not kept below WARNING.

The buffer is owned by whoever makes it (the app factory makes one per app, attached while
the app runs); nothing is global. :meth:`LogBuffer.attach` adds it to a logger (default:
the root logger); :meth:`LogBuffer.lower_level` makes a logger pass records down to a level
(the root logger of ``curator serve`` is at WARNING; the app lowers ``server`` to INFO);
:meth:`LogBuffer.detach` undoes both. Other code (a structured-logging set-up, a scheduler)
may attach further handlers to the same loggers; this one only reads records.

API: ``LogBuffer(capacity, exclude=...)``, ``attach(logger=None)``, ``lower_level(logger, level)``,
``detach()``, ``records(level=0, after=0, limit=None) -> list[dict]`` (oldest first),
``snapshot(level, after, limit) -> (records, last_seq)``, ``last_seq``.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
from typing import Any, Final

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_MESSAGE: Final = 4000
MAX_VALUE: Final = 500
MAX_EXTRA: Final = 30

# attributes every LogRecord has: everything else was passed with ``extra=``
_STANDARD: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "taskName"}
)

LogEntry = dict[str, Any]


def level_number(name: str | None) -> int:
    """The number of a level name (``"warning"`` -> 30); 0 for None or an unknown name."""
    if not name:
        return 0
    upper = name.strip().upper()
    return int(logging.getLevelName(upper)) if upper in LEVELS else 0


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[:MAX_VALUE]
    return repr(value)[:MAX_VALUE]


class LogBuffer(logging.Handler):
    """The last ``capacity`` log records as dicts (see the module docstring)."""

    def __init__(
        self,
        capacity: int = 1000,
        level: int = logging.NOTSET,
        exclude: tuple[str, ...] = ("uvicorn.access",),
    ) -> None:
        if capacity <= 0:
            raise ValueError("the log buffer capacity must be positive")
        super().__init__(level)
        self._exclude = exclude
        self._entries: collections.deque[LogEntry] = collections.deque(maxlen=capacity)
        self._seq = 0
        self._entries_lock = threading.Lock()
        self._attached: list[logging.Logger] = []
        self._lowered: list[tuple[logging.Logger, int, int]] = []

    @property
    def last_seq(self) -> int:
        return self._seq

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and record.name in self._exclude:
            return
        try:
            extra = {
                k: _json_safe(v)
                for k, v in list(vars(record).items())[: len(_STANDARD) + MAX_EXTRA]
                if k not in _STANDARD and not k.startswith("_")
            }
            if record.exc_info:
                extra["exc"] = logging.Formatter().formatException(record.exc_info)[-8000:]
            when = dt.datetime.fromtimestamp(record.created, dt.UTC)
            entry: LogEntry = {
                "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
                "level": record.levelname,
                "levelno": record.levelno,
                "logger": record.name,
                "message": record.getMessage()[:MAX_MESSAGE],
                "extra": extra,
            }
        except Exception:
            self.handleError(record)
            return
        with self._entries_lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def snapshot(
        self, level: int = 0, after: int = 0, limit: int | None = None
    ) -> tuple[list[LogEntry], int]:
        """Records with ``seq > after`` at ``level`` or above, oldest first (the newest
        ``limit`` of them), and the last ``seq`` at the time of reading."""
        with self._entries_lock:
            found = [e for e in self._entries if e["seq"] > after and e["levelno"] >= level]
            last = self._seq
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found, last

    def records(self, level: int = 0, after: int = 0, limit: int | None = None) -> list[LogEntry]:
        """See :meth:`snapshot`."""
        return self.snapshot(level, after, limit)[0]

    def attach(self, logger: logging.Logger | None = None) -> None:
        """Add this handler to ``logger`` (default: the root logger)."""
        target = logger or logging.getLogger()
        if target not in self._attached:
            target.addHandler(self)
            self._attached.append(target)

    def lower_level(self, logger: logging.Logger, level: int) -> None:
        """Make ``logger`` pass records of ``level`` and above (only ever lowers its level);
        :meth:`detach` restores the old level unless someone changed it meanwhile."""
        if logger.getEffectiveLevel() > level:
            self._lowered.append((logger, logger.level, level))
            logger.setLevel(level)

    def detach(self) -> None:
        """Remove this handler from every logger it was attached to; restore levels."""
        while self._attached:
            self._attached.pop().removeHandler(self)
        while self._lowered:
            logger, previous, mine = self._lowered.pop()
            if logger.level == mine:
                logger.setLevel(previous)
