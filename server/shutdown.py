"""The app's "shutting down" signal, which ends long-lived responses (the admin log stream).

uvicorn, on SIGTERM or SIGINT, stops accepting connections and then waits for every open
response to finish before it runs the app's lifespan shutdown, so a response that only ends
by itself (a Server-Sent Events stream) would hold the process for as long as it stays open.
:class:`Shutdown` is the flag such a response waits on: ``curator serve`` sets it as soon as
uvicorn starts shutting down (:mod:`server.cli`), the app's lifespan sets it again at its
own shutdown (for any other server), and clears it at startup.

One per app, made by the app factory (``app.state["shutdown"]``, the ``shutdown``
dependency); nothing global. Call :meth:`Shutdown.set` and :meth:`Shutdown.wait` from the
app's event loop (waiters are woken through anyio events of that loop).
"""

from __future__ import annotations

import anyio


class Shutdown:
    """Set once the server starts shutting down; :meth:`wait` returns early when it is."""

    def __init__(self) -> None:
        self._set = False
        self._waiters: set[anyio.Event] = set()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        """The server is shutting down: wake every waiter (idempotent)."""
        self._set = True
        for waiter in list(self._waiters):
            waiter.set()

    def clear(self) -> None:
        """The app (re)starts: not shutting down."""
        self._set = False

    async def wait(self, timeout: float) -> bool:
        """Wait until the server shuts down, at most ``timeout`` seconds: True when it does."""
        if self._set:
            return True
        waiter = anyio.Event()
        self._waiters.add(waiter)
        try:
            with anyio.move_on_after(timeout):
                await waiter.wait()
        finally:
            self._waiters.discard(waiter)
        return self._set
