from curator.records import Change
from curator.runlog import format_message, read_run


def test_message_round_trips_through_trailers() -> None:
    counts = {Change.ADDED: 3, Change.FAILED: 1}
    msg = format_message(
        counts=counts,
        sources=["plugins: SVN listing r5, 4 slugs"],
        failures=[("plugin/x", "HTTP 503 after 3 retries")],
        run_id="abc",
        version="0.1.0",
        types=["plugin"],
    )
    assert msg.splitlines()[0] == "sync: 3 added, 0 updated, 1 failed"
    assert "plugin/x: HTTP 503 after 3 retries" in msg
    trailers = dict(line.split(": ", 1) for line in msg.strip().split("\n\n")[-1].splitlines())
    run = read_run("sha", 1, "subject", trailers)
    assert run.run_id == "abc" and run.version == "0.1.0"
    assert run.counts[Change.ADDED] == 3 and run.counts[Change.FAILED] == 1
    assert run.counts[Change.UPDATED] == 0
