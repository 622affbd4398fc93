"""Fixtures for the replay tests: an in-process replay server on the sample corpus."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from curator.replay import ReplayServer, ReplayState


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer(ReplayState.sample()) as srv:
        yield srv


@pytest.fixture
def client(server: ReplayServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c
