"""``curator serve`` builds its settings from options and the global ``--storage``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import server.cli
from curator.cli._context import Settings


def test_serve_passes_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=app)

    monkeypatch.setattr(server.cli.uvicorn, "run", fake_run)
    obj = Settings(repo=None, prefix=None, ref=None, verbose=0, quiet=False, storage=tmp_path)
    result = CliRunner().invoke(
        server.cli.serve, ["--port", "9001", "--trusted-proxy", "10.0.0.1"], obj=obj
    )
    assert result.exit_code == 0, result.output
    assert seen["port"] == 9001 and seen["host"] == "127.0.0.1"
    assert seen["forwarded_allow_ips"] == ["10.0.0.1"]
    site = seen["app"].state["site"]
    assert site.settings.storage == tmp_path
