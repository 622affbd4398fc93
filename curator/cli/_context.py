"""Global options shared by every command, resolved lazily (no I/O until a command needs it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from curator.datarepo import DataRepo


@dataclass
class Settings:
    repo: Path | None
    prefix: str | None
    ref: str | None
    verbose: int
    quiet: bool
    storage: Path | None = None  # local build storage (--storage); None: ./storage

    def open_repo(self) -> DataRepo:
        return DataRepo.open(self.repo, self.prefix, self.ref)


pass_settings = click.make_pass_decorator(Settings)
