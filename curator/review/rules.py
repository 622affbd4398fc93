"""The path rules of the data tree: which paths exist for pull requests to change, and who
owns each (trustees or the curator's bot). :mod:`curator.review.policy` applies them to a pull
request; :mod:`curator.review.codeowners` writes them as CODEOWNERS entries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["CODEOWNERS_FILE", "RULES", "TRUSTEES_FILE", "Owner", "PathRule", "rule_for"]

TRUSTEES_FILE: Final = "trustees.json"
CODEOWNERS_FILE: Final = "CODEOWNERS"


class Owner(StrEnum):
    TRUSTEES = "trustees"
    BOT = "bot"


@dataclass(frozen=True, slots=True)
class PathRule:
    """Paths (relative to the data prefix) and who owns them. A ``pattern`` ending in ``/``
    is a folder and matches everything below it; otherwise it is one file."""

    name: str
    pattern: str
    owner: Owner
    what: str

    def matches(self, rel: str) -> bool:
        if self.pattern.endswith("/"):
            return rel.startswith(self.pattern)
        return rel == self.pattern


RULES: Final = (
    PathRule("overrides", "overrides/", Owner.TRUSTEES, "override files"),
    PathRule("registry-config", "registry.json", Owner.TRUSTEES, "the registry's configuration"),
    PathRule("trustees", TRUSTEES_FILE, Owner.TRUSTEES, "the list of trustees"),
    PathRule("codeowners", CODEOWNERS_FILE, Owner.TRUSTEES, "the code owners"),
    PathRule("readme", "README.md", Owner.TRUSTEES, "the data tree's notes"),
    PathRule("github", ".github/", Owner.TRUSTEES, "a data-only repository's GitHub settings"),
    PathRule("synced-data", "packages/", Owner.BOT, "records written by sync runs"),
    PathRule("sync-state", "state/", Owner.BOT, "sync cursors written by sync runs"),
)


def rule_for(rel: str) -> PathRule | None:
    """The rule for a path relative to the data prefix; None when no rule allows it."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in rel:
        return None
    return next((rule for rule in RULES if rule.matches(rel)), None)
