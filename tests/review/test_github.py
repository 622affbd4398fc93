"""Posting the preview through PyGithub, against a local fake of GitHub's REST API on
127.0.0.1 (tests/review/fake_github.py): the requests made (method, path, auth, body), one
comment created and then updated in place, pagination, other people's comments left alone,
stale runs, and failures."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from github import Github

from curator.review.github import (
    GitHubError,
    GitHubSettings,
    check_repo_name,
    connect,
    open_repository,
    post_preview,
    read_pull_request,
)
from curator.review.preview import MARKER
from tests.review.fake_github import BOT, TOKEN, FakeGitHub

REPO = "wp-composer/registry"
BASE, HEAD = "a" * 40, "b" * 40
BODY = f"{MARKER}\n## Curator preview\n\nfirst\n"
BODY2 = f"{MARKER}\n## Curator preview\n\nsecond\n"
HUMAN = {"login": "mallory", "id": 7, "type": "User"}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(REPO) as fake:
        fake.add_pull(42, "alice-trustee", BASE, HEAD)
        yield fake


def client(fake: FakeGitHub, *, token: str = TOKEN, per_page: int = 100) -> Github:
    return connect(
        GitHubSettings(
            token=token, api_url=fake.api_url, throttle=False, retries=0, per_page=per_page
        )
    )


def post(fake: FakeGitHub, body: str, *, head: str | None = HEAD, per_page: int = 100) -> str:
    gh = client(fake, per_page=per_page)
    try:
        return post_preview(open_repository(gh, REPO), 42, body, head=head).action
    finally:
        gh.close()


def test_first_run_reads_the_pull_request_and_creates_one_comment(github: FakeGitHub) -> None:
    gh = client(github)
    repo = open_repository(gh, REPO)
    pull = read_pull_request(repo, 42)
    assert (pull.number, pull.author, pull.base, pull.head) == (42, "alice-trustee", BASE, HEAD)
    result = post_preview(repo, 42, BODY, head=HEAD)
    gh.close()

    assert result.action == "created"
    assert result.url == f"https://github.example/{REPO}/pull/42#issuecomment-{result.comment_id}"
    assert github.calls() == [
        ("GET", f"/repos/{REPO}"),
        ("GET", f"/repos/{REPO}/pulls/42"),
        ("GET", f"/repos/{REPO}/pulls/42"),
        ("GET", f"/repos/{REPO}/issues/42/comments"),
        ("POST", f"/repos/{REPO}/issues/42/comments"),
    ]
    for request in github.requests:
        assert request.headers["authorization"] == f"token {TOKEN}"
        assert request.headers["user-agent"] == "wp-composer-curator"
    listing, create = github.requests[3], github.requests[4]
    assert listing.query == {"per_page": "100"}
    assert create.body == {"body": BODY}
    assert create.headers["content-type"].startswith("application/json")
    assert [c["body"] for c in github.pulls[42].comments] == [BODY]


def test_a_second_run_updates_the_comment_instead_of_adding_one(github: FakeGitHub) -> None:
    assert post(github, BODY) == "created"
    first = github.pulls[42].comments[0]["id"]
    github.requests.clear()

    assert post(github, BODY2) == "updated"
    assert github.calls()[-1] == ("PATCH", f"/repos/{REPO}/issues/comments/{first}")
    assert github.requests[-1].body == {"body": BODY2}
    assert [(c["id"], c["body"]) for c in github.pulls[42].comments] == [(first, BODY2)]
    assert not [r for r in github.requests if r.method == "POST"]

    # the same body again: nothing is written
    github.requests.clear()
    assert post(github, BODY2) == "unchanged"
    assert {r.method for r in github.requests} == {"GET"}


def test_comments_are_read_page_by_page_following_link_headers(github: FakeGitHub) -> None:
    for n in range(7):
        github.add_comment(42, f"comment {n}", HUMAN)
    github.add_comment(42, BODY, BOT)  # ours, on the third page of 3
    github.add_comment(42, "after", HUMAN)
    github.requests.clear()

    assert post(github, BODY2, per_page=3) == "updated"
    listings = [r for r in github.requests if r.path.endswith("/issues/42/comments")]
    assert [r.query for r in listings] == [
        {"per_page": "3"},
        {"per_page": "3", "page": "2"},
        {"per_page": "3", "page": "3"},
    ]
    assert len(github.pulls[42].comments) == 9
    assert github.pulls[42].comments[7]["body"] == BODY2


def test_a_marked_comment_by_someone_else_is_not_ours(github: FakeGitHub) -> None:
    github.add_comment(42, BODY, HUMAN)  # copies the marker; we must not edit it
    assert post(github, BODY2) == "created"
    bodies = [(c["user"]["login"], c["body"]) for c in github.pulls[42].comments]
    assert bodies == [("mallory", BODY), ("github-actions[bot]", BODY2)]
    assert not [r for r in github.requests if r.method == "PATCH"]


def test_a_run_for_an_older_head_posts_nothing(github: FakeGitHub) -> None:
    gh = client(github)
    result = post_preview(open_repository(gh, REPO), 42, BODY, head="c" * 40)
    gh.close()
    assert result.action == "skipped"
    assert result.reason == f"the pull request's head is {HEAD[:12]} now, not {'c' * 12}"
    assert {r.method for r in github.requests} == {"GET"}
    assert github.pulls[42].comments == []


def test_a_bad_token_a_missing_pull_request_and_server_errors_are_github_errors(
    github: FakeGitHub,
) -> None:
    bad = client(github, token="ghs_wrong")
    with pytest.raises(GitHubError, match="GitHub answered 401: Bad credentials"):
        open_repository(bad, REPO)
    gh = client(github)
    repo = open_repository(gh, REPO)
    with pytest.raises(GitHubError, match="GitHub answered 404: Not Found"):
        read_pull_request(repo, 43)
    github.fail_next = [502]
    with pytest.raises(GitHubError, match="GitHub answered 502: fake failure 502"):
        post_preview(repo, 42, BODY)
    assert github.pulls[42].comments == []
    with pytest.raises(ValueError, match="starts with the marker"):
        post_preview(repo, 42, "no marker")


def test_an_unreachable_api_is_a_github_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gh = connect(
        GitHubSettings(token=TOKEN, api_url=f"http://127.0.0.1:{port}", throttle=False, retries=0)
    )
    with pytest.raises(GitHubError, match="cannot reach GitHub"):
        open_repository(gh, REPO)


@pytest.mark.parametrize(
    "name", ["", "noslash", "a/b/c", "../x", "a/..", "-a/b", "a/b c", "a/b\n", "a" * 40 + "/b"]
)
def test_repository_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError, match="not a GitHub repository name"):
        check_repo_name(name)
    assert check_repo_name("wp-composer/registry.data_1") == "wp-composer/registry.data_1"
