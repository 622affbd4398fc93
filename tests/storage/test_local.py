"""Local build storage: build ids, temp-then-rename builds, atomic promotion, rollback, cleanup."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator import canonical
from curator.build import synthetic
from curator.build.manifest import InvalidBuildError, read_manifest, validate_build
from curator.storage.local import (
    BuildExistsError,
    LocalStorage,
    NoSuchBuildError,
    StorageError,
    make_build_id,
)

NAMES = synthetic.package_names(10, 2, seed=3)
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def add_build(storage: LocalStorage, label: str, when: dt.datetime = T0) -> str:
    commit = synthetic.fake_commit(f"commit:{label}")
    build_id = make_build_id(commit, when)
    with storage.building(build_id) as tmp:
        synthetic.write(tmp, NAMES, label=label)
    return build_id


def builds(storage: LocalStorage, n: int) -> list[str]:
    return [add_build(storage, f"b{i}", T0 + dt.timedelta(minutes=i)) for i in range(n)]


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def test_build_id_sorts_by_time_and_names_the_commit() -> None:
    commit = "0123456789abcdef" * 2 + "01234567"
    when = dt.datetime(2026, 11, 1, 14, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert make_build_id(commit, when) == "20261101T120506Z-0123456789ab"
    later = make_build_id(commit, when + dt.timedelta(seconds=1))
    assert sorted([later, make_build_id(commit, when)])[0] == "20261101T120506Z-0123456789ab"
    with pytest.raises(ValueError, match="naive"):
        make_build_id(commit, dt.datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="commit"):
        make_build_id("abc", when)


def test_a_build_appears_only_when_committed(storage: LocalStorage) -> None:
    build_id = make_build_id("c" * 40, T0)
    tmp = storage.new_build_dir(build_id)
    assert tmp.parent == storage.builds_dir and tmp.name.startswith(f".tmp-{build_id}-")
    synthetic.write(tmp, NAMES)
    assert storage.build_ids() == []
    final = storage.commit_build(tmp, build_id)
    assert final == storage.builds_dir / build_id
    assert not tmp.exists()
    assert storage.build_ids() == [build_id]
    info = storage.builds()[0]
    assert (info.id, info.commit, info.valid) == (build_id, read_manifest(final).commit, None)
    assert storage.builds(validate=True)[0].valid is True
    with pytest.raises(BuildExistsError):
        storage.new_build_dir(build_id)


def test_commit_refuses_incomplete_or_foreign_directories(
    storage: LocalStorage, tmp_path: Path
) -> None:
    tmp = storage.new_build_dir("b1")
    (tmp / "packages.json").write_bytes(b"{}")
    with pytest.raises(StorageError, match="incomplete"):
        storage.commit_build(tmp, "b1")
    with pytest.raises(StorageError, match="not a temporary build directory"):
        storage.commit_build(tmp_path, "b1")
    with pytest.raises(ValueError, match="invalid build id"):
        storage.new_build_dir("../escape")


def test_a_failed_build_leaves_nothing(storage: LocalStorage) -> None:
    with pytest.raises(RuntimeError), storage.building("b1") as tmp:
        synthetic.write(tmp, NAMES)
        raise RuntimeError("renderer crashed")
    assert storage.build_ids() == []
    assert list(storage.builds_dir.iterdir()) == []


def test_a_killed_build_leaves_no_build_dir(storage: LocalStorage) -> None:
    script = f"""
import os, signal
from pathlib import Path
from curator.build import synthetic
from curator.storage.local import LocalStorage
storage = LocalStorage(Path({str(storage.root)!r}))
with storage.building("b1") as tmp:
    files = synthetic.render({NAMES!r})
    for i, (path, data) in enumerate(sorted(files.items())):
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / path).write_bytes(data)
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    assert storage.build_ids() == []
    assert not (storage.builds_dir / "b1").exists()
    [leftover] = list(storage.builds_dir.iterdir())
    assert leftover.name.startswith(".tmp-b1-")
    storage.cleanup(keep=5)
    assert leftover.exists()  # could still be a build in progress
    old = time.time() - 2 * 86400
    os.utime(leftover, (old, old))
    storage.cleanup(keep=5)
    assert not leftover.exists()


def test_promote_switches_a_relative_symlink(storage: LocalStorage) -> None:
    a, b = builds(storage, 2)
    assert storage.current() is None
    info = storage.promote(a)
    assert info.valid and info.id == a
    assert os.readlink(storage.current_link) == f"builds/{a}"
    assert storage.current() == a
    storage.promote(b)
    assert storage.current() == b
    assert storage.current_path() == storage.builds_dir / b
    leftovers = [p.name for p in storage.repository.iterdir() if p.name.startswith(".current")]
    assert leftovers == []
    assert [e["build"] for e in storage.history()] == [a, b]


def test_the_switch_is_atomic_for_readers(storage: LocalStorage) -> None:
    """Another process reading current/packages.json in a loop never misses it."""
    a, b = builds(storage, 2)
    storage.promote(a)
    reader = f"""
import sys, time
from pathlib import Path
entry = Path({str(storage.current_link / "packages.json")!r})
reads = failures = 0
sys.stdout.write("ready\\n"); sys.stdout.flush()
deadline = time.monotonic() + 30
while time.monotonic() < deadline and not Path({str(storage.root / "stop")!r}).exists():
    try:
        entry.read_bytes(); reads += 1
    except OSError:
        failures += 1
print(reads, failures)
"""
    proc = subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    try:
        for i in range(200):
            storage.promote(b if i % 2 == 0 else a)
    finally:
        (storage.root / "stop").touch()
        out, _ = proc.communicate(timeout=60)
    reads, failures = map(int, out.split())
    assert failures == 0
    assert reads > 100


def test_an_invalid_build_is_never_promoted(storage: LocalStorage) -> None:
    a, b = builds(storage, 2)
    storage.promote(a)
    victim = sorted((storage.builds_dir / b / "p2" / "wp-plugin").iterdir())[0]
    victim.write_bytes(b"{}")
    with pytest.raises(InvalidBuildError) as caught:
        storage.promote(b)
    assert any(victim.name in problem for problem in caught.value.problems)
    assert victim.name in str(caught.value)
    assert storage.current() == a
    assert storage.newest_valid() == a
    with pytest.raises(NoSuchBuildError):
        storage.promote("20990101T000000Z-000000000000")


def test_rollback_walks_back_through_promotions(storage: LocalStorage) -> None:
    a, b, c = builds(storage, 3)
    with pytest.raises(StorageError, match="nothing to roll back"):
        storage.rollback()
    for x in (a, b, c):
        storage.promote(x)
    assert storage.previous() == b
    assert storage.rollback().id == b
    assert storage.current() == b
    assert storage.rollback().id == a
    with pytest.raises(StorageError, match="nothing to roll back"):
        storage.rollback()
    assert storage.rollback(c).id == c  # explicit id: forward again
    assert storage.previous() == a
    history = canonical.loads(storage.history_path.read_bytes())
    assert [e["action"] for e in history["events"]] == [
        "promote",
        "promote",
        "promote",
        "rollback",
        "rollback",
        "rollback",
    ]
    assert history["events"][3]["previous"] == c


def test_rollback_refuses_an_invalid_target(storage: LocalStorage) -> None:
    a, b = builds(storage, 2)
    storage.promote(a)
    storage.promote(b)
    (storage.builds_dir / a / "list.json").unlink()
    with pytest.raises(InvalidBuildError, match=r"list\.json"):
        storage.rollback()
    assert storage.current() == b


def test_cleanup_keeps_newest_current_and_previous(storage: LocalStorage) -> None:
    ids = builds(storage, 6)
    storage.promote(ids[1])
    storage.promote(ids[2])  # current ids[2], previous ids[1]
    removed = storage.cleanup(keep=1)
    assert removed == [ids[0], ids[3], ids[4]]
    assert storage.build_ids() == [ids[1], ids[2], ids[5]]
    assert storage.cleanup(keep=0) == [ids[5]]
    assert storage.build_ids() == [ids[1], ids[2]]
    # After rolling back from ids[2], nothing was promoted before ids[1]: only it is protected.
    assert storage.rollback().id == ids[1]
    assert storage.previous() is None
    assert storage.cleanup(keep=0) == [ids[2]]
    assert storage.build_ids() == [ids[1]]
    assert ids[2] not in canonical.loads(storage.history_path.read_bytes())["stack"]


def test_last_built_commit_and_find_commit(storage: LocalStorage) -> None:
    assert storage.last_built_commit() is None
    ids = builds(storage, 2)
    newest = read_manifest(storage.builds_dir / ids[1]).commit
    assert storage.last_built_commit() == newest
    assert storage.find_commit(newest[:10]) == [ids[1]]


def test_an_incomplete_build_is_discarded(storage: LocalStorage) -> None:
    with pytest.raises(StorageError, match="incomplete"), storage.building("b1") as tmp:
        (tmp / "packages.json").write_bytes(b"{}")  # the builder never wrote manifest.json
    assert list(storage.builds_dir.iterdir()) == []


def test_promotion_reads_only_files_the_last_validation_did_not(storage: LocalStorage) -> None:
    """An incremental build hard-links its unchanged files from the previous build: promoting
    it re-reads only its own files (the file cache in repository/.validated.json)."""
    first = add_build(storage, "one")
    storage.promote(first)
    assert storage.validated_path.is_file()
    files = sorted(p for p in storage.build_path(first).rglob("*") if p.is_file())

    second = make_build_id(synthetic.fake_commit("commit:one"), T0 + dt.timedelta(minutes=1))
    with storage.building(second) as tmp:
        for path in files:
            dest = tmp / path.relative_to(storage.build_path(first))
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)
    cache = storage.file_cache()
    assert storage.validate(second) == [] and not storage.validate(second)
    reread = [p for p in files if p.name not in ("manifest.json", "list.json")]
    assert len(cache) == len(files) - 1  # every file but manifest.json
    warm = storage.file_cache()
    assert validate_build(storage.build_path(second), cache=warm) == []
    assert warm.hits == len(reread)
    storage.promote(second)
    assert storage.current() == second

    # a damaged cache file costs time, never correctness
    storage.validated_path.write_bytes(b"not json")
    assert storage.validate(second) == []
    assert len(storage.file_cache()) == len(files) - 1
