"""When to log a problem that a poller meets again and again (``/health``'s warnings).

:class:`ProblemThrottle` keeps, per problem kind (a short key such as ``"build"``), the text
last reported, when, and how many occurrences were not logged since. It decides, and the
caller logs:

- a problem seen for the first time, or with a different text, is reported at once;
- the same problem again is reported at most once per ``quiet`` seconds, with the number of
  occurrences left unreported since the previous report (:attr:`Report.suppressed`);
- a kind seen fine after failing is reported once as recovered (:meth:`ProblemThrottle.ok`).

No I/O and no global state: the app factory makes one throttle per app, and the clock is a
``monotonic`` callable the tests move by hand. A lock makes it safe across worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

DEFAULT_QUIET_SECONDS: Final = 300.0


@dataclass(frozen=True)
class Report:
    """A problem to log now: its ``text`` and the occurrences not logged since the last
    report of the same problem (0 when it is new or its text changed)."""

    text: str
    suppressed: int = 0

    def message(self) -> str:
        """``text``, followed by ``(still failing; N polls not logged since the last report)``
        when it repeats a problem already reported."""
        if self.suppressed == 0:
            return self.text
        polls = "poll" if self.suppressed == 1 else "polls"
        note = f"still failing; {self.suppressed} {polls} not logged since the last report"
        return f"{self.text} ({note})"


@dataclass
class _Failing:
    text: str
    reported_at: float
    suppressed: int = 0


class ProblemThrottle:
    """Per problem kind: report a problem when it appears or changes, then at most once per
    ``quiet`` seconds while it lasts, and its recovery once."""

    def __init__(
        self,
        *,
        quiet: float = DEFAULT_QUIET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if quiet < 0:
            raise ValueError(f"quiet must not be negative, got {quiet}")
        self.quiet = quiet
        self._monotonic = monotonic
        self._failing: dict[str, _Failing] = {}
        self._lock = threading.Lock()

    def failing(self, kind: str, text: str) -> Report | None:
        """``kind`` is failing with ``text`` now: the :class:`Report` to log, or None when this
        occurrence falls in the quiet interval (it is counted for the next report)."""
        now = self._monotonic()
        with self._lock:
            state = self._failing.get(kind)
            if state is None or state.text != text:
                self._failing[kind] = _Failing(text, now)
                return Report(text)
            if now - state.reported_at < self.quiet:
                state.suppressed += 1
                return None
            report = Report(text, state.suppressed)
            state.reported_at, state.suppressed = now, 0
            return report

    def ok(self, kind: str) -> bool:
        """``kind`` is fine now: True once, when it was failing (log its recovery)."""
        with self._lock:
            return self._failing.pop(kind, None) is not None
