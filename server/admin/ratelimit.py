"""The login rate limit: failed logins per client address and per account, in a sliding
window, shared by every server instance through the runtime database.

Each login first *reserves* an attempt (:meth:`LoginLimiter.begin`): in one write
transaction it counts the failures of the client's key and of the account's key within the
window and, unless either count is at its limit, inserts a row for each key. The password
is checked afterwards; a success deletes the account's rows and this attempt's client row
(:meth:`LoginLimiter.succeeded`), a failure leaves them counting. Reserving before checking
means concurrent guesses cannot overshoot the limit (on PostgreSQL the two keys are
serialised with transaction-scoped advisory locks, on SQLite by the write lock).

The account key is derived from the email as typed (normalised), whether or not such a user
exists, so an unknown account locks out exactly like a real one and the lockout tells
nothing about which accounts exist. Keys are HMAC-SHA256 with a random secret kept in the
database (``admin_keys``), truncated to 16 bytes; no address or email is stored, and rows
leave the table once they are older than the window.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.admin.settings import AdminSettings
from server.runtime import schema
from server.runtime.engine import begin_write
from server.telemetry.common import Clock


def _counts(conn: sa.Connection, query: sa.Select[Any]) -> dict[bytes, int]:
    return {bytes(key): int(n) for key, n in conn.execute(query)}


@dataclass(frozen=True)
class Attempt:
    """A reserved login attempt: the keys it counted against and its row ids."""

    client_key: bytes
    account_key: bytes
    client_row: int
    account_row: int


class LoginLimiter:
    def __init__(self, engine: Engine, settings: AdminSettings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self._clock = clock
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def _key(self, kind: str, value: str) -> bytes:
        with self._lock:
            secret = self._secret
        if secret is None:
            keys = schema.admin_keys
            with self.engine.connect() as conn:
                found = conn.execute(
                    sa.select(keys.c.secret).where(keys.c.name == schema.RATELIMIT_KEY)
                ).scalar_one()
            secret = bytes(found)
            with self._lock:
                self._secret = secret
        message = f"{kind}\0{value}".encode()
        return hmac.new(secret, message, hashlib.sha256).digest()[: schema.KEY_LEN]

    def keys(self, client: str, email: str) -> tuple[bytes, bytes]:
        """The (client, account) keys of a login attempt."""
        account = email.strip().lower()[: schema.EMAIL_LEN + 1]
        return self._key("client", client[:100]), self._key("account", account)

    def begin(self, client: str, email: str) -> Attempt | None:
        """Reserve an attempt, or None when the client or the account is locked out."""
        client_key, account_key = self.keys(client, email)
        attempts = schema.admin_login_attempts
        now = int(self._clock())
        since = now - self.settings.login_window
        with begin_write(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                for key in sorted({client_key, account_key}):
                    lock_id = int.from_bytes(key[:8], "big", signed=True)
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))
            conn.execute(sa.delete(attempts).where(attempts.c.attempted_at <= since))
            counts = _counts(
                conn,
                sa.select(attempts.c.key, sa.func.count())
                .where(attempts.c.key.in_([client_key, account_key]))
                .group_by(attempts.c.key),
            )
            if (
                counts.get(client_key, 0) >= self.settings.login_max_per_client
                or counts.get(account_key, 0) >= self.settings.login_max_per_account
            ):
                return None
            ids = [
                int(
                    conn.execute(
                        sa.insert(attempts)
                        .values(key=key, attempted_at=now)
                        .returning(attempts.c.id)
                    ).scalar_one()
                )
                for key in (client_key, account_key)
            ]
        return Attempt(client_key, account_key, ids[0], ids[1])

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forget the account's failures and this attempt."""
        attempts = schema.admin_login_attempts
        with begin_write(self.engine) as conn:
            conn.execute(
                sa.delete(attempts).where(
                    sa.or_(
                        attempts.c.key == attempt.account_key,
                        attempts.c.id == attempt.client_row,
                    )
                )
            )

    def failures(self, client: str, email: str) -> tuple[int, int]:
        """Failures counted now for (client, account): for tests and diagnostics."""
        client_key, account_key = self.keys(client, email)
        attempts = schema.admin_login_attempts
        since = int(self._clock()) - self.settings.login_window
        with self.engine.connect() as conn:
            found = _counts(
                conn,
                sa.select(attempts.c.key, sa.func.count())
                .where(
                    attempts.c.key.in_([client_key, account_key]),
                    attempts.c.attempted_at > since,
                )
                .group_by(attempts.c.key),
            )
        return found.get(client_key, 0), found.get(account_key, 0)
