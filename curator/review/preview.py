"""The pull-request preview: the check of a pull request (:mod:`curator.review.policy`) and
what Composer users would see change (:mod:`curator.review.diff`), as one Markdown comment.

:func:`render_preview` is pure. The comment starts with :data:`MARKER` (a hidden HTML
comment) so the one comment of a pull request can be found and updated, and it is never
longer than GitHub's limit (65,536 characters): the diff is first shortened to fewer
packages, then the lists are cut, each time saying how much was left out.

Everything taken from the data (paths, values, messages, logins) is shown in code spans
(:func:`curator.review.display.code`), so it stays inert text in Markdown and HTML.
"""

from __future__ import annotations

from typing import Final

from curator.review.diff import DiffResult, render_text
from curator.review.display import code
from curator.review.policy import Finding, PolicyReport, Role

__all__ = ["MARKER", "MAX_COMMENT", "render_preview"]

MARKER: Final = "<!-- curator-preview -->"
MAX_COMMENT: Final = 65_536  # GitHub's limit on an issue comment body, in characters
MAX_LINE: Final = 400  # characters of one finding shown
MAX_LISTED: Final = 100  # findings or changed paths listed before the rest are counted
_ROLES: Final = {Role.TRUSTEE: "trustee", Role.BOT: "the curator bot", Role.OTHER: "not a trustee"}
_STATUS: Final = {"A": "added", "M": "changed", "D": "deleted"}


def _finding(finding: Finding) -> str:
    return f"- {code(finding.line(), limit=MAX_LINE)}"


def _head(report: PolicyReport) -> list[str]:
    problems = len(report.findings)
    verdict = (
        "✅ **Checks passed**"
        if report.ok
        else f"❌ **{problems} problem{'' if problems == 1 else 's'}**: this cannot be merged "
        "as it is"
    )
    files = len(report.changes)
    validated = report.validation.files if report.validation is not None else 0
    return [
        MARKER,
        "## Curator preview",
        "",
        verdict,
        "",
        f"Author {code(report.author, limit=60)} ({_ROLES[report.role]}); {files} data "
        f"file(s) changed since {code(report.merge_base[:12])}; {validated} override file(s) "
        f"validated at head {code(report.head[:12])}.",
    ]


def _findings(report: PolicyReport, listed: int) -> list[str]:
    if not report.findings:
        return []
    lines = ["", "### Problems", ""]
    lines += [_finding(f) for f in report.findings[:listed]]
    more = len(report.findings) - listed
    if more > 0:
        lines.append(f"- … and {more} more (run `curator ci check-pr` locally)")
    return lines


def _changes(report: PolicyReport, listed: int) -> list[str]:
    if not report.changes:
        return []
    lines = ["", "<details><summary>Changed data files</summary>", ""]
    for change in report.changes[:listed]:
        owner = change.owner.value if change.owner is not None else "nobody"
        mark = "✅" if change.allowed else "❌"
        lines.append(
            f"- {mark} {code(change.path, limit=200)} {_STATUS.get(change.status, '?')} "
            f"(rule {code(change.rule)}, owned by {owner})"
        )
    more = len(report.changes) - listed
    if more > 0:
        lines.append(f"- … and {more} more")
    lines += ["", "</details>"]
    return lines


def _diff(diff: DiffResult | None, diff_error: str | None, max_packages: int | None) -> list[str]:
    if diff is not None:
        return ["", render_text(diff, max_packages=max_packages).rstrip("\n")]
    why = code(diff_error or "unknown error", limit=MAX_LINE)
    return ["", f"⚠️ The Composer preview could not be computed: {why}"]


def _footer(report: PolicyReport) -> list[str]:
    return [
        "",
        f"<sub>Updated by `curator ci comment` for {code(report.head)}. Preview locally "
        f"with `curator ci check-pr` and `curator diff {report.merge_base[:12]} "
        f"{report.head[:12]}`.</sub>",
        "",
    ]


def render_preview(
    report: PolicyReport,
    diff: DiffResult | None,
    *,
    diff_error: str | None = None,
    limit: int = MAX_COMMENT,
) -> str:
    """The comment body for ``report`` and ``diff`` (None when it failed: ``diff_error``
    says why), at most ``limit`` characters."""
    count = len(diff.packages) if diff is not None else 0
    # each attempt: (packages described, findings and paths listed)
    attempts: list[tuple[int | None, int]] = [(None, MAX_LISTED)]
    packages = count
    while packages > 0:
        packages //= 2
        attempts.append((packages, MAX_LISTED))
    attempts += [(0, 20), (0, 0)]
    body = ""
    for max_packages, listed in attempts:
        lines = _head(report) + _findings(report, listed) + _changes(report, listed)
        lines += _diff(diff, diff_error, max_packages) + _footer(report)
        body = "\n".join(lines)
        if len(body) <= limit:
            return body
    tail = f"\n\n… (cut to {limit} characters)\n"
    return body[: max(0, limit - len(tail))].rsplit("\n", 1)[0] + tail
