"""Pull requests made of real commits: a data repository like this one (prefix
``registry-data/``, the shipped sample corpus, ``trustees.json`` and ``CODEOWNERS``) and
pull-request branches committed on top of its base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from curator import canonical
from curator.build.seed import AUTHOR, commit_records, record_from_line
from curator.datarepo import DataRepo
from curator.layout import PackageType
from curator.models import PackageRecord, TrusteesFile
from curator.review.codeowners import render_codeowners
from curator.sync import DEFAULT_AUTHOR
from tests.conftest import RepoFactory

SAMPLE = Path(__file__).resolve().parents[2] / "curator" / "replay" / "sample"
TRUSTEE = "alice-trustee"
OTHER = "mallory"
BOT = "wp-composer-curator-bot"
PREFIX = "registry-data/"


def trustees_data(*logins: str, bot: str = BOT) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trustees": [{"login": login, "name": login.title()} for login in logins],
        "bot": {"login": bot, "git_author": DEFAULT_AUTHOR},
    }


def config_files(*logins: str) -> dict[str, bytes]:
    """``trustees.json`` and the matching data-tree ``CODEOWNERS``."""
    data = trustees_data(*logins)
    owners = render_codeowners(TrusteesFile.model_validate(data), "", source="trustees.json")
    return {"trustees.json": canonical.dumps(data), "CODEOWNERS": owners.encode()}


def sample_records() -> list[PackageRecord]:
    out = []
    for name, kind in (("plugins.jsonl", PackageType.PLUGIN), ("themes.jsonl", PackageType.THEME)):
        for line in (SAMPLE / name).read_bytes().splitlines():
            if line.strip():
                record = record_from_line(kind, orjson.loads(line))
                if record is not None:
                    out.append(record)
    return out


def make_registry(new_data_repo: RepoFactory, *logins: str) -> DataRepo:
    """The sample corpus and the trustees (default: :data:`TRUSTEE`) on ``main``."""
    repo = new_data_repo(prefix=PREFIX)
    commit_records(repo, sample_records(), extra=config_files(*(logins or (TRUSTEE,))))
    return repo


def open_pr(
    repo: DataRepo,
    files: dict[str, bytes | None],
    *,
    branch: str = "pr",
    base: str | None = None,
    message: str = "Raise the PHP bound\n",
) -> str:
    """A pull-request branch: one commit of ``files`` (data-tree paths) on top of ``base``
    (default: the head of ``main``); returns the head commit."""
    parent = base or repo.head()
    assert parent is not None
    pr = DataRepo(repo.store, repo.prefix, f"refs/heads/{branch}")
    repo.store.update_ref(pr.ref, None, parent)  # the branch starts at its base
    last = next(repo.store.log(parent, max_count=1)).timestamp
    sha = pr.commit(
        parent=parent, changes=files, message=message, author=AUTHOR, timestamp=last + 60
    )
    assert sha is not None
    return sha


def override(**fields: Any) -> bytes:
    base = {"reason": "Fatal errors on PHP 7", "author": TRUSTEE, "date": "2026-11-02"}
    return canonical.dumps({**base, **fields})
