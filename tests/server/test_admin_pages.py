"""The admin pages behind the sign-in: overview, sync runs (from commit trailers), builds with
promote and roll back (and the public packages.json following), overrides in effect,
telemetry totals (SQLite and PostgreSQL) and the logs viewer with its event stream."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_helpers import Client, add_user, csrf_of, signed_in
from litestar.testing import TestClient
from server_helpers import BuildMaker, FakeClock

from curator.datarepo import create
from curator.models import RegistryConfig
from curator.records import Change
from curator.runlog import MAX_LISTED_FAILURES, format_message, read_failures
from curator.storage.local import LocalStorage
from server.admin.settings import AdminSettings
from server.app import create_app
from server.runtime.engine import default_url
from server.settings import ServerSettings

AUTHOR = "curator-bot <bot@example.org>"


def make_client(storage: LocalStorage, clock: FakeClock, **options: Any) -> Client:
    database_url = options.pop("database_url", None) or default_url(storage.root)
    if options.pop("user", True):
        add_user(database_url)
    settings = ServerSettings(storage=storage.root, database_url=database_url, **options)
    return TestClient(create_app(settings, clock=clock))


@pytest.fixture
def admin_client(storage: LocalStorage, clock: FakeClock) -> Iterator[Client]:
    with make_client(storage, clock) as client:
        signed_in(client)
        yield client


def packages_label(client: Client) -> str:
    answer = client.get("/packages.json")
    assert answer.status_code == 200
    label: str = answer.json()["label"]
    return label


# --- overview and builds -------------------------------------------------------------------


def test_overview_shows_the_promoted_build(admin_client: Client, make_build: BuildMaker) -> None:
    empty = admin_client.get("/admin/")
    assert empty.status_code == 200 and "No build is promoted" in empty.text
    build_id = make_build(label="b1")
    page = admin_client.get("/admin/").text
    assert build_id in page and "No data repository is configured" in page
    assert re.search(r"<dt>Plugins</dt><dd>5</dd>", page)


def test_promote_and_roll_back_switch_the_public_repository(
    admin_client: Client, make_build: BuildMaker, storage: LocalStorage
) -> None:
    first = make_build(label="b1", time=1_790_000_000)
    second = make_build(label="b2", time=1_790_000_100)
    third = make_build(label="b3", time=1_790_000_200, promote=False)
    assert packages_label(admin_client) == "b2"
    page = admin_client.get("/admin/builds")
    text = page.text
    assert page.status_code == 200 and text.index(third) < text.index(second) < text.index(first)
    assert text.count("<td>valid</td>") == 3
    token = csrf_of(text)

    rolled = admin_client.post(
        "/admin/builds/rollback", data={"csrf_token": token}, follow_redirects=False
    )
    assert rolled.status_code == 303
    assert rolled.headers["location"] == f"/admin/builds?done=rollback&build={first}"
    assert packages_label(admin_client) == "b1" and storage.current() == first
    assert f"Rolled back to build {first}." in admin_client.get(rolled.headers["location"]).text

    promoted = admin_client.post(
        "/admin/builds/promote", data={"csrf_token": token, "build": third}, follow_redirects=False
    )
    assert promoted.status_code == 303 and packages_label(admin_client) == "b3"
    history = [(e["action"], e["build"]) for e in storage.history()]
    assert history[-2:] == [("rollback", first), ("promote", third)]
    logs = admin_client.get("/admin/logs?level=WARNING").text
    assert f"promote to build {third}" in logs and "admin@example.org" in logs


def test_invalid_builds_are_never_promoted(
    admin_client: Client, make_build: BuildMaker, storage: LocalStorage
) -> None:
    good = make_build(label="b1")
    bad = make_build(label="b2", promote=False)
    p2 = storage.build_path(bad) / "p2" / "wp-plugin" / "akismet.json"
    p2.write_bytes(p2.read_bytes() + b" ")
    page = admin_client.get("/admin/builds").text
    assert "invalid" in page and "akismet.json" in page
    token = csrf_of(page)
    answer = admin_client.post("/admin/builds/promote", data={"csrf_token": token, "build": bad})
    assert answer.status_code == 409 and "is not valid and was not promoted" in answer.text
    assert storage.current() == good and packages_label(admin_client) == "b1"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"build": "../../etc"}, 400, "Not a build id."),
        ({"build": ""}, 400, "Choose a build."),
        ({"build": "20990101T000000Z-missing"}, 404, "no build"),
    ],
)
def test_bad_promotions(
    admin_client: Client, make_build: BuildMaker, data: dict[str, str], status: int, message: str
) -> None:
    make_build(label="b1")
    token = csrf_of(admin_client.get("/admin/builds").text)
    answer = admin_client.post("/admin/builds/promote", data={"csrf_token": token, **data})
    assert answer.status_code == status and message in answer.text
    assert packages_label(admin_client) == "b1"


def test_nothing_to_roll_back_to(admin_client: Client, make_build: BuildMaker) -> None:
    make_build(label="b1")
    page = admin_client.get("/admin/builds").text
    assert "disabled>Roll back" in page  # the button is off without a previous build
    answer = admin_client.post("/admin/builds/rollback", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 409 and "nothing to roll back to" in answer.text


def test_done_message_ignores_hostile_parameters(admin_client: Client) -> None:
    page = admin_client.get("/admin/builds?done=promote&build=<script>x</script>").text
    assert "<script>x" not in page and "Promoted build" not in page


# --- sync runs -----------------------------------------------------------------------------


def _data_repo(path: Path) -> Path:
    repo = create(path, RegistryConfig(), author=AUTHOR, timestamp=1_790_000_000)
    failures = [(f"plugin/broken-{n}", "timeout after 30s") for n in range(MAX_LISTED_FAILURES + 5)]
    failures[0] = ("plugin/evil", "<script>alert(1)</script>")
    runs = [
        ({Change.ADDED: 3, Change.UPDATED: 1}, [], "run-one"),
        ({Change.UPDATED: 2, Change.FAILED: len(failures)}, failures, "run-two"),
    ]
    for n, (counts, failed, run_id) in enumerate(runs):
        repo.commit(
            parent=repo.head(),
            changes={"state/marker": str(n).encode()},
            message=format_message(
                counts=counts,
                sources=["svn log"],
                failures=failed,
                run_id=run_id,
                version="0.1.0",
                types=["plugin"],
            ),
            author=AUTHOR,
            timestamp=1_790_000_100 + n * 100,
        )
    repo.commit(  # not a sync run (a trustee's override): not listed
        parent=repo.head(),
        changes={"overrides/plugins/x.json": b"{}\n"},
        message="override: x\n",
        author=AUTHOR,
        timestamp=1_790_000_900,
    )
    return path


def test_sync_runs_from_commit_trailers(
    storage: LocalStorage, clock: FakeClock, tmp_path: Path
) -> None:
    with make_client(storage, clock, data_repo=_data_repo(tmp_path / "data.git")) as client:
        signed_in(client)
        page = client.get("/admin/sync-runs")
    text = page.text
    assert page.status_code == 200
    assert text.index("run-two") < text.index("run-one")  # newest first
    assert "override: x" not in text
    assert f"{MAX_LISTED_FAILURES + 5} failed packages" in text
    assert "plugin/broken-1</code>: timeout after 30s" in text
    assert "… and 5 more" in text
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text


def test_sync_runs_without_or_with_a_broken_repository(
    storage: LocalStorage, clock: FakeClock, tmp_path: Path
) -> None:
    with make_client(storage, clock) as client:
        signed_in(client)
        assert "No data repository is configured" in client.get("/admin/sync-runs").text
    with make_client(storage, clock, data_repo=tmp_path / "missing", user=False) as client:
        signed_in(client)
        page = client.get("/admin/sync-runs")
        assert page.status_code == 200 and "could not be read" in page.text


def test_read_failures_round_trip() -> None:
    failures = [(f"plugin/p{n}", f"why {n}: details") for n in range(MAX_LISTED_FAILURES + 2)]
    message = format_message(
        counts={Change.FAILED: len(failures)},
        sources=[],
        failures=failures,
        run_id="r",
        version="v",
        types=["plugin"],
    )
    listed, more = read_failures(message)
    assert listed == failures[:MAX_LISTED_FAILURES] and more == 2
    assert read_failures("sync: 1 added\n\nCurator-Run-Id: r\n") == ([], 0)


# --- overrides and telemetry ---------------------------------------------------------------


def test_overrides_in_effect(admin_client: Client, make_build: BuildMaker) -> None:
    assert "No build is promoted" in admin_client.get("/admin/overrides").text
    build_id = make_build(label="b1")
    page = admin_client.get("/admin/overrides").text
    assert "1 packages have overrides in effect" in page and build_id in page
    row = re.search(r'<tr><td><a href="/packages/wp-plugin/legacy-seo">.*?</tr>', page)
    assert row is not None
    assert "abandoned" in row.group(0) and "Replaced by the maintained fork" in row.group(0)
    assert "trustee-anna" in row.group(0) and "2026-10-01" in row.group(0)


def test_telemetry_totals(
    storage: LocalStorage, make_build: BuildMaker, clock: FakeClock, database_url: str
) -> None:
    make_build()
    with make_client(storage, clock, database_url=database_url) as client:
        signed_in(client)
        assert "No installs have been counted yet." in client.get("/admin/telemetry").text
        batch = {
            "downloads": [
                {"name": "wp-plugin/akismet", "version": "5.3.1"},
                {"name": "wp-plugin/contact-form-7", "version": "5.9.3"},
            ]
        }
        assert client.post("/downloads", json=batch).json()["accepted"] == 2
        client.app.state["telemetry"].rollup()
        # another client (the test client's own address is always the same)
        client.app.state["telemetry"].record("198.51.100.9", [("wp-plugin/akismet", "5.3.1.0")])
        page = client.get("/admin/telemetry").text
        facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
        assert facts["Composer installs, all time"] == "3"
        assert facts["Last 30 days"] == "3" and facts["Packages installed"] == "2"
        assert facts["Not rolled up yet"] in ("0", "1")
        assert page.index("wp-plugin/akismet") < page.index("wp-plugin/contact-form-7")
        overview = client.get("/admin/").text
        assert re.search(r"<dt>All time</dt><dd>3</dd>", overview)


# --- logs ----------------------------------------------------------------------------------


def test_logs_viewer_filters_by_level_and_escapes(admin_client: Client) -> None:
    log = logging.getLogger("server.tests")
    log.info("an info record")
    log.warning("a <b>warning</b> record", extra={"package": "wp-plugin/akismet"})
    everything = admin_client.get("/admin/logs?level=info").text
    assert "an info record" in everything and "a &lt;b&gt;warning&lt;/b&gt; record" in everything
    assert "package=wp-plugin/akismet" in everything
    assert everything.index("warning&lt;/b&gt;") < everything.index(
        "an info record"
    )  # newest first
    warnings = admin_client.get("/admin/logs?level=WARNING").text
    assert "an info record" not in warnings and "warning&lt;/b&gt;" in warnings
    assert '<option value="WARNING" selected>' in warnings
    assert admin_client.get("/admin/logs?level=bogus").status_code == 200  # falls back to INFO
    assert '<script src="/static/admin-logs.js"></script>' in warnings
    script = admin_client.get("/static/admin-logs.js")
    assert script.status_code == 200 and "EventSource" in script.text


def events_of(body: str) -> list[dict[str, Any]]:
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "log":
            out.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return out


def test_logs_stream_sends_new_records_as_server_sent_events(
    storage: LocalStorage, clock: FakeClock
) -> None:
    with make_client(storage, clock, admin=AdminSettings(stream_seconds=0.6)) as client:
        signed_in(client)
        log = logging.getLogger("server.tests")
        log.warning("first streamed")
        log.error("second streamed", extra={"build": "b1"})
        log.info("quiet one")
        answer = client.get("/admin/logs/stream?level=warning&after=0")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = events_of(answer.text)
        messages = [e["message"] for e in events]
        assert messages[-2:] == ["first streamed", "second streamed"]
        assert "quiet one" not in messages
        assert events[-1]["level"] == "ERROR" and events[-1]["extra"] == {"build": "b1"}
        resumed = client.get(
            "/admin/logs/stream?level=warning", headers={"Last-Event-ID": str(events[-2]["id"])}
        )
        assert [e["message"] for e in events_of(resumed.text)] == ["second streamed"]
        future = client.get("/admin/logs/stream?after=99999999")  # a stale id: from now on
        assert events_of(future.text) == []
