"""Logging set-up of every ``curator`` command: human-readable or JSON lines, stderr and a file.

Options (global, on the ``curator`` group; see :func:`log_options`):

- ``--log-format text|json`` (env ``CURATOR_LOG_FORMAT``): what goes to stderr. ``text``
  (default) is one readable line per record, its structured fields appended as
  ``key=value``; ``json`` is one JSON object per line (for journald, a log shipper).
- ``--log-file PATH`` (env ``CURATOR_LOG_FILE``): also append JSON lines to ``PATH``,
  through a :class:`logging.handlers.WatchedFileHandler`, so ``logrotate`` may move the file
  away at any time (the next record reopens it).
- ``--log-level debug|info|warning|error`` (env ``CURATOR_LOG_LEVEL``): one level for every
  destination. Without it: ``warning`` for text on stderr (``-v`` info, ``-vv`` debug),
  ``info`` for JSON and for the file; long-running services (``curator serve``) call
  :meth:`LogSetup.service_defaults` to show ``info`` on stderr too.

A JSON line is ``{"time", "level", "logger", "message", ...}``: the time in UTC with
milliseconds (``2024-05-01T12:00:00.123Z``), then every field passed with ``extra=`` (an
``"event"`` name such as ``"sync.finished"`` and its numbers), then ``"exception"`` with the
traceback if there is one. Fields whose names start with ``_`` are never emitted.

Only the handlers installed here are replaced when a command configures logging again (tests
run many commands in one process); handlers that others attach to the root logger (pytest's,
the server's admin log buffer) are left alone. uvicorn's loggers propagate into the same
handlers when ``curator serve`` runs it with ``log_config=None``
(:func:`uvicorn_access_fields` adds the request's fields to its access records).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TextIO, TypeVar, cast

import click

LogFormat = Literal["text", "json"]
FORMATS: Final = ("text", "json")
LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
META_KEY: Final = "curator.logs"
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# chatty libraries: one INFO line per HTTP request or credential lookup
QUIET_LOGGERS: Final = ("httpx", "httpcore", "botocore", "boto3", "s3transfer", "urllib3")

_MARK: Final = "_curator_handler"
_FIELDS_IN_MESSAGE: Final = "_fields_in_message"
# attributes of every record, and uvicorn's copy of its message with terminal colours
_RESERVED: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of ``record``: what was passed with ``extra=``."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RESERVED and not key.startswith("_")
    }


def _iso(created: float) -> str:
    when = dt.datetime.fromtimestamp(created, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record_fields(record).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return _dumps(data)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` (values that are not plain words as JSON)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if getattr(record, _FIELDS_IN_MESSAGE, False):
            return line
        parts = [f"{key}={_text_value(value)}" for key, value in record_fields(record).items()]
        return f"{line} {' '.join(parts)}" if parts else line


def _text_value(value: Any) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in "\"'=" for c in value):
        return value
    return _dumps(value)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of the record (click's test runner
    and pytest swap it), never to a stream closed since."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def uvicorn_access_fields(record: logging.LogRecord) -> bool:
    """A filter for ``uvicorn.access``: its record's arguments as fields (``client``,
    ``method``, ``path``, ``http_version``, ``status``); the text stays uvicorn's line."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        client, method, path, version, status = args
        record.__dict__.update(
            client=client,
            method=method,
            path=path,
            http_version=version,
            status=status,
            **{_FIELDS_IN_MESSAGE: True},
        )
    return True


@dataclass
class LogSetup:
    """What :func:`configure` installed, so a service can adjust its defaults."""

    log_format: LogFormat
    file: Path | None
    explicit_level: int | None
    verbose: int
    handlers: list[logging.Handler] = field(default_factory=list)
    stderr: logging.Handler | None = None

    def stderr_level(self, default: int) -> int:
        if self.explicit_level is not None:
            return self.explicit_level
        return max(default - 10 * self.verbose, logging.DEBUG)

    @property
    def level(self) -> int:
        """The lowest level any destination shows (the root logger's level)."""
        return logging.getLogger().level

    def service_defaults(self) -> None:
        """A long-running service shows ``info`` on stderr unless a level was chosen."""
        if self.explicit_level is None and self.stderr is not None:
            level = min(self.stderr.level, logging.INFO)
            self.stderr.setLevel(level)
            root = logging.getLogger()
            root.setLevel(min(root.level, level))


def _remove_ours(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()


def configure(
    *,
    log_format: LogFormat = "text",
    file: Path | None = None,
    level: str | None = None,
    verbose: int = 0,
) -> LogSetup:
    """(Re)configure the root logger; returns what was installed.

    Raises :class:`OSError` when ``file`` cannot be opened for appending.
    """
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r} (use text or json)")
    explicit = None if level is None else LEVELS[level.lower()]
    setup = LogSetup(log_format, file, explicit, verbose)
    file_handler: logging.Handler | None = None
    if file is not None:
        file_handler = logging.handlers.WatchedFileHandler(file, mode="a", encoding="utf-8")
    root = logging.getLogger()
    _remove_ours(root)

    stderr = StderrHandler()
    stderr.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    stderr.setLevel(setup.stderr_level(logging.INFO if log_format == "json" else logging.WARNING))
    setup.stderr = stderr
    setup.handlers.append(stderr)
    if file_handler is not None:
        file_handler.setFormatter(JsonFormatter())
        file_handler.setLevel(explicit if explicit is not None else min(logging.INFO, stderr.level))
        setup.handlers.append(file_handler)
    for handler in setup.handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(min(h.level for h in setup.handlers))
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    access = logging.getLogger("uvicorn.access")
    if uvicorn_access_fields not in access.filters:
        access.addFilter(uvicorn_access_fields)
    return setup


def current(ctx: click.Context | None) -> LogSetup | None:
    """The set-up the ``curator`` group made for this invocation, if any."""
    if ctx is None:
        return None
    found = ctx.meta.get(META_KEY)
    return found if isinstance(found, LogSetup) else None


# --- click options -------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])
_OPTIONS_KEY: Final = "curator.logs.options"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    options: dict[str, Any] = ctx.meta.setdefault(_OPTIONS_KEY, {})
    assert param.name is not None
    options[param.name] = value
    return value


def log_options(func: F) -> F:
    """``--log-format``, ``--log-file``, ``--log-level``; read by :func:`configure_from`."""
    func = click.option(
        "--log-level",
        type=click.Choice(list(LEVELS), case_sensitive=False),
        envvar="CURATOR_LOG_LEVEL",
        expose_value=False,
        callback=_remember,
        help="Log level of every destination (default: warning on a text stderr, -v info, "
        "-vv debug; info for JSON and the log file).",
    )(func)
    func = click.option(
        "--log-file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="CURATOR_LOG_FILE",
        expose_value=False,
        callback=_remember,
        help="Also append JSON lines to this file (reopened after logrotate moves it).",
    )(func)
    func = click.option(
        "--log-format",
        type=click.Choice(list(FORMATS), case_sensitive=False),
        envvar="CURATOR_LOG_FORMAT",
        default="text",
        show_default=True,
        expose_value=False,
        callback=_remember,
        help="Log lines on stderr: readable text or JSON objects.",
    )(func)
    return func


def configure_from(ctx: click.Context, verbose: int) -> LogSetup:
    """Configure logging from the options of :func:`log_options` (a bad file: usage error)."""
    options: Mapping[str, Any] = ctx.meta.get(_OPTIONS_KEY, {})
    file = options.get("log_file")
    try:
        setup = configure(
            log_format=cast(LogFormat, (options.get("log_format") or "text").lower()),
            file=file,
            level=options.get("log_level"),
            verbose=verbose,
        )
    except OSError as exc:
        raise click.BadParameter(
            f"cannot append to {file}: {exc.strerror or exc}", param_hint="--log-file"
        ) from exc
    ctx.meta[META_KEY] = setup
    return setup
