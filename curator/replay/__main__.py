"""``python -m curator.replay``: the replay server as a subprocess (see :mod:`.cli`)."""

from curator.replay.cli import replay

replay(prog_name="python -m curator.replay")
