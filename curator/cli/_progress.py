"""A rich progress bar on stderr implementing :class:`curator.sync.Progress`."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from curator.layout import PackageType
from curator.records import Change


def _bar(console: Console, *, enabled: bool, transient: bool, failed: bool = False) -> Progress:
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    if failed:
        columns.append(TextColumn("{task.fields[failed]} failed"))
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=console, disable=not enabled, transient=transient)


class _Shown:
    """Starts and stops a rich bar around a ``with`` block."""

    _bar: Progress

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()


class BarProgress(_Shown):
    """The sync's bar: packages fetched, and how many failed."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self._bar = _bar(self.console, enabled=enabled, transient=False, failed=True)
        self._task: TaskID | None = None
        self._failed = 0
        self.enabled = enabled

    def stage(self, text: str) -> None:
        if self.enabled:
            self.console.print(f"[dim]{text}[/dim]")

    def start(self, total: int) -> None:
        self._task = self._bar.add_task("sync", total=total, failed=0)

    def advance(self, kind: PackageType, slug: str, change: Change) -> None:
        if self._task is None:
            return
        if change is Change.FAILED:
            self._failed += 1
        self._bar.update(self._task, advance=1, failed=self._failed)


class CountBar(_Shown):
    """A rich bar for one counted job on stderr (``rendering``, ``uploading``); disabled, it
    does nothing. ``set`` and ``advance`` are thread-safe (rich locks its tasks)."""

    def __init__(self, description: str, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = _bar(Console(stderr=True), enabled=enabled, transient=True)
        self._description = description
        self._task: TaskID | None = None

    def set(self, done: int, total: int) -> None:
        """``done`` of ``total`` (the total may be learnt late)."""
        if self._task is None:
            self._task = self._bar.add_task(self._description, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def start(self, total: int) -> None:
        if self._task is None:
            self._task = self._bar.add_task(self._description, total=total)

    def advance(self, _path: str = "", _size: int = 0) -> None:
        """One more done (signature of a deploy's ``on_upload`` hook)."""
        if self._task is not None:
            self._bar.update(self._task, advance=1)
