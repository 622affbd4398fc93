"""``curator admin``: admin users of the server's runtime database.

``create`` and ``reset-password`` read the password from standard input with
``--password-stdin`` (one line; for scripts: ``printf '%s\\n' "$PW" | curator admin create
...``), else prompt for it twice without echo. ``reset-password`` and ``disable`` revoke the
user's sessions at once. Every command takes ``--storage`` and ``--database-url`` (env
``CURATOR_DATABASE_URL``) like ``curator telemetry``, and migrates the database first.
Exit codes: 0 done, 1 refused (the user exists or does not), 2 bad usage (a bad email or
password).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from server.admin.passwords import MAX_LENGTH, PasswordRuleError, Passwords, check_password
from server.admin.settings import AdminSettings
from server.admin.users import UserError, UserStore, normalize_email
from server.runtime.engine import make_engine
from server.runtime.migrate import upgrade
from server.telemetry.cli import database_options, resolve_url


@contextmanager
def _users(
    ctx: click.Context, storage: Path | None, database_url: str | None
) -> Iterator[UserStore]:
    engine: Engine = make_engine(resolve_url(ctx, storage, database_url))
    try:
        upgrade(engine)
        yield UserStore(engine, Passwords(), clock=lambda: dt.datetime.now(dt.UTC).timestamp())
    finally:
        engine.dispose()


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except UserError as exc:
        raise click.BadParameter(str(exc), param_hint="--email") from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline(MAX_LENGTH + 2)
        password = line.removesuffix("\n").removesuffix("\r")
    else:
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt=True, err=True, show_default=False
        )
    try:
        return check_password(password)
    except PasswordRuleError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from exc


def _fail(message: str) -> None:
    click.echo(f"curator: error: {message}", err=True)
    sys.exit(1)


email_option = click.option("--email", required=True, help="The user's email address.")
password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (else: prompt, no echo).",
)


@click.group("admin")
def admin() -> None:
    """Admin users of the server (the admin area at /admin/)."""


@admin.command("create")
@email_option
@password_stdin_option
@database_options
@click.pass_context
def create(
    ctx: click.Context,
    email: str,
    password_stdin: bool,
    storage: Path | None,
    database_url: str | None,
) -> None:
    """Create an admin user."""
    key = _email(email)
    password = _read_password(password_stdin)
    with _users(ctx, storage, database_url) as users:
        try:
            users.create(key, password)
        except UserError as exc:
            _fail(str(exc))
    click.echo(f"created admin user {key}")


@admin.command("reset-password")
@email_option
@password_stdin_option
@database_options
@click.pass_context
def reset_password(
    ctx: click.Context,
    email: str,
    password_stdin: bool,
    storage: Path | None,
    database_url: str | None,
) -> None:
    """Set a new password for a user and sign out all of their sessions."""
    key = _email(email)
    password = _read_password(password_stdin)
    with _users(ctx, storage, database_url) as users:
        try:
            revoked = users.set_password(key, password)
        except UserError as exc:
            _fail(str(exc))
            return
    click.echo(f"password of {key} changed; {revoked} sessions revoked")


def _set_disabled(
    ctx: click.Context, email: str, storage: Path | None, url: str | None, disabled: bool
) -> None:
    key = _email(email)
    with _users(ctx, storage, url) as users:
        try:
            revoked = users.set_disabled(key, disabled)
        except UserError as exc:
            _fail(str(exc))
            return
    if disabled:
        click.echo(f"disabled {key}; {revoked} sessions revoked")
    else:
        click.echo(f"enabled {key}")


@admin.command("disable")
@email_option
@database_options
@click.pass_context
def disable(ctx: click.Context, email: str, storage: Path | None, database_url: str | None) -> None:
    """Disable a user (they cannot sign in; their sessions end now)."""
    _set_disabled(ctx, email, storage, database_url, True)


@admin.command("enable")
@email_option
@database_options
@click.pass_context
def enable(ctx: click.Context, email: str, storage: Path | None, database_url: str | None) -> None:
    """Enable a disabled user again."""
    _set_disabled(ctx, email, storage, database_url, False)


@admin.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@database_options
@click.pass_context
def list_(
    ctx: click.Context, as_json: bool, storage: Path | None, database_url: str | None
) -> None:
    """List admin users: email, created, disabled, active sessions."""
    with _users(ctx, storage, database_url) as users:
        found = users.summaries(AdminSettings().session_idle)
    rows = [
        {
            "email": u.email,
            "created": dt.datetime.fromtimestamp(u.created_at, dt.UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "disabled": u.disabled,
            "active_sessions": u.active_sessions,
        }
        for u in found
    ]
    if as_json:
        click.echo(json.dumps({"users": rows}, indent=2))
        return
    if not rows:
        click.echo("no admin users (create one with `curator admin create --email ...`)")
        return
    width = max(len("EMAIL"), *(len(r["email"]) for r in rows))  # type: ignore[arg-type]
    click.echo(f"{'EMAIL':<{width}}  {'CREATED':<20}  {'DISABLED':<8}  ACTIVE SESSIONS")
    for r in rows:
        flag = "yes" if r["disabled"] else "no"
        click.echo(f"{r['email']:<{width}}  {r['created']:<20}  {flag:<8}  {r['active_sessions']}")
