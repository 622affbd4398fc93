"""Admin users in the runtime database (``admin_users``): create, find, change, list.

Emails are compared case-insensitively: they are stored stripped and lower-cased, and the
column is unique. A user's password change and disabling revoke their sessions in the same
transaction (:func:`server.admin.sessions.revoke_user`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.admin.passwords import Passwords
from server.admin.sessions import revoke_user
from server.runtime import schema
from server.runtime.engine import begin_write
from server.telemetry.common import Clock

_EMAIL_RE: Final = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


class UserError(ValueError):
    """A user operation that cannot be done (bad email, duplicate, unknown user)."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    password_hash: str
    created_at: int
    disabled: bool


@dataclass(frozen=True)
class UserSummary:
    email: str
    created_at: int
    disabled: bool
    active_sessions: int


def normalize_email(email: str) -> str:
    """The stored form of ``email`` (stripped, lower-cased); :class:`UserError` if it is not
    an email address."""
    value = email.strip().lower()
    if len(value) > schema.EMAIL_LEN or not _EMAIL_RE.fullmatch(value):
        raise UserError(f"not an email address: {email[:100]!r}")
    return value


def _user(row: sa.Row[tuple[object, ...]]) -> User:
    m = row._mapping
    return User(
        id=int(m["id"]),
        email=str(m["email"]),
        password_hash=str(m["password_hash"]),
        created_at=int(m["created_at"]),
        disabled=bool(m["disabled"]),
    )


class UserStore:
    def __init__(self, engine: Engine, passwords: Passwords, clock: Clock) -> None:
        self.engine = engine
        self.passwords = passwords
        self._clock = clock

    def create(self, email: str, password: str) -> User:
        """A new user; :class:`UserError` if the email is taken, ``PasswordRuleError`` if the
        password may not be used."""
        key = normalize_email(email)
        hashed = self.passwords.hash(password)
        now = int(self._clock())
        users = schema.admin_users
        with begin_write(self.engine) as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.email == key)).first():
                raise UserError(f"a user {key} exists already")
            conn.execute(sa.insert(users).values(email=key, password_hash=hashed, created_at=now))
            row = conn.execute(sa.select(users).where(users.c.email == key)).one()
        return _user(row)

    def find(self, email: str) -> User | None:
        """The user with ``email`` (any case), or None (also for a malformed email)."""
        try:
            key = normalize_email(email)
        except UserError:
            return None
        users = schema.admin_users
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.email == key)).first()
        return None if row is None else _user(row)

    def get(self, user_id: int) -> User | None:
        users = schema.admin_users
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def set_password(self, email: str, password: str) -> int:
        """Set a new password and revoke the user's sessions; returns how many were revoked."""
        hashed = self.passwords.hash(password)
        return self._change(email, {"password_hash": hashed}, revoke=True)

    def rehash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        """Store a fresh hash of the same password (parameters changed); sessions stay."""
        users = schema.admin_users
        with begin_write(self.engine) as conn:
            conn.execute(
                sa.update(users)
                .where(users.c.id == user_id, users.c.password_hash == old_hash)
                .values(password_hash=new_hash)
            )

    def set_disabled(self, email: str, disabled: bool) -> int:
        """Disable (revoking every session) or enable a user; returns sessions revoked."""
        return self._change(email, {"disabled": disabled}, revoke=disabled)

    def _change(self, email: str, values: dict[str, object], *, revoke: bool) -> int:
        key = normalize_email(email)
        users = schema.admin_users
        with begin_write(self.engine) as conn:
            found = conn.execute(sa.select(users.c.id).where(users.c.email == key)).first()
            if found is None:
                raise UserError(f"there is no user {key}")
            conn.execute(sa.update(users).where(users.c.id == found[0]).values(**values))
            return revoke_user(conn, int(found[0])) if revoke else 0

    def summaries(self, idle: int) -> list[UserSummary]:
        """Every user by email, with the number of sessions that have not expired yet
        (``idle``: seconds after which an unused session expires)."""
        users, sessions = schema.admin_users, schema.admin_sessions
        now = int(self._clock())
        active = (
            sa.select(sa.func.count())
            .select_from(sessions)
            .where(
                sessions.c.user_id == users.c.id,
                sessions.c.expires_at > now,
                sessions.c.last_seen_at > now - idle,
            )
            .scalar_subquery()
        )
        query = sa.select(users.c.email, users.c.created_at, users.c.disabled, active).order_by(
            users.c.email
        )
        with self.engine.connect() as conn:
            return [
                UserSummary(str(r[0]), int(r[1]), bool(r[2]), int(r[3]))
                for r in conn.execute(query)
            ]
