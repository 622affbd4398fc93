"""A local replay of WordPress.org for tests, benchmarks and the demo.

WordPress.org cannot be reached from CI or the demo machine, so the replay serves recorded
records the way the real endpoints do — the plugins/themes info APIs (1.2), the SVN root
listings, the Trac change logs and the download zips — under one base URL laid out as
``curator.models.config.UpstreamConfig.from_base(base)``, with scripted changes (new releases,
closures, additions, deletions; each a new SVN revision) and fault injection.

Modules: :mod:`.corpus` (records on disk), :mod:`.api` (info API field selection),
:mod:`.formats` (SVN listing / Trac log text), :mod:`.zips` (download archives),
:mod:`.faults`, :mod:`.state` (the mutable world), :mod:`.app` (ASGI),
:mod:`.server` (uvicorn), :mod:`.process` (a child process), :mod:`.cli` (``curator replay``).
"""

from curator.replay.app import ReplayApp, create_app
from curator.replay.corpus import load_corpus, sample_corpus_paths
from curator.replay.faults import FaultConfig
from curator.replay.process import ReplayProcess
from curator.replay.server import ReplayServer, run_replay
from curator.replay.state import ChangeError, ReplayState

__all__ = [
    "ChangeError",
    "FaultConfig",
    "ReplayApp",
    "ReplayProcess",
    "ReplayServer",
    "ReplayState",
    "create_app",
    "load_corpus",
    "run_replay",
    "sample_corpus_paths",
]
