"""A local fake of the GitHub REST endpoints `curator ci comment` calls, on 127.0.0.1.

It implements exactly these, with the JSON shapes GitHub returns (trimmed to the fields a
client reads) and GitHub's pagination (``per_page``/``page`` query, ``Link`` header)::

    GET   /repos/{owner}/{repo}
    GET   /repos/{owner}/{repo}/pulls/{n}
    GET   /repos/{owner}/{repo}/issues/{n}/comments
    POST  /repos/{owner}/{repo}/issues/{n}/comments
    PATCH /repos/{owner}/{repo}/issues/comments/{id}

Everything else is a 404 with GitHub's error body; a wrong token is a 401. Every request is
recorded (method, path, query, headers, JSON body) for the tests to assert on. The API can
live under a path prefix (``/api/v3``, as on GitHub Enterprise).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_fake-token-for-tests"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class PullRequest:
    number: int
    author: str
    base_sha: str
    head_sha: str
    comments: list[dict[str, Any]] = field(default_factory=list)


class FakeGitHub:
    """``with FakeGitHub("octo/registry") as gh: gh.api_url``; ``gh.requests`` is the log."""

    def __init__(self, repo: str, *, prefix: str = "/api/v3") -> None:
        self.repo = repo
        self.prefix = prefix
        self.pulls: dict[int, PullRequest] = {}
        self.requests: list[Request] = []
        self.fail_next: list[int] = []  # statuses to answer the next requests with
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- set-up ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}{self.prefix}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def add_pull(self, number: int, author: str, base_sha: str, head_sha: str) -> PullRequest:
        pull = PullRequest(number, author, base_sha, head_sha)
        self.pulls[number] = pull
        return pull

    def add_comment(self, number: int, body: str, user: dict[str, Any] | None = None) -> int:
        with self._lock:
            return self._new_comment(self.pulls[number], body, user or BOT)["id"]  # type: ignore[no-any-return]

    def calls(self) -> list[tuple[str, str]]:
        """(method, path without the prefix) of every request, in order."""
        return [(r.method, r.path.removeprefix(self.prefix)) for r in self.requests]

    # -- JSON shapes -------------------------------------------------------------------

    def _user(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": abs(hash(login)) % 10_000_000,
            "type": "User",
            "url": f"{self.api_url}/users/{login}",
            "html_url": f"https://github.example/{login}",
        }

    def _repo_json(self) -> dict[str, Any]:
        owner, name = self.repo.split("/")
        return {
            "id": 123456,
            "node_id": "R_kgDOfake",
            "name": name,
            "full_name": self.repo,
            "private": False,
            "owner": self._user(owner) | {"type": "Organization"},
            "html_url": f"https://github.example/{self.repo}",
            "url": f"{self.api_url}/repos/{self.repo}",
            "default_branch": "main",
        }

    def _pull_json(self, pull: PullRequest) -> dict[str, Any]:
        repo_url = f"{self.api_url}/repos/{self.repo}"
        ref = {"repo": self._repo_json(), "user": self._user(self.repo.split("/")[0])}
        return {
            "id": 900000 + pull.number,
            "number": pull.number,
            "state": "open",
            "title": "Raise the PHP bound",
            "user": self._user(pull.author),
            "url": f"{repo_url}/pulls/{pull.number}",
            "html_url": f"https://github.example/{self.repo}/pull/{pull.number}",
            "issue_url": f"{repo_url}/issues/{pull.number}",
            "comments_url": f"{repo_url}/issues/{pull.number}/comments",
            "head": {"ref": "raise-php", "sha": pull.head_sha, "label": "x:raise-php", **ref},
            "base": {"ref": "main", "sha": pull.base_sha, "label": "x:main", **ref},
            "merged": False,
            "draft": False,
        }

    def _new_comment(self, pull: PullRequest, body: str, user: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid,
            "node_id": f"IC_fake{cid}",
            "url": f"{self.api_url}/repos/{self.repo}/issues/comments/{cid}",
            "html_url": f"https://github.example/{self.repo}/pull/{pull.number}#issuecomment-{cid}",
            "issue_url": f"{self.api_url}/repos/{self.repo}/issues/{pull.number}",
            "body": body,
            "user": user,
            "created_at": "2026-11-01T12:00:00Z",
            "updated_at": "2026-11-01T12:00:00Z",
            "author_association": "NONE",
        }
        pull.comments.append(comment)
        return comment

    # -- routing -----------------------------------------------------------------------

    def _route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        if req.headers.get("authorization") != f"token {TOKEN}":
            return 401, {"message": "Bad credentials", "status": "401"}, {}
        if self.fail_next:
            status = self.fail_next.pop(0)
            return status, {"message": f"fake failure {status}"}, {}
        path = req.path.removeprefix(self.prefix)
        if not req.path.startswith(self.prefix):
            return 404, {"message": "Not Found"}, {}
        repo = re.escape(self.repo)
        if req.method == "GET" and re.fullmatch(f"/repos/{repo}", path):
            return 200, self._repo_json(), {}
        m = re.fullmatch(f"/repos/{repo}/pulls/([0-9]+)", path)
        if req.method == "GET" and m and int(m[1]) in self.pulls:
            return 200, self._pull_json(self.pulls[int(m[1])]), {}
        m = re.fullmatch(f"/repos/{repo}/issues/([0-9]+)/comments", path)
        if m and int(m[1]) in self.pulls:
            pull = self.pulls[int(m[1])]
            if req.method == "GET":
                return self._page(pull.comments, req)
            if req.method == "POST" and isinstance(req.body, dict):
                body = req.body.get("body")
                if not isinstance(body, str) or len(body) > 65536:
                    return 422, {"message": "Validation Failed"}, {}
                return 201, self._new_comment(pull, body, BOT), {}
        m = re.fullmatch(f"/repos/{repo}/issues/comments/([0-9]+)", path)
        if m and req.method == "PATCH" and isinstance(req.body, dict):
            for pull in self.pulls.values():
                for comment in pull.comments:
                    if comment["id"] == int(m[1]):
                        if comment["user"]["login"] != BOT["login"]:
                            return 403, {"message": "Resource not accessible by integration"}, {}
                        comment["body"] = req.body["body"]
                        comment["updated_at"] = "2026-11-01T13:00:00Z"
                        return 200, comment, {}
        return (
            404,
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            {},
        )

    def _page(self, items: list[dict[str, Any]], req: Request) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(req.query.get("per_page", "30")), 100)
        page = int(req.query.get("page", "1"))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        url = f"{self.base}{req.path}"
        links = []
        if page < last:
            links.append(f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{url}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{url}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{url}?per_page={per_page}&page={page - 1}>; rel="prev"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = {k: v[-1] for k, v in parse_qs(split.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = Request(self.command, split.path, query, headers, body)
                with fake._lock:
                    fake.requests.append(req)
                    status, data, extra = fake._route(req)
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-RateLimit-Remaining", "4999")
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = _serve

        return Handler
