"""Password hashing: argon2id (argon2-cffi) with OWASP's parameters, and password rules.

Hashes are PHC strings (``$argon2id$v=19$m=19456,t=2,p=1$...``) that carry their own
parameters, so older hashes still verify after the parameters change;
:meth:`Passwords.needs_rehash` says when a login should store a fresh hash.
:meth:`Passwords.verify_dummy` spends the same time as a real verification, for logins of
unknown accounts (their answer time must not tell that the account does not exist).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 1024
# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane (~60 ms here).
MEMORY_KIB: Final = 19 * 1024
TIME_COST: Final = 2
PARALLELISM: Final = 1


class PasswordRuleError(ValueError):
    """A password that may not be set (too short, too long, not text)."""


def check_password(password: str) -> str:
    """``password`` if it may be set, else :class:`PasswordRuleError` saying why."""
    if len(password) < MIN_LENGTH:
        raise PasswordRuleError(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise PasswordRuleError(f"the password must be at most {MAX_LENGTH} characters long")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise PasswordRuleError("the password must not contain control characters")
    return password


class Passwords:
    """Hash and verify passwords (thread-safe; hashing takes tens of milliseconds)."""

    def __init__(self) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=TIME_COST,
            memory_cost=MEMORY_KIB,
            parallelism=PARALLELISM,
            type=argon2.Type.ID,
        )
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._hasher.hash(check_password(password))

    def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (False also for a malformed hash)."""
        if len(password) > MAX_LENGTH:
            self.verify_dummy()
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def verify_dummy(self) -> None:
        """Spend the time of one verification (the caller has no account to check)."""
        with self._lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash("not a password of anyone")
            dummy = self._dummy
        with contextlib.suppress(VerificationError):
            self._hasher.verify(dummy, "still not a password")
