"""The production setup of the README: the systemd units (``systemd-analyze verify``, their
hardening and commands), the environment file, and nginx (deploy/nginx/curator.conf) in front
of a real ``curator serve --with-scheduler`` that syncs, builds and promotes by itself, with
JSON logs on stderr and in a file."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from curator import signing
from curator.cli import cli
from curator.replay import ReplayServer, ReplayState
from server.runtime.migrate import head

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "deploy" / "systemd"
NGINX_CONF = ROOT / "deploy" / "nginx" / "curator.conf"
CURATOR = str(Path(sys.executable).with_name("curator"))
INSTALLED = "/opt/curator/venv/bin/curator"
UNITS = sorted(p.name for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer"))


def need(program: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{program} is not installed (scripts/setup installs it)", pytrace=False)
    return found


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> values (keys may repeat, as systemd allows)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (SYSTEMD / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    for name in UNITS:  # the installed path of curator is this test's console script
        text = (SYSTEMD / name).read_text().replace(INSTALLED, CURATOR)
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", *UNITS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no unknown keys, no bad values
    assert set(UNITS) >= {
        "curator-serve.service",
        "curator-pipeline.service",
        "curator-pipeline.timer",
        "curator-rollup.service",
        "curator-rollup.timer",
    }


def test_services_are_hardened_and_share_one_environment() -> None:
    for name in (n for n in UNITS if n.endswith(".service")):
        service = unit(name)["Service"]
        assert service["User"] == ["curator"] and service["NoNewPrivileges"] == ["yes"], name
        assert service["ProtectSystem"] == ["strict"] and service["PrivateTmp"] == ["yes"], name
        assert "/var/lib/curator" in service["ReadWritePaths"][0].split(), name
        assert service["EnvironmentFile"] == ["/etc/curator/curator.env"], name
        assert service["CapabilityBoundingSet"] == [""], name
    serve = unit("curator-serve.service")
    assert serve["Service"]["Restart"] == ["on-failure"]
    assert serve["Install"]["WantedBy"] == ["multi-user.target"]
    pipeline = unit("curator-pipeline.service")["Service"]
    assert pipeline["Type"] == ["oneshot"] and pipeline["SuccessExitStatus"] == ["1"]


def test_timers_catch_up_and_spread_their_start() -> None:
    pipeline = unit("curator-pipeline.timer")["Timer"]
    assert pipeline["OnCalendar"] == ["hourly"] and pipeline["Persistent"] == ["true"]
    assert pipeline["RandomizedDelaySec"] == ["10min"]
    rollup = unit("curator-rollup.timer")["Timer"]
    assert rollup["Persistent"] == ["true"] and rollup["OnCalendar"] == ["*:0/5"]
    for name in (n for n in UNITS if n.endswith(".timer")):
        assert unit(name)["Install"]["WantedBy"] == ["timers.target"], name
        assert (SYSTEMD / name.replace(".timer", ".service")).is_file(), name


def test_every_curator_command_line_of_the_units_parses() -> None:
    commands = [
        shlex.split(line)
        for name in UNITS
        for section in unit(name).values()
        for key in ("ExecStart", "ExecStartPost")
        for line in section.get(key, [])
        if line.startswith(INSTALLED)
    ]
    for raw in (SYSTEMD / "curator-serve.service").read_text().splitlines():
        if raw.startswith("#") and INSTALLED in raw:  # the commented alternative too
            commands.append(shlex.split(raw.split("=", 1)[1]))
    assert len(commands) >= 4
    for args in commands:
        result = CliRunner().invoke(cli, [*args[1:], "--help"])
        assert result.exit_code == 0, f"{shlex.join(args)}: {result.output}"


def _envvars(command: click.Command) -> set[str]:
    found = {
        name
        for param in command.params
        for name in ([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    }
    if isinstance(command, click.Group):  # commands may load lazily: ask the group
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            found |= _envvars(sub)
    return found


def test_the_environment_file_names_variables_curator_reads() -> None:
    text = (SYSTEMD / "curator.env.example").read_text()
    names = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    known = _envvars(cli) | {signing.KEY_ENV, signing.KEY_FILE_ENV}
    curator_names = {n for n in names if n.startswith("CURATOR_")}
    assert curator_names <= known, curator_names - known
    assert {"CURATOR_REPO", "CURATOR_STORAGE", "CURATOR_DATABASE_URL"} <= curator_names
    assert {"CURATOR_LOG_FORMAT", "CURATOR_LOG_FILE", "CURATOR_DEPLOY_TO"} <= curator_names
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CURATOR_S3_ENDPOINT"} <= names


# --- nginx in front of curator serve --with-scheduler ----------------------------------------


HSTS = "max-age=31536000"


def server_blocks(text: str) -> list[str]:
    """The top-level ``server { ... }`` blocks of an nginx site file, comments removed."""
    text = re.sub(r"#[^\n]*", "", text)
    return re.findall(r"^server \{\n.*?^\}$", text, flags=re.DOTALL | re.MULTILINE)


def test_nginx_sends_hsts_on_the_tls_side_only() -> None:
    plain, tls = server_blocks(NGINX_CONF.read_text())
    assert "listen 80;" in plain and "listen 443 ssl" in tls
    assert "Strict-Transport-Security" not in plain  # HSTS over plain HTTP is meaningless
    header = f'add_header Strict-Transport-Security "{HSTS}" always;'
    server_level = re.sub(r"\n    location [^{]*\{.*?\n    \}", "", tls, flags=re.DOTALL)
    assert header in server_level
    # a location with any add_header of its own inherits none: it must repeat HSTS
    locations = re.findall(r"\n    location [^{]*\{.*?\n    \}", tls, flags=re.DOTALL)
    assert len(locations) >= 6
    for location in locations:
        if "add_header" in location:
            assert header in location, location


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_config(tmp: Path, port: int, app_port: int, root: Path) -> Path:
    """deploy/nginx/curator.conf on plain HTTP at ``port``, in a throw-away nginx.conf."""
    site = NGINX_CONF.read_text()
    site = re.sub(r"server \{\s*listen 80;.*?\n\}\n", "", site, count=1, flags=re.DOTALL)
    site = re.sub(r"\s*listen \[::\]:443 ssl http2;", "", site)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    site = re.sub(r"\s*ssl_certificate(_key)? [^;]+;", "", site)
    site = site.replace("/var/lib/curator/storage/repository/current", str(root))
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
    assert "ssl" not in site and str(root) in site
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{site}
}}
"""
    )
    return conf


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as server:
        yield server


def wait_until(what: str, check: object, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if callable(check) and check():
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what}: timed out (exit status {proc.poll()})")
        time.sleep(0.1)


def test_nginx_serves_the_builds_the_scheduler_promotes(
    tmp_path: Path, replay: ReplayServer
) -> None:
    nginx = need("nginx")
    data, storage = tmp_path / "data", tmp_path / "storage"
    init = CliRunner().invoke(
        cli, ["init", str(data), "--prefix", "", "--upstream", replay.base_url]
    )
    assert init.exit_code == 0, init.output
    (storage / "repository").mkdir(parents=True)
    app_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "CURATOR_REPO": str(data),
        "CURATOR_STORAGE": str(storage),
        "CURATOR_LOG_FORMAT": "json",
        "CURATOR_LOG_FILE": str(tmp_path / "curator.log"),
    }
    serve_args = ["serve", "--port", str(app_port), "--with-scheduler", "--pipeline-interval", "1"]
    stderr = (tmp_path / "serve.stderr").open("wb")
    app = subprocess.Popen([CURATOR, *serve_args], env=env, stderr=stderr)
    conf = nginx_config(tmp_path, port, app_port, storage / "repository" / "current")
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"])
    base = f"http://127.0.0.1:{port}"
    try:
        # no build yet: the server starts anyway, and promotes one by itself
        wait_until("curator serve", lambda: httpx.get(f"{base}/health").status_code, app, 30)
        wait_until("promotion", lambda: httpx.get(f"{base}/health").status_code == 200, app, 30)

        p2 = httpx.get(f"{base}/p2/wp-plugin/akismet.json")
        assert p2.status_code == 200 and p2.headers["server"].startswith("nginx")
        assert p2.headers["cache-control"] == "public, max-age=300"
        assert p2.json()["packages"]["wp-plugin/akismet"]
        again = httpx.get(
            f"{base}/p2/wp-plugin/akismet.json",
            headers={"If-Modified-Since": p2.headers["last-modified"]},
        )
        assert again.status_code == 304
        entry = httpx.get(f"{base}/packages.json")
        assert entry.headers["cache-control"] == "public, max-age=60, must-revalidate"
        assert entry.json()["metadata-url"] == "/p2/%package%.json"
        missing = httpx.get(f"{base}/p2/wp-plugin/no-such-plugin.json")
        assert missing.status_code == 404
        page = httpx.get(f"{base}/packages/wp-plugin/akismet")  # proxied to the app
        assert page.status_code == 200 and "akismet" in page.text.lower()
        health = httpx.get(f"{base}/health")
        assert health.json()["status"] == "ok"
        manifest = httpx.get(f"{base}/manifest.json")
        listing = httpx.get(f"{base}/list.json")
        # the TLS server block sends HSTS on every answer: files, 304s, 404s (always) and
        # the app's (locations with their own add_header repeat it)
        for answer in (p2, again, entry, missing, page, health, manifest, listing):
            assert answer.headers.get_list("strict-transport-security") == [HSTS], answer.url
    finally:
        proxy.send_signal(signal.SIGQUIT)  # nginx: graceful stop
        app.send_signal(signal.SIGTERM)  # as systemctl stop does
        proxy.wait(timeout=30)
        code = app.wait(timeout=60)
        stderr.close()
    # uvicorn shuts down gracefully, then re-raises SIGTERM: systemd counts that as clean
    assert code in (0, -signal.SIGTERM)

    lines = [json.loads(x) for x in (tmp_path / "curator.log").read_text().splitlines()]
    assert lines == [json.loads(x) for x in (tmp_path / "serve.stderr").read_text().splitlines()]
    events = [x.get("event") for x in lines]
    assert "build.promoted" in events and events.count("pipeline.finished") >= 1
    assert events[-1] is None and "scheduler.stopped" in events  # then uvicorn's last words
    assert "Application shutdown complete." in [x["message"] for x in lines]
    access = [x for x in lines if x["logger"] == "uvicorn.access"]
    assert {x["path"] for x in access} >= {"/health", "/packages/wp-plugin/akismet"}
    assert all(x["method"] == "GET" and isinstance(x["status"], int) for x in access)
    assert not any(x["path"].startswith("/p2/") for x in access)  # nginx served those


def test_the_backup_unit_copies_a_live_wal_database(tmp_path: Path) -> None:
    need("sqlite3")
    storage, backups = tmp_path / "storage", tmp_path / "backups"
    backups.mkdir()
    migrate = CliRunner().invoke(cli, ["--storage", str(storage), "telemetry", "migrate"])
    assert migrate.exit_code == 0, migrate.output
    database = storage / "runtime" / "runtime.sqlite3"
    (line,) = unit("curator-backup.service")["Service"]["ExecStart"]
    command = line.replace("%%", "%").replace("/var/lib/curator/backups", str(backups))
    with sqlite3.connect(database) as live:  # the server holds the database open, in WAL mode
        assert live.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        live.execute("CREATE TABLE marker (note TEXT)")
        live.execute("INSERT INTO marker VALUES ('written before the backup')")
        live.commit()
        assert (database.parent / "runtime.sqlite3-wal").stat().st_size > 0
        result = subprocess.run(
            shlex.split(command),
            env={**os.environ, "CURATOR_STORAGE": str(storage)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    (copy,) = backups.glob("runtime-*.sqlite3")
    with sqlite3.connect(copy) as restored:
        assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert restored.execute("SELECT note FROM marker").fetchall() == [
            ("written before the backup",)
        ]
        (revision,) = restored.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == head()
