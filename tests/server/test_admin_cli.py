"""``curator admin create|reset-password|list|disable|enable`` through the ``curator`` group
(click's CliRunner), on SQLite (the default file in --storage) and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from server_helpers import FakeClock

from curator.cli import cli
from server.admin.passwords import Passwords
from server.admin.sessions import SessionStore
from server.admin.settings import AdminSettings
from server.admin.users import UserStore
from server.runtime.engine import default_url, make_engine

PASSWORD = "a long enough password"


class Admin:
    """``curator --storage S admin ...`` with ``--database-url`` unless it is the default."""

    def __init__(self, storage: Path, database_url: str) -> None:
        self.storage = storage
        self.url_args = (
            [] if database_url == default_url(storage) else ["--database-url", database_url]
        )
        self.runner = CliRunner()

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        return self.runner.invoke(
            cli, ["--storage", str(self.storage), "admin", *args, *self.url_args], input=stdin
        )


@pytest.fixture
def admin(tmp_path: Path, database_url: str) -> Admin:
    return Admin(tmp_path / "storage", database_url)


def test_create_list_reset_disable(admin: Admin, database_url: str, clock: FakeClock) -> None:
    created = admin(
        "create", "--email", "Root@Example.org", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert created.exit_code == 0, created.output
    assert "created admin user root@example.org" in created.output
    assert PASSWORD not in created.output  # nothing echoed
    engine = make_engine(database_url)
    try:
        users = UserStore(engine, Passwords(), clock)
        user = users.find("root@example.org")
        assert user is not None and users.passwords.verify(user.password_hash, PASSWORD)
        sessions = SessionStore(engine, AdminSettings(), clock)
        token, _ = sessions.create(user.id)

        listed = admin("list", "--json")
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.output)["users"]
        assert row["email"] == "root@example.org" and not row["disabled"]
        assert row["created"].endswith("Z")
        # the CLI's clock is the real one: the session made at the fake clock's time is old
        table = admin("list")
        assert table.exit_code == 0 and "root@example.org" in table.output
        assert table.output.splitlines()[0].split() == [
            "EMAIL",
            "CREATED",
            "DISABLED",
            "ACTIVE",
            "SESSIONS",
        ]

        reset = admin(
            "reset-password",
            "--email",
            "ROOT@example.org",
            "--password-stdin",
            stdin="new long password!\n",
        )
        assert reset.exit_code == 0, reset.output
        assert "1 sessions revoked" in reset.output and sessions.lookup(token) is None
        changed = users.find("root@example.org")
        assert changed is not None and users.passwords.verify(
            changed.password_hash, "new long password!"
        )

        token, _ = sessions.create(user.id)
        disabled = admin("disable", "--email", "root@example.org")
        assert disabled.exit_code == 0 and "1 sessions revoked" in disabled.output
        assert sessions.lookup(token) is None
        assert json.loads(admin("list", "--json").output)["users"][0]["disabled"] is True
        assert admin("enable", "--email", "root@example.org").exit_code == 0
        assert json.loads(admin("list", "--json").output)["users"][0]["disabled"] is False
    finally:
        engine.dispose()


def test_refusals(admin: Admin) -> None:
    assert "no admin users" in admin("list").output
    short = admin("create", "--email", "a@example.org", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    bad_email = admin("create", "--email", "not-an-email", "--password-stdin", stdin=PASSWORD)
    assert bad_email.exit_code == 2 and "not an email address" in bad_email.output
    empty = admin("create", "--email", "a@example.org", "--password-stdin", stdin="")
    assert empty.exit_code == 2
    assert (
        admin("create", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD).exit_code
        == 0
    )
    again = admin("create", "--email", "A@EXAMPLE.ORG", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 1 and "exists already" in again.output
    unknown = admin(
        "reset-password", "--email", "b@example.org", "--password-stdin", stdin=PASSWORD
    )
    assert unknown.exit_code == 1 and "no user" in unknown.output
    assert admin("disable", "--email", "b@example.org").exit_code == 1
    eof = admin("create", "--email", "x@example.org")  # nothing to read at the prompt
    assert eof.exit_code == 1 and "Aborted" in eof.output
    emails = [u["email"] for u in json.loads(admin("list", "--json").output)["users"]]
    assert emails == ["a@example.org"]


def test_prompt_asks_twice_without_echo(admin: Admin) -> None:
    result = admin("create", "--email", "p@example.org", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    mismatch = admin("create", "--email", "q@example.org", stdin=f"{PASSWORD}\nsomething else!!\n")
    assert mismatch.exit_code == 1 and "do not match" in mismatch.output
    assert "something else" not in mismatch.output
    assert json.loads(admin("list", "--json").output)["users"][0]["email"] == "p@example.org"


def test_bad_database_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["admin", "list", "--database-url", "mysql://x@y/z"])
    assert result.exit_code == 2 and "unsupported database" in result.output
