"""Shared helpers for the Composer version tests: the PHP oracle and the real corpus."""

from __future__ import annotations

import json
import lzma
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ORACLE_SCRIPT = Path(__file__).with_name("oracle.php")
DEFAULT_SEMVER_AUTOLOAD = "/usr/share/php/Composer/Semver/autoload.php"
CORPUS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "corpus"
    / "wporg-plugins-2024-04-16.jsonl.xz"
)

SETUP_HINT = (
    "the Composer oracle is missing: run the project's setup (scripts/setup), which installs "
    "the Debian packages 'php-cli' and 'composer' (composer/semver lands in "
    f"{DEFAULT_SEMVER_AUTOLOAD}); set CURATOR_SEMVER_AUTOLOAD to use another copy"
)


def semver_autoload() -> str:
    """Path of composer/semver's autoloader (override with ``CURATOR_SEMVER_AUTOLOAD``)."""
    return os.environ.get("CURATOR_SEMVER_AUTOLOAD", DEFAULT_SEMVER_AUTOLOAD)


def require_oracle() -> str:
    """The ``php`` executable; fails (never skips) the test when the oracle is unavailable."""
    php = shutil.which("php")
    if php is None:
        pytest.fail(f"php not found on PATH; {SETUP_HINT}", pytrace=False)
    if not Path(semver_autoload()).is_file():
        pytest.fail(f"{semver_autoload()} not found; {SETUP_HINT}", pytrace=False)
    return php


def ask_oracle(requests: list[list[Any]]) -> list[Any]:
    """Run every request through ``tests/composer/oracle.php`` in one PHP process."""
    php = require_oracle()
    payload = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in requests).encode()
    proc = subprocess.run(
        [php, "-d", "memory_limit=1G", str(ORACLE_SCRIPT), semver_autoload()],
        input=payload,
        capture_output=True,
        check=False,
        timeout=240,
    )
    if proc.returncode != 0:
        pytest.fail(f"oracle.php failed ({proc.returncode}): {proc.stderr.decode()[:2000]}")
    lines = proc.stdout.decode("utf-8").split("\n")
    assert lines.pop() == "", "oracle output must end with a newline"
    assert len(lines) == len(requests), (len(lines), len(requests), proc.stderr[:2000])
    answers = [json.loads(line) for line in lines]
    problems = [
        (req, ans)
        for req, ans in zip(requests, answers, strict=True)
        if isinstance(ans, dict) and ("error" in ans or "warnings" in ans)
    ]
    assert not problems, f"PHP raised errors or warnings: {problems[:10]}"
    return answers


@dataclass
class CorpusValues:
    """Every version-like value of the recorded WordPress.org plugin corpus."""

    records: int = 0
    version_keys: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    stable_tags: list[str] = field(default_factory=list)
    requires_php: list[str] = field(default_factory=list)


def load_corpus() -> CorpusValues:
    """Read the corpus (keys of ``versions``, and ``version``, ``stable_tag``...)."""
    if not CORPUS.is_file():
        pytest.fail(f"real corpus missing at {CORPUS} (the repository's ../shared)")
    values = CorpusValues()
    with lzma.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            values.records += 1
            tags = record.get("versions")
            if isinstance(tags, dict):
                values.version_keys.extend(tags)
            for name, bucket in (
                ("version", values.versions),
                ("stable_tag", values.stable_tags),
                ("requires_php", values.requires_php),
            ):
                value = record.get(name)
                if isinstance(value, str):
                    bucket.append(value)
    return values


@pytest.fixture(scope="session")
def wporg_corpus() -> CorpusValues:
    """The corpus values, read once per session."""
    return load_corpus()


@pytest.fixture(scope="session")
def require_composer_oracle() -> Callable[[], str]:
    """A check to call from a test: it fails that test (with the setup hint) without PHP."""
    return require_oracle


@pytest.fixture(scope="session")
def composer_oracle() -> Callable[[list[list[Any]]], list[Any]]:
    """``ask(requests) -> answers``: one PHP process per call (fails if PHP is missing)."""
    require_oracle()
    return ask_oracle
