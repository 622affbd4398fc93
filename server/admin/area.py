"""The admin area's services, made once per app by the app factory (no globals).

The guard finds them in ``app.state["admin"]``; handlers get them injected as ``admin``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from curator.storage.local import LocalStorage
from server.admin.auth import Authenticator
from server.admin.builds import BuildsView
from server.admin.passwords import Passwords
from server.admin.ratelimit import LoginLimiter
from server.admin.sessions import SessionStore
from server.admin.settings import AdminSettings
from server.admin.users import UserStore
from server.logbuffer import LogBuffer
from server.telemetry.clientip import TrustedProxies
from server.telemetry.common import Clock


@dataclass
class AdminArea:
    settings: AdminSettings
    engine: Engine
    clock: Clock
    trusted: TrustedProxies
    users: UserStore
    sessions: SessionStore
    limiter: LoginLimiter
    auth: Authenticator
    builds: BuildsView
    logs: LogBuffer


def make_admin_area(
    engine: Engine,
    settings: AdminSettings,
    *,
    storage: LocalStorage,
    trusted: TrustedProxies,
    clock: Clock,
    logs: LogBuffer | None = None,
) -> AdminArea:
    passwords = Passwords()
    users = UserStore(engine, passwords, clock)
    sessions = SessionStore(engine, settings, clock)
    limiter = LoginLimiter(engine, settings, clock)
    return AdminArea(
        settings=settings,
        engine=engine,
        clock=clock,
        trusted=trusted,
        users=users,
        sessions=sessions,
        limiter=limiter,
        auth=Authenticator(users, sessions, limiter, passwords),
        builds=BuildsView(storage),
        logs=logs if logs is not None else LogBuffer(settings.log_buffer_size),
    )
