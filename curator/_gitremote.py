"""Fetching from and pushing to another repository; a private helper of :mod:`curator.gitstore`.

Transports are dulwich's (:func:`dulwich.client.get_transport_and_path`): a local path or
``file://`` URL, ``git://`` (a ``git daemon``), ``ssh://`` / ``user@host:path`` (the ``ssh``
program; ``GIT_SSH_COMMAND`` and ``core.sshCommand`` are honoured) and ``http(s)://``
(smart HTTP). Every transport failure becomes a :class:`TransportError` naming the remote.

A push updates ONE branch from an expected old value to a new commit, like
``git push --force-with-lease=<branch>:<old>`` without the force: the caller (gitstore) has
already checked that the new commit descends from the old value, the ref update is only sent
when the remote's advertised value is the expected one, and the remote applies it as a
compare-and-swap (git's receive-pack sends "old new ref" and refuses if the ref moved in
between). Nothing here ever rewrites remote history.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dulwich.client import GitClient, get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.objects import ZERO_SHA, ObjectID
from dulwich.pack import UnpackedObject
from dulwich.refs import Ref
from dulwich.repo import Repo

# urllib3 is dulwich's HTTP stack; its errors (connection refused, TLS) surface unwrapped.
try:
    from urllib3.exceptions import HTTPError as _HTTPError
except ImportError:  # pragma: no cover - urllib3 is a dulwich dependency
    _HTTPError = OSError  # type: ignore[misc,assignment]


class TransportError(Exception):
    """The remote could not be reached, is not a repository, or broke the protocol."""

    def __init__(self, remote: str, why: str) -> None:
        super().__init__(f"remote {remote}: {why}")
        self.remote = remote
        self.why = why


# (hex id, type number, raw content) of each object a push must carry
RawObjects = Callable[[], Sequence[tuple[str, int, bytes]]]


@dataclass(frozen=True)
class SendOutcome:
    """What one push attempt saw and did."""

    remote_old: str | None  # the remote's value of the ref when the push started
    sent: bool  # whether the ref update was sent (only when remote_old was the expected one)
    error: str | None  # the remote's refusal (ref status), if any


@contextmanager
def _translated(remote: str) -> Iterator[None]:
    try:
        yield
    except NotGitRepository:
        raise TransportError(remote, "not a git repository") from None
    except HangupException as exc:
        raise TransportError(remote, f"connection closed by the remote: {_one_line(exc)}") from None
    except GitProtocolError as exc:
        cause = exc.__cause__
        if isinstance(cause, (OSError, _HTTPError)):  # dulwich wraps urllib3's errors
            raise TransportError(remote, f"cannot reach it: {_one_line(cause)}") from None
        raise TransportError(remote, f"protocol error: {_one_line(exc)}") from None
    except (OSError, _HTTPError) as exc:
        raise TransportError(remote, f"cannot reach it: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:500]


def _client(repo: Repo, remote: str, operation: str) -> tuple[GitClient, str]:
    if not remote.strip():
        raise TransportError(remote, "empty remote location")
    kwargs: dict[str, Any] = {"config": repo.get_config_stack(), "operation": operation}
    ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
    if ssh_command:
        kwargs["ssh_command"] = ssh_command
    with _translated(remote):
        try:
            return get_transport_and_path(remote, **kwargs)
        except ValueError as exc:
            raise TransportError(remote, f"not a remote location ({exc})") from None


def fetch(repo: Repo, remote: str, ref: str) -> str | None:
    """Fetch the objects of ``ref`` from ``remote`` into ``repo``; its remote value, or None.

    Only that one ref's history is transferred (whatever ``repo`` already has is skipped);
    no local ref is changed.
    """
    name = Ref(ref.encode())
    client, path = _client(repo, remote, "pull")
    store = repo.object_store

    def wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
        sha = refs.get(name)
        return [sha] if sha is not None and sha != ZERO_SHA and sha not in store else []

    with _translated(remote):
        result = client.fetch(path, repo, determine_wants=wants, ref_prefix=[name])
    sha = result.refs.get(name)
    return sha.decode() if sha is not None and sha != ZERO_SHA else None


def send(
    repo: Repo,
    remote: str,
    ref: str,
    new: str,
    expected_old: str | None,
    objects: RawObjects | None = None,
) -> SendOutcome:
    """Move ``ref`` on ``remote`` from ``expected_old`` (None: absent) to ``new``, or do nothing.

    The objects of ``new`` the remote lacks go along in one pack: ``objects()`` when given
    (the caller knows them, given that the remote has ``expected_old``), else dulwich works
    them out (which reads every tree of the remote's commit). When the remote's current
    value is not ``expected_old`` nothing is sent and ``remote_old`` says what it was.
    """
    name = Ref(ref.encode())
    target = ObjectID(new.encode())
    client, path = _client(repo, remote, "push")
    seen: list[str | None] = []

    def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
        current = refs.get(name)
        old = current.decode() if current is not None and current != ZERO_SHA else None
        seen.append(old)
        if old != expected_old:
            return {}  # the remote moved: send no update at all
        return {name: target}

    generate: Callable[..., Any] = repo.generate_pack_data
    if objects is not None:
        listed = objects

        def generate(*_args: Any, **_kwargs: Any) -> tuple[int, Iterator[UnpackedObject]]:
            items = listed()
            return len(items), (
                UnpackedObject(type_num, decomp_chunks=[raw], sha=bytes.fromhex(sha))
                for sha, type_num, raw in items
            )

    try:
        with _translated(remote):
            result = client.send_pack(path.encode(), update_refs, generate)
    except FileLocked:
        # a local remote whose ref another pusher holds locked right now
        return SendOutcome(seen[-1] if seen else None, True, f"{ref} is locked by another push")
    if not seen:
        raise TransportError(remote, "the remote did not advertise its refs")
    if seen[-1] != expected_old:
        return SendOutcome(seen[-1], False, None)
    status = result.ref_status or {}
    error = status.get(name)
    return SendOutcome(seen[-1], True, error)
