"""Who may change which paths of the data tree in a pull request, and the check of one.

:func:`check_pull_request` takes the base and head commits of a pull request and its author
(a GitHub login, as GitHub reports it for the pull request), and returns a
:class:`PolicyReport`:

- the **changes** are the paths under the data prefix that differ between the merge base of
  base and head and the head (the pull request's own changes, as GitHub shows them; commits
  that reached the base branch meanwhile, such as sync runs, are not the author's);
- each changed path (added, modified or deleted) falls under one rule of
  :data:`curator.review.rules.RULES`, and its
  owner decides who may change it:

  ============================================  ==========================================
  path (relative to the data prefix)            who may change it in a pull request
  ============================================  ==========================================
  ``overrides/**``                              a trustee
  ``registry.json``, ``trustees.json``,         a trustee
  ``CODEOWNERS``, ``README.md``, ``.github/**``
  ``packages/**``, ``state/**``                 the curator's bot identity only
  anything else                                 nobody (the build would ignore it)
  ============================================  ==========================================

  Trustees and the bot are read from ``trustees.json`` **at the base commit**, never at the
  head, so a pull request cannot make its own author a trustee. The author is the pull
  request's author only: commit authors are not looked at, since anyone can write any name
  into a commit;
- when the pull request changes ``trustees.json``, the new file must be valid; when it
  changes ``trustees.json`` or ``CODEOWNERS``, the data tree's ``CODEOWNERS`` must be the one
  :func:`curator.review.codeowners.render_codeowners` makes from the new trustees;
- every override file at the head is validated (:func:`curator.review.validate.validate_view`).

Each rejection or problem is a :class:`Finding` (path, rule, message, and the field for file
problems). The report is ``ok`` when there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from curator.datarepo import DataError, DataRepo
from curator.models import TrusteesFile
from curator.review.codeowners import render_codeowners
from curator.review.display import literal, show_path
from curator.review.rules import (
    CODEOWNERS_FILE,
    RULES,
    TRUSTEES_FILE,
    Owner,
    PathRule,
    rule_for,
)
from curator.review.trustees import load_trustees, parse_trustees
from curator.review.validate import Validation, validate_view

__all__ = [
    "FORMAT",
    "RULES",
    "Finding",
    "PathChange",
    "PolicyError",
    "PolicyReport",
    "Role",
    "check_pull_request",
]

FORMAT: Final = 1
UNLISTED: Final = "unlisted-path"


class Role(StrEnum):
    """What the author of a pull request is, by ``trustees.json`` at the base."""

    TRUSTEE = "trustee"
    BOT = "bot"
    OTHER = "other"


class PolicyError(Exception):
    """The pull request cannot be checked (e.g. base and head share no history)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason the pull request cannot be merged as it is."""

    path: str  # shown repository path (prefix included)
    rule: str  # a RULES name, "unlisted-path", "validate", "trustees-file", "codeowners"
    message: str
    field: str | None = None  # for problems inside a file
    value: str | None = None  # escaped, bounded JSON literal

    def line(self) -> str:
        where = self.path if self.field is None else f"{self.path}: {self.field}"
        text = f"{where}: {self.message} [{self.rule}]"
        return text if self.value is None else f"{text} (value: {self.value})"

    def to_json(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "rule": self.rule,
            "field": self.field,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class PathChange:
    """One changed path of the pull request and the rule it falls under."""

    path: str  # shown repository path
    status: str  # "A", "M" or "D"
    rule: str
    owner: Owner | None
    allowed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "rule": self.rule,
            "owner": None if self.owner is None else self.owner.value,
            "allowed": self.allowed,
        }


@dataclass(slots=True)
class PolicyReport:
    """The result of checking one pull request."""

    base: str
    head: str
    merge_base: str
    author: str
    role: Role
    trustees_found: bool
    changes: list[PathChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    validation: Validation | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "ok": self.ok,
            "base": self.base,
            "head": self.head,
            "merge_base": self.merge_base,
            "author": self.author,
            "role": self.role.value,
            "trustees_found": self.trustees_found,
            "changes": [c.to_json() for c in self.changes],
            "findings": [f.to_json() for f in self.findings],
            "validation": None if self.validation is None else self.validation.to_json(),
        }


def _role(trustees: TrusteesFile | None, author: str) -> Role:
    if trustees is None:
        return Role.OTHER
    if trustees.is_trustee(author):
        return Role.TRUSTEE
    if trustees.is_bot(author):
        return Role.BOT
    return Role.OTHER


def _refusal(rule: PathRule, author: str, trustees: TrusteesFile | None, base: str) -> str:
    who = literal(author, limit=60)
    if trustees is None:
        return (
            f"{rule.what}: only {rule.owner.value} may change this, and there is no "
            f"{TRUSTEES_FILE} at the base commit {base[:12]}"
        )
    if rule.owner is Owner.BOT:
        return (
            f"{rule.what}: only the curator bot ({trustees.bot.login}) changes this; "
            f"{who} is not the bot. Trustees change what users get through overrides/"
        )
    return (
        f"{rule.what}: only trustees may change this; {who} is not listed in "
        f"{TRUSTEES_FILE} at the base commit {base[:12]}"
    )


def _check_config_files(repo: DataRepo, head: str, changed: set[str], report: PolicyReport) -> None:
    """A changed ``trustees.json`` must be valid and ``CODEOWNERS`` must follow it."""
    view = repo.view(head)
    shown = show_path(view.path(TRUSTEES_FILE))
    raw = view.read(TRUSTEES_FILE)
    if raw is None:
        if TRUSTEES_FILE in changed:
            report.findings.append(
                Finding(shown, "trustees-file", f"{TRUSTEES_FILE} must not be deleted")
            )
        return
    parsed = parse_trustees(raw, view.path(TRUSTEES_FILE))
    if isinstance(parsed, list):
        report.findings += [
            Finding(p.path, "trustees-file", p.message, p.field, p.value) for p in parsed
        ]
        return
    expected = render_codeowners(parsed, "", source=TRUSTEES_FILE).encode()
    if view.read(CODEOWNERS_FILE) != expected:
        report.findings.append(
            Finding(
                show_path(view.path(CODEOWNERS_FILE)),
                "codeowners",
                f"does not match {TRUSTEES_FILE}: run `curator ci codeowners` and commit "
                "the result",
            )
        )


def check_pull_request(repo: DataRepo, base: str, head: str, author: str) -> PolicyReport:
    """Check the changes of a pull request from commit ``base`` to commit ``head`` (full
    shas of ``repo``) made by GitHub user ``author``.

    Raises :class:`PolicyError` when base and head share no history,
    :class:`~curator.datarepo.DataError` when ``trustees.json`` at the base is invalid."""
    merge_base = repo.store.merge_base(base, head)
    if merge_base is None:
        raise PolicyError(f"{base[:12]} and {head[:12]} share no history")
    trustees = load_trustees(repo.view(base))
    role = _role(trustees, author)
    report = PolicyReport(base, head, merge_base, author, role, trustees is not None)
    changed: set[str] = set()
    for path, status in repo.store.changed_paths(merge_base, head, repo.prefix):
        rel = path[len(repo.prefix) :]
        changed.add(rel)
        shown = show_path(path)
        rule = rule_for(rel)
        if rule is None:
            report.changes.append(PathChange(shown, status, UNLISTED, None, False))
            report.findings.append(
                Finding(
                    shown,
                    UNLISTED,
                    "not a path pull requests may change: override files go in "
                    "overrides/plugins/ or overrides/themes/",
                )
            )
            continue
        allowed = (rule.owner is Owner.TRUSTEES and role is Role.TRUSTEE) or (
            rule.owner is Owner.BOT and role is Role.BOT
        )
        report.changes.append(PathChange(shown, status, rule.name, rule.owner, allowed))
        if not allowed:
            report.findings.append(
                Finding(shown, rule.name, _refusal(rule, author, trustees, base))
            )
    if changed & {TRUSTEES_FILE, CODEOWNERS_FILE}:
        _check_config_files(repo, head, changed, report)
    try:
        report.validation = validate_view(repo.view(head))
    except DataError as exc:
        report.findings.append(Finding(show_path(repo.prefix), "validate", str(exc)))
        return report
    report.findings += [
        Finding(p.path, "validate", p.message, p.field, p.value) for p in report.validation.problems
    ]
    return report
