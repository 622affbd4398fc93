"""Reading a published build: a local directory or a base URL served over HTTP(S).

Both are treated as hostile: every read is bounded (the caller says how many bytes it can
use; one more is read so an oversized file shows up as such), a directory's files are
opened without following a final symlink and must be regular files, and an HTTP answer
other than 200 or 404/410 is an error for that one file. HTTP reads share one connection
pool (``httpx``), are retried twice on connection errors and 5xx answers, and follow at most
three redirects.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import quote, urlsplit

import httpx

from curator.build.manifest import MANIFEST_NAME, RESERVED_DIR, SIGNATURE_NAME, check_path

__all__ = [
    "DirectorySource",
    "FetchError",
    "HttpSource",
    "PublishedSource",
    "open_source",
]

_CHUNK: Final = 64 * 1024
_RETRIES: Final = 2
_BACKOFF: Final = 0.2


class FetchError(Exception):
    """One file of the published build could not be read (the message says why)."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class PublishedSource(Protocol):
    """A published build: files by build path."""

    @property
    def location(self) -> str:
        """Where it is, normalised (the key of the rollback state)."""
        ...

    def get(self, path: str, limit: int) -> bytes | None:
        """At most ``limit + 1`` bytes of ``path``; None if it is absent. FetchError else."""
        ...

    def listing(self) -> list[str] | None:
        """Every file path it holds, or None where it cannot be listed (HTTP)."""
        ...

    def close(self) -> None: ...


class DirectorySource:
    """A build or deployed directory on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def location(self) -> str:
        return str(self.root)

    def get(self, path: str, limit: int) -> bytes | None:
        if path not in (MANIFEST_NAME, SIGNATURE_NAME):
            check_path(path)
        try:
            # O_NONBLOCK: opening a FIFO planted in the directory must not hang
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            fd = os.open(self.root / path, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FetchError(path, exc.strerror or str(exc)) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise FetchError(path, "not a regular file")
            chunks: list[bytes] = []
            left = limit + 1
            while left > 0:
                chunk = os.read(fd, min(_CHUNK, left))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        except OSError as exc:
            raise FetchError(path, exc.strerror or str(exc)) from None
        finally:
            os.close(fd)

    def listing(self) -> list[str]:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            base = "" if rel_dir == "." else f"{rel_dir}/"
            if base == "":
                dirnames[:] = [d for d in dirnames if d != RESERVED_DIR]
            found.extend(f"{base}{name}" for name in filenames)
            # symlinked directories are not walked into; name them so they show up as extra
            found.extend(f"{base}{d}" for d in dirnames if os.path.islink(os.path.join(dirpath, d)))
        return sorted(found)

    def close(self) -> None:
        pass


class HttpSource:
    """A build served over HTTP(S) under ``base`` (``https://repo.example/``)."""

    def __init__(
        self,
        base: str,
        *,
        workers: int = 16,
        timeout: float = 30.0,
        backoff: float = _BACKOFF,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s):// URL, got {base!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"{base!r}: a base URL takes no query or fragment")
        self.base = base if base.endswith("/") else f"{base}/"
        self.backoff = backoff
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
            follow_redirects=True,
            max_redirects=3,
            headers={"User-Agent": "curator-verify"},
            transport=transport,
        )

    @property
    def location(self) -> str:
        return self.base.rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base}{quote(path, safe='/~')}"

    def get(self, path: str, limit: int) -> bytes | None:
        if path not in (MANIFEST_NAME, SIGNATURE_NAME):
            check_path(path)
        url = self.url(path)
        for attempt in range(_RETRIES + 1):
            last = attempt == _RETRIES
            try:
                with self._client.stream("GET", url) as response:
                    if response.status_code in (404, 410):
                        return None
                    if response.status_code >= 500 and not last:
                        time.sleep(self.backoff * (attempt + 1))
                        continue
                    if response.status_code != 200:
                        raise FetchError(path, f"HTTP {response.status_code} from {url}")
                    chunks: list[bytes] = []
                    left = limit + 1
                    for chunk in response.iter_bytes(_CHUNK):
                        chunks.append(chunk[:left])
                        left -= len(chunk)
                        if left <= 0:
                            break
                    return b"".join(chunks)
            except httpx.TransportError as exc:
                if last:
                    why = str(exc) or type(exc).__name__
                    raise FetchError(path, f"cannot fetch {url}: {why}") from None
                time.sleep(self.backoff * (attempt + 1))
            except httpx.HTTPError as exc:  # too many redirects, invalid URL, ...
                raise FetchError(path, f"cannot fetch {url}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def listing(self) -> list[str] | None:
        return None  # HTTP cannot list a directory

    def close(self) -> None:
        self._client.close()


def open_source(against: str, *, workers: int = 16, timeout: float = 30.0) -> PublishedSource:
    """An http(s):// URL or a directory; ValueError for anything else."""
    if against.startswith(("http://", "https://")):
        return HttpSource(against, workers=workers, timeout=timeout)
    if "://" in against:
        raise ValueError(f"{against!r}: expected an http(s):// URL or a directory")
    path = Path(against)
    if not path.is_dir():
        raise ValueError(f"{against}: not a directory")
    return DirectorySource(path)
