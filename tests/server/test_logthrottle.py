"""The problem log throttle of ``/health`` on a hand-moved clock: first report, counted
suppression, the report after the quiet interval, a changed text at once, recovery once."""

from __future__ import annotations

import threading

import pytest
from server_helpers import FakeClock

from server.logthrottle import ProblemThrottle, Report


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)  # a monotonic clock: seconds since an arbitrary start


@pytest.fixture
def throttle(clock: FakeClock) -> ProblemThrottle:
    return ProblemThrottle(quiet=300.0, monotonic=clock)


def test_a_new_problem_is_reported_at_once(throttle: ProblemThrottle) -> None:
    report = throttle.failing("build", "broken: x")
    assert report == Report("broken: x", 0)
    assert report.message() == "broken: x"


def test_repeats_within_the_quiet_interval_are_counted_not_reported(
    throttle: ProblemThrottle, clock: FakeClock
) -> None:
    assert throttle.failing("build", "broken") is not None
    held = []
    for _ in range(57):
        clock.now += 5
        held.append(throttle.failing("build", "broken"))
    assert held == [None] * 57  # 285 s: still inside the 300 s interval
    clock.now += 15
    report = throttle.failing("build", "broken")
    assert report == Report("broken", 57)
    assert report.message() == ("broken (still failing; 57 polls not logged since the last report)")
    # the interval starts again from that report, and so does the count
    clock.now += 299
    assert throttle.failing("build", "broken") is None
    clock.now += 1
    assert throttle.failing("build", "broken") == Report("broken", 1)
    assert Report("broken", 1).message().endswith("1 poll not logged since the last report)")


def test_a_changed_text_is_reported_at_once(throttle: ProblemThrottle) -> None:
    assert throttle.failing("search", "build A: bad") == Report("build A: bad")
    assert throttle.failing("search", "build A: bad") is None
    assert throttle.failing("search", "build B: bad") == Report("build B: bad")
    assert throttle.failing("search", "build B: bad") is None


def test_recovery_is_reported_once_and_a_relapse_is_new(
    throttle: ProblemThrottle, clock: FakeClock
) -> None:
    assert throttle.ok("build") is False  # never failed: nothing to say
    throttle.failing("build", "broken")
    throttle.failing("build", "broken")
    assert throttle.ok("build") is True
    assert throttle.ok("build") is False
    clock.now += 1  # well inside the interval, but the problem is new again
    assert throttle.failing("build", "broken") == Report("broken", 0)


def test_kinds_are_independent(throttle: ProblemThrottle, clock: FakeClock) -> None:
    assert throttle.failing("build", "same text") is not None
    assert throttle.failing("data_repo", "same text") is not None
    assert throttle.failing("build", "same text") is None
    assert throttle.ok("data_repo") is True
    clock.now += 300
    assert throttle.failing("build", "same text") == Report("same text", 1)
    assert throttle.ok("search_index") is False


def test_a_zero_interval_reports_every_time_and_a_negative_one_is_refused(
    clock: FakeClock,
) -> None:
    every = ProblemThrottle(quiet=0.0, monotonic=clock)
    assert [every.failing("k", "t") for _ in range(3)] == [Report("t")] * 3
    with pytest.raises(ValueError, match="negative"):
        ProblemThrottle(quiet=-1.0, monotonic=clock)


def test_concurrent_polls_report_once_and_count_the_rest(
    throttle: ProblemThrottle, clock: FakeClock
) -> None:
    reports: list[Report] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def poll() -> None:
        start.wait()
        for _ in range(250):
            report = throttle.failing("build", "broken")
            if report is not None:
                with lock:
                    reports.append(report)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reports == [Report("broken")]
    clock.now += 300
    assert throttle.failing("build", "broken") == Report("broken", 8 * 250 - 1)
