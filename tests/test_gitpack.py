"""curator._gitpack: the direct pack reader against packs written by us and by `git gc`."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from dulwich.object_format import SHA1
from dulwich.objects import RawObjectID
from dulwich.pack import Pack, write_pack_index

from curator import _gitpack as gp
from curator.gitstore import GitStore

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")

GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def objects(seed: int) -> dict[str, gp.RawObject]:
    """Blobs of every size class (empty, tiny, incompressible, > 64 KiB), a tree, a commit."""
    rng = random.Random(seed)
    blobs = [b"", b"x", rng.randbytes(70_000), b"json " * 40_000, rng.randbytes(300)]
    out: dict[str, gp.RawObject] = {}
    entries: dict[str, tuple[int, str]] = {}
    for i, data in enumerate(blobs):
        sha = gp.hash_object(gp.BLOB, data)
        out[sha] = (gp.BLOB, data)
        entries[f"f{i}"] = (gp.MODE_FILE, sha)
    tree = gp.encode_tree(entries)
    tree_sha = gp.hash_object(gp.TREE, tree)
    out[tree_sha] = (gp.TREE, tree)
    commit = b"tree %s\nauthor a <a@b> 0 +0000\ncommitter a <a@b> 0 +0000\n\nm\n" % (
        tree_sha.encode()
    )
    out[gp.hash_object(gp.COMMIT, commit)] = (gp.COMMIT, commit)
    return out


def only_pack(objects_dir: Path) -> Pack:
    (idx,) = (objects_dir / "pack").glob("*.idx")
    return Pack(str(idx.with_suffix("")), object_format=SHA1)


def test_reads_every_object_we_write(tmp_path: Path) -> None:
    written = objects(1)
    (tmp_path / "pack").mkdir()
    gp.write_pack(tmp_path, written)
    pack = only_pack(tmp_path)
    view = memoryview((tmp_path / "pack" / f"{Path(pack._basename).name}.pack").read_bytes())
    try:
        for sha, expected in written.items():
            offset = pack.index.object_offset(RawObjectID(bytes.fromhex(sha)))
            assert gp.read_whole_object(view, offset) == expected
    finally:
        pack.close()


def test_delta_entries_fall_back_and_read_the_same(tmp_path: Path) -> None:
    """After `git gc` most trees and blobs are deltas: the reader declines them (None) and
    PackLookup answers them through dulwich, with the same content."""
    store = GitStore.init(tmp_path / "repo")
    parent = None
    for i in range(8):
        changes = {f"d/{n}.json": b'{"n": %d, "run": %d}\n' % (n, i) * 20 for n in range(30)}
        parent = store.commit(
            ref="refs/heads/main",
            parent=parent,
            changes=changes,
            message=f"run {i}\n",
            author="a <a@b>",
            timestamp=i,
        )
    subprocess.run(
        ["git", f"--git-dir={store.git_dir}", "gc", "--quiet", "--aggressive"],
        env=GIT_ENV,
        check=True,
    )
    store.close()
    objects_dir = store.git_dir / "objects"
    pack = only_pack(objects_dir)
    view = memoryview((objects_dir / "pack" / f"{Path(pack._basename).name}.pack").read_bytes())
    whole = deltas = 0
    try:
        for entry in pack.index.iterentries():
            sha, offset = entry[0], entry[1]
            found = gp.read_whole_object(view, offset)
            type_num, raw = pack.get_raw(sha)
            if found is None:
                deltas += 1
            else:
                whole += 1
                assert found == (type_num, bytes(raw))
    finally:
        pack.close()
    assert whole and deltas
    with GitStore.open(store.path) as again:
        assert parent is not None
        snap = again.snapshot(parent)
        assert snap.read("d/3.json") == b'{"n": 3, "run": 7}\n' * 20


@pytest.mark.parametrize("cut", [1, 10, 200])
def test_a_truncated_entry_is_an_error_not_short_data(tmp_path: Path, cut: int) -> None:
    data = random.Random(2).randbytes(5_000)
    sha = gp.hash_object(gp.BLOB, data)
    gp.write_pack(tmp_path, {sha: (gp.BLOB, data)})
    pack_file = next((tmp_path / "pack").glob("*.pack"))
    raw = pack_file.read_bytes()[: -20 - cut]  # drop the checksum and the entry's tail
    with pytest.raises(ValueError, match="corrupt pack entry at offset 12"):
        gp.read_whole_object(memoryview(raw), 12)


def test_a_damaged_entry_is_an_error(tmp_path: Path) -> None:
    data = b"stored record " * 500
    gp.write_pack(tmp_path, {gp.hash_object(gp.BLOB, data): (gp.BLOB, data)})
    raw = bytearray(next((tmp_path / "pack").glob("*.pack")).read_bytes())
    raw[40] ^= 0xFF  # inside the deflate stream
    with pytest.raises(ValueError, match="corrupt pack entry at offset 12"):
        gp.read_whole_object(memoryview(bytes(raw)), 12)


def test_a_valid_stream_longer_than_compress_bound_is_read(tmp_path: Path) -> None:
    """A deflate stream with flushes (valid; git and dulwich read it) can be longer than
    zlib's compressBound of its size: the reader reads on instead of calling it corrupt."""
    data = b'{"n": 1}\n' * 200
    deflater = zlib.compressobj()
    stream = (
        b"".join(
            deflater.compress(data[i : i + 3]) + deflater.flush(zlib.Z_SYNC_FLUSH)
            for i in range(0, len(data), 3)
        )
        + deflater.flush()
    )
    assert len(stream) > len(data) + 13  # beyond the bound the reader first reads
    entry = gp._object_header(gp.BLOB, len(data)) + stream
    body = b"PACK" + struct.pack(">LL", 2, 1) + entry
    pack_bytes = body + hashlib.sha1(body).digest()
    assert gp.read_whole_object(memoryview(pack_bytes), 12) == (gp.BLOB, data)
    # and through a store: the pack, indexed, in a repository
    store = GitStore.init(tmp_path / "repo")
    sha = gp.hash_object(gp.BLOB, data)
    name = f"pack-{hashlib.sha1(body).hexdigest()}"
    pack_dir = store.git_dir / "objects" / "pack"
    (pack_dir / f"{name}.pack").write_bytes(pack_bytes)
    entries = [(bytes.fromhex(sha), 12, zlib.crc32(entry))]
    with (pack_dir / f"{name}.idx").open("wb") as f:
        write_pack_index(f, entries, hashlib.sha1(body).digest(), version=2)
    assert store._get_raw(sha) == (gp.BLOB, data)
    store.close()


@pytest.mark.parametrize("header", [b"", b"\xb5", b"\xb5\x80"])
def test_a_truncated_entry_header_is_an_error(header: bytes) -> None:
    """The pack ends inside the entry's size varint (or at its offset): the documented
    ValueError, not an IndexError from reading past the end."""
    raw = b"PACK" + struct.pack(">LL", 2, 1) + header
    with pytest.raises(ValueError, match="corrupt pack entry at offset 12"):
        gp.read_whole_object(memoryview(raw), 12)


def test_an_entry_size_beyond_any_buffer_is_an_error() -> None:
    """A damaged size varint (70 bits) names the entry as corrupt, not an OverflowError."""
    raw = b"PACK" + struct.pack(">LL", 2, 1) + b"\xbf" + b"\xff" * 9 + b"\x7f"
    raw += zlib.compress(b"abc")
    with pytest.raises(ValueError, match="corrupt pack entry at offset 12"):
        gp.read_whole_object(memoryview(raw), 12)
