"""Posting the pull-request preview on GitHub, through PyGithub (the only module that
imports it).

:func:`open_repository` and :func:`read_pull_request` read the pull request (its author,
base and head); :func:`post_preview` creates the one preview comment of a pull request or
updates it in place. The comment is
found by the hidden marker at the start of its body (:data:`curator.review.preview.MARKER`)
**and** its author (``comment_author``, by default ``github-actions[bot]``, the login behind a
workflow's ``GITHUB_TOKEN``), so a comment someone else wrote with the marker is never
touched. An unchanged body is not written again. Comments are read a page of
``per_page`` at a time (at most :data:`MAX_COMMENTS`).

The requests, in order: ``GET /repos/{owner}/{repo}``, ``GET /repos/{owner}/{repo}/pulls/{n}``
(once to read the pull request, once more right before posting, to see that its head has
not moved), ``GET /repos/{owner}/{repo}/issues/{n}/comments`` (following
``Link: rel="next"``), then
``POST /repos/{owner}/{repo}/issues/{n}/comments`` or
``PATCH /repos/{owner}/{repo}/issues/comments/{id}``. ``api_url`` is PyGithub's ``base_url``:
``https://api.github.com`` for GitHub, ``https://HOST/api/v3`` for GitHub Enterprise, a
local fake in tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

from github import Auth, Github, GithubException
from github.Repository import Repository

from curator.review.preview import MARKER

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_COMMENT_AUTHOR",
    "CommentResult",
    "GitHubError",
    "GitHubSettings",
    "PullRequestInfo",
    "connect",
    "open_repository",
    "post_preview",
    "read_pull_request",
]

DEFAULT_API_URL: Final = "https://api.github.com"
DEFAULT_COMMENT_AUTHOR: Final = "github-actions[bot]"
MAX_COMMENTS: Final = 5000  # comments read while looking for ours
_REPO_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")


class GitHubError(Exception):
    """GitHub could not be reached, or refused a request."""


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """How to talk to GitHub. ``throttle`` keeps PyGithub's pauses between requests (GitHub
    asks clients to space out writes); tests against a local fake turn it off."""

    token: str
    api_url: str = DEFAULT_API_URL
    timeout: int = 30
    retries: int = 2
    per_page: int = 100
    throttle: bool = True


@dataclass(frozen=True, slots=True)
class PullRequestInfo:
    number: int
    author: str
    base: str
    head: str


@dataclass(frozen=True, slots=True)
class CommentResult:
    """What :func:`post_preview` did: ``created``, ``updated``, ``unchanged`` (the comment
    already said this) or ``skipped`` (the pull request moved on: a newer run will post)."""

    action: Literal["created", "updated", "unchanged", "skipped"]
    comment_id: int | None
    url: str | None
    reason: str = ""


def check_repo_name(name: str) -> str:
    if not _REPO_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"not a GitHub repository name (OWNER/NAME): {name!r}")
    return name


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        raise GitHubError(f"GitHub answered {exc.status}: {message or exc}") from None
    except OSError as exc:  # requests' errors (connection refused, timeouts) are OSErrors
        raise GitHubError(f"cannot reach GitHub: {' '.join(str(exc).split())[:300]}") from None


def connect(settings: GitHubSettings) -> Github:
    """A PyGithub client for ``settings`` (no request is made yet)."""
    pause = None if not settings.throttle else 0.25
    return Github(
        auth=Auth.Token(settings.token),
        base_url=settings.api_url.rstrip("/"),
        timeout=settings.timeout,
        per_page=settings.per_page,
        retry=settings.retries or None,
        seconds_between_requests=pause,
        seconds_between_writes=None if not settings.throttle else 1.0,
        user_agent="wp-composer-curator",
    )


def open_repository(client: Github, repo_name: str) -> Repository:
    """The repository ``OWNER/NAME`` (one request)."""
    with _translated():
        return client.get_repo(check_repo_name(repo_name))


def read_pull_request(repo: Repository, number: int) -> PullRequestInfo:
    """The author and commits of pull request ``number``."""
    with _translated():
        pull = repo.get_pull(number)
        return PullRequestInfo(number, pull.user.login, pull.base.sha, pull.head.sha)


def post_preview(
    repo: Repository,
    number: int,
    body: str,
    *,
    head: str | None = None,
    comment_author: str = DEFAULT_COMMENT_AUTHOR,
) -> CommentResult:
    """Create or update the preview comment of pull request ``number``. With ``head``,
    nothing is written when the pull request's head is another commit by now."""
    if not body.startswith(MARKER):
        raise ValueError("a preview body starts with the marker")
    with _translated():
        pull = repo.get_pull(number)
        if head is not None and pull.head.sha != head:
            return CommentResult(
                "skipped",
                None,
                None,
                f"the pull request's head is {pull.head.sha[:12]} now, not {head[:12]}",
            )
        author = comment_author.casefold()
        comments = pull.get_issue_comments()
        for n, comment in enumerate(comments):
            if n >= MAX_COMMENTS:
                break
            if not (comment.body or "").startswith(MARKER):
                continue
            if comment.user is None or comment.user.login.casefold() != author:
                continue
            if comment.body == body:
                return CommentResult("unchanged", comment.id, comment.html_url)
            comment.edit(body)
            return CommentResult("updated", comment.id, comment.html_url)
        created = pull.create_issue_comment(body)
        return CommentResult("created", created.id, created.html_url)
