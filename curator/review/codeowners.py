"""CODEOWNERS files made from ``trustees.json`` and the path rules of
:mod:`curator.review.policy`, so GitHub's review requests and ``curator ci check-pr`` agree.

Two copies, both generated (``curator ci codeowners``) and checked (``--check``, CI):

- ``<prefix>CODEOWNERS``, paths relative to the data tree (``/overrides/``): the file GitHub
  reads when the data tree is a data-only repository (prefix ``""``), where it is the root
  CODEOWNERS;
- ``.github/CODEOWNERS``, paths with the prefix (``/registry-data/overrides/``): the one
  GitHub reads in this repository (GitHub only looks in ``.github/``, the root and ``docs/``).
  Not written for a data-only repository, where the first copy already is the root one.

Trustee paths list every trustee (``@login``), bot paths the bot's login. A rule with no
owner (no trustees yet) is written without owners, which GitHub reads as "no code owner".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from curator.models import TrusteesFile
from curator.review.rules import CODEOWNERS_FILE, RULES, TRUSTEES_FILE, Owner

__all__ = ["GITHUB_CODEOWNERS", "CodeownersFile", "expected_files", "render_codeowners"]

GITHUB_CODEOWNERS: Final = ".github/CODEOWNERS"


def render_codeowners(trustees: TrusteesFile, prefix: str, *, source: str) -> str:
    """The CODEOWNERS text for the data tree at ``prefix`` (``""`` or ``"dir/"``);
    ``source`` names the trustees file in the header."""
    trustee_owners = [f"@{t.login}" for t in trustees.trustees]
    bot_owners = [f"@{trustees.bot.login}"]
    lines = [
        f"# Generated from {source} by `curator ci codeowners`: do not edit by hand.",
        "# Trustees own the overrides and the registry's configuration; the curator's bot",
        "# owns the synced data. `curator ci check-pr` applies the same rules.",
    ]
    for rule in RULES:
        if rule.name == "github" and prefix:
            continue  # only meaningful at the root of a data-only repository
        owners = trustee_owners if rule.owner is Owner.TRUSTEES else bot_owners
        lines.append(" ".join([f"/{prefix}{rule.pattern}", *owners]))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class CodeownersFile:
    """One CODEOWNERS file and the text it must hold."""

    path: Path
    expected: str

    def is_current(self) -> bool:
        try:
            return self.path.read_text(encoding="utf-8") == self.expected
        except (OSError, UnicodeDecodeError):
            return False


def expected_files(root: Path, prefix: str, trustees: TrusteesFile) -> list[CodeownersFile]:
    """The CODEOWNERS files of the checkout at ``root`` whose data tree is at ``prefix``."""
    files = [
        CodeownersFile(
            root / f"{prefix}{CODEOWNERS_FILE}",
            render_codeowners(trustees, "", source=TRUSTEES_FILE),
        )
    ]
    if prefix:
        files.append(
            CodeownersFile(
                root / GITHUB_CODEOWNERS,
                render_codeowners(trustees, prefix, source=f"{prefix}{TRUSTEES_FILE}"),
            )
        )
    return files
