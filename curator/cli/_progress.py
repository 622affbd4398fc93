"""A rich progress bar on stderr implementing :class:`curator.sync.Progress`."""

from __future__ import annotations

from types import TracebackType

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


class BarProgress:
    def __init__(self, *, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID | None = None
        self._failed = 0
        self.enabled = enabled

    def __enter__(self) -> BarProgress:
        self._bar.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

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
