"""``curator serve`` builds its settings from options and the global ``--storage``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import server.cli
from curator.cli._context import Settings
from server.runtime.engine import default_url


def fake_serve(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, shutdown: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=app, shutdown=shutdown)

    monkeypatch.setattr("server.cli.run_server", fake_run)
    return seen


def test_serve_passes_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = fake_serve(monkeypatch)
    obj = Settings(repo=None, prefix=None, ref=None, verbose=0, quiet=False, storage=tmp_path)
    result = CliRunner().invoke(
        server.cli.serve, ["--port", "9001", "--trusted-proxy", "10.0.0.1"], obj=obj
    )
    assert result.exit_code == 0, result.output
    assert seen["port"] == 9001 and seen["host"] == "127.0.0.1"
    # the app reads X-Forwarded-For itself (trusted proxies only): uvicorn must not
    assert seen["proxy_headers"] is False and "forwarded_allow_ips" not in seen
    settings = seen["app"].state["site"].settings
    assert settings.storage == tmp_path and settings.trusted_proxies == ("10.0.0.1",)
    assert settings.database_url == default_url(tmp_path)
    assert settings.rollup_interval is None
    assert seen["app"].state["scheduler"] is None
    # the server sets the app's own shutdown flag (it ends the admin log streams)
    assert seen["shutdown"] is seen["app"].state["shutdown"]
    assert settings.health_log_quiet == 300.0 and seen["app"].state["health_log"].quiet == 300.0


def test_serve_health_log_quiet_reaches_the_throttle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = fake_serve(monkeypatch)
    result = CliRunner().invoke(
        server.cli.serve, ["--storage", str(tmp_path), "--health-log-quiet", "42.5"]
    )
    assert result.exit_code == 0, result.output
    assert seen["app"].state["site"].settings.health_log_quiet == 42.5
    assert seen["app"].state["health_log"].quiet == 42.5


def test_serve_telemetry_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = fake_serve(monkeypatch)
    url = default_url(tmp_path / "db")
    result = CliRunner().invoke(
        server.cli.serve,
        [
            "--storage",
            str(tmp_path),
            "--database-url",
            url,
            "--with-scheduler",
            "--rollup-interval",
            "60",
            "--pipeline-interval",
            "0",
            "--trusted-proxy",
            "10.0.0.0/8",
        ],
    )
    assert result.exit_code == 0, result.output
    settings = seen["app"].state["site"].settings
    assert settings.database_url == url and settings.rollup_interval == 60.0
    assert seen["app"].state["scheduler"].interval == 60.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trusted-proxy", "proxy.example.org"], "not an IP address or network"),
        (["--database-url", "mysql://x@y/z"], "unsupported database"),
        (["--health-log-quiet", "0"], "'--health-log-quiet': must be a positive number"),
        (["--health-log-quiet", "-5"], "'--health-log-quiet': must be a positive number"),
        (["--health-log-quiet", "nan"], "'--health-log-quiet': must be a positive number"),
        (["--health-log-quiet", "soon"], "'--health-log-quiet': 'soon' is not a valid float"),
    ],
)
def test_serve_rejects_bad_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], message: str
) -> None:
    seen = fake_serve(monkeypatch)
    result = CliRunner().invoke(server.cli.serve, ["--storage", str(tmp_path), *args])
    assert result.exit_code == 2 and message in result.output
    assert seen == {}
