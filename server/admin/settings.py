"""Settings of the admin area (part of :class:`server.settings.ServerSettings`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AdminSettings:
    """Bounds of admin sessions and of the login rate limit (seconds and counts).

    - ``session_idle``: a session unused this long expires; ``session_absolute``: every
      session expires this long after login, used or not;
    - ``login_window``: the sliding window of the rate limit; ``login_max_per_client``
      failed logins from one client address, or ``login_max_per_account`` for one email
      (existing or not), within the window lock further attempts out until older failures
      leave the window;
    - ``log_buffer_size``: structured log records kept in memory for ``/admin/logs``;
    - ``stream_seconds``: how long one ``/admin/logs/stream`` response stays open (the
      browser's EventSource reconnects and resumes after the last record it saw). Shutdown
      does not wait for it: ``curator serve`` ends open streams at once (:mod:`server.shutdown`).
    """

    session_idle: int = 3600
    session_absolute: int = 12 * 3600
    login_window: int = 900
    login_max_per_client: int = 20
    login_max_per_account: int = 5
    log_buffer_size: int = 1000
    stream_seconds: float = 25.0

    def __post_init__(self) -> None:
        for name in (
            "session_idle",
            "session_absolute",
            "login_window",
            "login_max_per_client",
            "login_max_per_account",
            "log_buffer_size",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"AdminSettings.{name} must be positive")
        if self.stream_seconds <= 0:
            raise ValueError("AdminSettings.stream_seconds must be positive")
