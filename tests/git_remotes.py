"""Real git remotes for push/fetch tests: bare repositories, a ``git daemon`` on 127.0.0.1, a
smart-HTTP server (``git http-backend`` behind a tiny CGI bridge) and an ``ssh`` stand-in that
runs the remote command locally (so dulwich's ssh transport is exercised without an sshd)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


def git(*args: str | Path) -> str:
    out = subprocess.run(["git", *map(str, args)], check=True, capture_output=True, text=True)
    return out.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bare_remote(path: Path) -> Path:
    """An empty bare repository whose HEAD is ``main`` (as a hosting service creates)."""
    git("init", "-q", "--bare", "--initial-branch=main", path)
    return strict_receiver(path)


def strict_receiver(path: Path) -> Path:
    """Make the repository at ``path`` fsck every object pushed to it (and accept pushes over
    HTTP without authentication)."""
    git("--git-dir", path, "config", "receive.fsckObjects", "true")
    git("--git-dir", path, "config", "http.receivepack", "true")
    return path


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """``git daemon`` serving every repository under ``base`` (pushes enabled); yields the
    ``git://127.0.0.1:PORT`` prefix."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            f"--base-path={base}",
            "--export-all",
            "--enable=receive-pack",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, proc)
        yield f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class _CgiHandler(BaseHTTPRequestHandler):
    """Hands every request to ``git http-backend`` (the CGI program git ships)."""

    root: Path

    def do_GET(self) -> None:
        self._cgi(b"")

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
            self._cgi(bytes(body))
        else:
            self._cgi(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _cgi(self, body: bytes) -> None:
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(
            [GIT_HTTP_BACKEND], input=body, env=env, capture_output=True, check=False
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def git_http_server(root: Path) -> Iterator[str]:
    """Smart HTTP for every repository under ``root``; yields ``http://127.0.0.1:PORT``."""
    handler = type("Handler", (_CgiHandler,), {"root": root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


_FAKE_SSH = """\
#!{python}
# Stand-in for ssh: skip the options, check the host, run the remote command locally.
import subprocess, sys
args, host = sys.argv[1:], None
while args:
    arg = args.pop(0)
    if arg in ("-p", "-i", "-o", "-l", "-F"):
        args.pop(0)
    elif arg.startswith("-"):
        continue
    else:
        host = arg
        break
with open({log!r}, "a") as log:
    log.write(f"{{host}} {{' '.join(args)}}\\n")
if host != "curator-test-host":
    sys.exit(f"fake ssh: unknown host {{host}}")
sys.exit(subprocess.call(["sh", "-c", " ".join(args)]))
"""


def fake_ssh(directory: Path) -> tuple[str, Path]:
    """An executable to use as ``GIT_SSH_COMMAND`` and the log of what it was asked to run."""
    script = directory / "fake-ssh"
    log = directory / "fake-ssh.log"
    script.write_text(_FAKE_SSH.format(python=sys.executable, log=str(log)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), log
