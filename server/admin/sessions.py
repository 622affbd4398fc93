"""Server-side admin sessions (``admin_sessions``).

The browser holds an opaque random token (32 bytes, URL-safe base64); the database holds
only its SHA-256, so a leaked database row cannot be replayed as a cookie. A session expires
``idle`` seconds after it was last used and ``absolute`` seconds after login, whichever
comes first; logout, a password change or disabling the user deletes it (revocation is
immediate for every server instance sharing the database). Each session carries its own
CSRF token (the synchronizer token of the admin forms).

``last_seen_at`` is written at most once a minute per session, not on every request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.admin.settings import AdminSettings
from server.runtime import schema
from server.runtime.engine import begin_write
from server.telemetry.common import Clock

TOKEN_BYTES: Final = 32
MAX_TOKEN: Final = 128  # longer cookie values are not ours: no lookup
TOUCH_EVERY: Final = 60


@dataclass(frozen=True)
class Session:
    id: str  # SHA-256 hex of the token
    user_id: int
    email: str
    csrf_token: str
    created_at: int
    last_seen_at: int
    expires_at: int


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoke_user(conn: sa.Connection, user_id: int) -> int:
    """Delete every session of ``user_id`` in ``conn``'s transaction; returns how many."""
    sessions = schema.admin_sessions
    return conn.execute(sa.delete(sessions).where(sessions.c.user_id == user_id)).rowcount


class SessionStore:
    def __init__(self, engine: Engine, settings: AdminSettings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self._clock = clock

    def create(self, user_id: int) -> tuple[str, Session]:
        """A new session of ``user_id``: ``(token for the cookie, session)``. Expired
        sessions of every user are deleted on the way."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = int(self._clock())
        session = Session(
            id=token_id(token),
            user_id=user_id,
            email="",
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.settings.session_absolute,
        )
        sessions, users = schema.admin_sessions, schema.admin_users
        with begin_write(self.engine) as conn:
            self._prune(conn, now)
            conn.execute(
                sa.insert(sessions).values(
                    id=session.id,
                    user_id=user_id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            )
            email = conn.execute(sa.select(users.c.email).where(users.c.id == user_id)).scalar()
        return token, dataclasses.replace(session, email=str(email))

    def lookup(self, token: str | None) -> Session | None:
        """The live session of a cookie token (touching ``last_seen_at``), or None: no token,
        unknown, expired (idle or absolute) or its user disabled."""
        if not token or len(token) > MAX_TOKEN:
            return None
        now = int(self._clock())
        sessions, users = schema.admin_sessions, schema.admin_users
        query = (
            sa.select(sessions, users.c.email)
            .join(users, users.c.id == sessions.c.user_id)
            .where(
                sessions.c.id == token_id(token),
                sessions.c.expires_at > now,
                sessions.c.last_seen_at > now - self.settings.session_idle,
                users.c.disabled == sa.false(),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        m = row._mapping
        session = Session(
            id=str(m["id"]),
            user_id=int(m["user_id"]),
            email=str(m["email"]),
            csrf_token=str(m["csrf_token"]),
            created_at=int(m["created_at"]),
            last_seen_at=int(m["last_seen_at"]),
            expires_at=int(m["expires_at"]),
        )
        if now - session.last_seen_at >= TOUCH_EVERY:
            with begin_write(self.engine) as conn:
                conn.execute(
                    sa.update(sessions).where(sessions.c.id == session.id).values(last_seen_at=now)
                )
        return session

    def revoke(self, token: str | None) -> bool:
        """Delete the session of ``token`` (logout); whether there was one."""
        if not token or len(token) > MAX_TOKEN:
            return False
        sessions = schema.admin_sessions
        with begin_write(self.engine) as conn:
            deleted = conn.execute(sa.delete(sessions).where(sessions.c.id == token_id(token)))
        return deleted.rowcount > 0

    def _prune(self, conn: sa.Connection, now: int) -> None:
        sessions = schema.admin_sessions
        conn.execute(
            sa.delete(sessions).where(
                sa.or_(
                    sessions.c.expires_at <= now,
                    sessions.c.last_seen_at <= now - self.settings.session_idle,
                )
            )
        )
