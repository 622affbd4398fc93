"""The admin area's tables on SQLite and PostgreSQL: users (case-insensitive emails, argon2id
hashes), sessions (hashed tokens, expiry, revocation), the login rate limit (HMAC keys,
pruning, no overshoot under concurrent guesses) and the 0001 -> 0002 migration."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from server_helpers import FakeClock
from sqlalchemy.engine import Engine

from server.admin.passwords import MIN_LENGTH, PasswordRuleError, Passwords, check_password
from server.admin.ratelimit import LoginLimiter
from server.admin.sessions import SessionStore, token_id
from server.admin.settings import AdminSettings
from server.admin.users import UserError, UserStore, normalize_email
from server.runtime import schema
from server.runtime.engine import make_engine
from server.runtime.migrate import current, downgrade, upgrade

PASSWORD = "a long enough password"


@pytest.fixture
def passwords() -> Passwords:
    return Passwords()


@pytest.fixture
def users(runtime_engine: Engine, passwords: Passwords, clock: FakeClock) -> UserStore:
    return UserStore(runtime_engine, passwords, clock)


@pytest.fixture
def sessions(runtime_engine: Engine, clock: FakeClock) -> SessionStore:
    return SessionStore(
        runtime_engine, AdminSettings(session_idle=600, session_absolute=3600), clock
    )


def test_users_emails_are_case_insensitive_and_hashed(users: UserStore) -> None:
    user = users.create(" Alice@Example.ORG ", PASSWORD)
    assert user.email == "alice@example.org" and not user.disabled
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in user.password_hash
    assert users.passwords.verify(user.password_hash, PASSWORD)
    assert not users.passwords.verify(user.password_hash, PASSWORD + "x")
    found = users.find("ALICE@example.org")
    assert found is not None and found.id == user.id
    with pytest.raises(UserError, match="exists"):
        users.create("alice@EXAMPLE.org", PASSWORD)
    assert users.find("bob@example.org") is None
    assert users.find("not an email") is None


@pytest.mark.parametrize(
    "email",
    ["", "no-at-sign", "two@@example.org", "a@b", "spa ce@example.org", "x" * 250 + "@e.org"],
)
def test_bad_emails_are_refused(users: UserStore, email: str) -> None:
    with pytest.raises(UserError):
        users.create(email, PASSWORD)
    with pytest.raises(UserError):
        normalize_email(email)


@pytest.mark.parametrize(
    "password", ["", "short", "x" * (MIN_LENGTH - 1), "x" * 1025, "tab\tin the password"]
)
def test_password_rules(users: UserStore, password: str) -> None:
    with pytest.raises(PasswordRuleError):
        users.create("carol@example.org", password)
    with pytest.raises(PasswordRuleError):
        check_password(password)
    assert users.find("carol@example.org") is None


def test_malformed_hashes_never_verify(passwords: Passwords) -> None:
    assert not passwords.verify("not a hash", PASSWORD)
    assert not passwords.verify("", PASSWORD)
    assert passwords.needs_rehash("not a hash")
    weak = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$9pmVvRtDYyjt/UQuBsw6Vw"
    assert passwords.needs_rehash(weak)


def test_sessions_store_only_hashes_and_expire(
    users: UserStore, sessions: SessionStore, clock: FakeClock, runtime_engine: Engine
) -> None:
    user = users.create("dave@example.org", PASSWORD)
    token, session = sessions.create(user.id)
    assert session.email == "dave@example.org" and session.id == token_id(token) != token
    assert len(token) >= 43 and session.csrf_token != token
    with runtime_engine.connect() as conn:
        stored = conn.execute(sa.select(schema.admin_sessions)).all()
    assert len(stored) == 1 and token not in str(stored)
    assert sessions.lookup(token) == session
    for bad in (None, "", token + "x", "A" * 43, "x" * 5000):
        assert sessions.lookup(bad) is None
    clock.advance(599)
    assert sessions.lookup(token) is not None  # touches last_seen_at
    clock.advance(599)
    assert sessions.lookup(token) is not None
    clock.advance(601)
    assert sessions.lookup(token) is None  # idle
    token, _ = sessions.create(user.id)  # prunes the expired one
    for _ in range(7):
        clock.advance(500)
        assert sessions.lookup(token) is not None
    clock.advance(101)
    assert sessions.lookup(token) is None  # absolute
    with runtime_engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.admin_sessions)).scalar()
            == 1
        )


def test_revocation(users: UserStore, sessions: SessionStore) -> None:
    user = users.create("erin@example.org", PASSWORD)
    other = users.create("frank@example.org", PASSWORD)
    first, _ = sessions.create(user.id)
    second, _ = sessions.create(user.id)
    theirs, _ = sessions.create(other.id)
    assert [s.active_sessions for s in users.summaries(600)] == [2, 1]
    assert sessions.revoke(first) and not sessions.revoke(first) and not sessions.revoke(None)
    assert sessions.lookup(first) is None and sessions.lookup(second) is not None
    assert users.set_password("ERIN@example.org", "another long password") == 1
    assert sessions.lookup(second) is None and sessions.lookup(theirs) is not None
    changed = users.find("erin@example.org")
    assert changed is not None and users.passwords.verify(
        changed.password_hash, "another long password"
    )
    assert users.set_disabled("frank@example.org", True) == 1
    assert sessions.lookup(theirs) is None
    summaries = users.summaries(600)
    assert [(s.email, s.disabled, s.active_sessions) for s in summaries] == [
        ("erin@example.org", False, 0),
        ("frank@example.org", True, 0),
    ]
    with pytest.raises(UserError, match="no user"):
        users.set_password("ghost@example.org", "another long password")


def test_rate_limit_keys_are_hmacs_and_pruned(runtime_engine: Engine, clock: FakeClock) -> None:
    limiter = LoginLimiter(runtime_engine, AdminSettings(login_max_per_account=2), clock)
    assert limiter.begin("198.51.100.7", "Someone@Example.org") is not None
    assert limiter.begin("198.51.100.7", "someone@example.org") is not None
    assert limiter.begin("203.0.113.9", "someone@example.org") is None  # account locked
    assert limiter.begin("203.0.113.9", "other@example.org") is not None  # other account
    with runtime_engine.connect() as conn:
        keys = [bytes(r[0]) for r in conn.execute(sa.select(schema.admin_login_attempts.c.key))]
    assert len(keys) == 6 and all(len(k) == 16 for k in keys)
    assert not any(b"198.51" in k or b"someone" in k for k in keys)
    assert limiter.failures("198.51.100.7", "someone@example.org") == (2, 2)
    clock.advance(901)
    assert limiter.failures("198.51.100.7", "someone@example.org") == (0, 0)
    assert limiter.begin("198.51.100.7", "someone@example.org") is not None
    with runtime_engine.connect() as conn:  # the old rows are gone, not just ignored
        left = conn.execute(sa.select(sa.func.count()).select_from(schema.admin_login_attempts))
        assert left.scalar() == 2


def test_a_second_engine_uses_the_same_secret(runtime_engine: Engine, clock: FakeClock) -> None:
    one = LoginLimiter(runtime_engine, AdminSettings(), clock)
    two = LoginLimiter(
        make_engine(str(runtime_engine.url.render_as_string(False))), AdminSettings(), clock
    )
    try:
        assert one.keys("198.51.100.7", "a@example.org") == two.keys(
            "198.51.100.7", "A@example.org"
        )
    finally:
        two.engine.dispose()


def test_concurrent_guesses_never_overshoot_the_limit(database_url: str, clock: FakeClock) -> None:
    engines = [make_engine(database_url) for _ in range(4)]
    upgrade(engines[0])
    limit = 3
    granted: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def guess(n: int) -> None:
        limiter = LoginLimiter(engines[n % 4], AdminSettings(login_max_per_account=limit), clock)
        barrier.wait()
        attempt = limiter.begin(f"198.51.100.{n}", "target@example.org")
        with lock:
            granted.append(attempt is not None)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(granted) == 12 and granted.count(True) == limit
    finally:
        for engine in engines:
            engine.dispose()


@pytest.fixture
def at_0001(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    yield engine
    engine.dispose()


def test_migration_from_0001_keeps_telemetry_and_back(at_0001: Engine) -> None:
    with at_0001.begin() as conn:
        conn.execute(sa.insert(schema.totals).values(package="wp-plugin/a", installs=7))
    assert upgrade(at_0001) == "0002"
    with at_0001.connect() as conn:
        assert conn.execute(sa.select(schema.totals.c.installs)).scalar() == 7
        secret = conn.execute(sa.select(schema.admin_keys.c.secret)).scalar_one()
    assert len(secret) == 32
    assert downgrade(at_0001, "0001") == "0001" == current(at_0001)
    assert not {"admin_users", "admin_sessions", "admin_keys"} & set(
        sa.inspect(at_0001).get_table_names()
    )
    with at_0001.connect() as conn:
        assert conn.execute(sa.select(schema.totals.c.installs)).scalar() == 7
