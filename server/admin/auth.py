"""The login flow: rate limit, password check, a fresh session.

:meth:`Authenticator.login` is blocking (argon2 takes tens of milliseconds): call it from a
worker thread. Every refusal for bad credentials looks the same (wrong password, unknown
account, disabled user), and so does every lockout; an unknown account still costs one
argon2 verification, so timing does not tell either. A locked-out attempt costs none: its
answer already says "locked out", for unknown accounts too, and the rate limit is what
bounds the password checks (memory and CPU) one client can make the server do. A
successful login always makes a new session with a new random token and deletes the session
the browser presented before, if any: an identifier known before login (session fixation)
never becomes a logged-in one.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass

from server.admin.passwords import PasswordRuleError, Passwords
from server.admin.ratelimit import LoginLimiter
from server.admin.sessions import Session, SessionStore
from server.admin.users import UserStore

log = logging.getLogger("server.admin")


class Outcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    token: str | None = None
    session: Session | None = None


class Authenticator:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        limiter: LoginLimiter,
        passwords: Passwords,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.limiter = limiter
        self.passwords = passwords

    def login(
        self, email: str, password: str, client: str, previous_token: str | None = None
    ) -> LoginResult:
        attempt = self.limiter.begin(client, email)
        if attempt is None:
            log.warning("admin login refused: too many failed attempts (client or account)")
            return LoginResult(Outcome.LOCKED)
        user = self.users.find(email)
        if user is None:
            self.passwords.verify_dummy()
            log.warning("admin login failed: unknown account")
            return LoginResult(Outcome.BAD_CREDENTIALS)
        if not self.passwords.verify(user.password_hash, password):
            log.warning("admin login failed: wrong password for %s", user.email)
            return LoginResult(Outcome.BAD_CREDENTIALS)
        if user.disabled:
            log.warning("admin login failed: %s is disabled", user.email)
            return LoginResult(Outcome.BAD_CREDENTIALS)
        self.limiter.succeeded(attempt)
        if self.passwords.needs_rehash(user.password_hash):
            with contextlib.suppress(PasswordRuleError):  # an old rule: keep the old hash
                self.users.rehash(user.id, user.password_hash, self.passwords.hash(password))
        if previous_token:
            self.sessions.revoke(previous_token)
        token, session = self.sessions.create(user.id)
        log.info("admin %s logged in", user.email)
        return LoginResult(Outcome.OK, token, session)
