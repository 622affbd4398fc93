"""Git objects, atomic pack writing and pack lookup; a private helper of :mod:`curator.gitstore`.

Together with :mod:`curator.gitstore` this is the only code that imports dulwich. Objects are
encoded and hashed here with :mod:`hashlib` (no dulwich object classes on the hot path), and a
batch of them is written as ONE non-delta pack plus its v2 index:

1. pack and index are written to ``objects/tmp_pack_*`` / ``objects/tmp_idx_*`` (outside
   ``objects/pack``) and fsynced;
2. the pack is renamed to ``objects/pack/pack-<checksum>.pack``, then the index next to it.

Readers (git and dulwich) only use a pack whose ``.idx`` exists, and the index is renamed in
last, so a process killed at any point leaves either nothing visible, or a complete pack that
is not yet indexed (ignored by readers, removed by :func:`remove_stale_temporaries`), or a
complete indexed pack whose objects are simply unreferenced. ``git gc`` also expires
``tmp_*`` files in ``objects/``.

:class:`PackLookup` finds objects among the many packs this produces in one probe.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import stat
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

from dulwich.object_store import DiskObjectStore
from dulwich.objects import RawObjectID
from dulwich.pack import Pack, PackFileDisappeared, write_pack_index

BLOB = 3
TREE = 2
COMMIT = 1
TAG = 4
TYPE_NAMES = {COMMIT: b"commit", TREE: b"tree", BLOB: b"blob", TAG: b"tag"}

MODE_FILE = 0o100644
MODE_TREE = 0o040000
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

_PACK_MODE = 0o444
TMP_PREFIXES = ("tmp_pack_", "tmp_idx_")

# One pending object: (type number, raw content).
RawObject = tuple[int, bytes]
SMALL_PACK = 20_000  # objects; packs up to this size go into PackLookup's dict


def hash_object(type_num: int, data: bytes) -> str:
    """The git object id (SHA-1 hex) of ``data`` stored as an object of ``type_num``."""
    h = hashlib.sha1(TYPE_NAMES[type_num], usedforsecurity=False)
    h.update(b" %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def is_tree_mode(mode: int) -> bool:
    return mode & 0o170000 == 0o040000


def is_blob_mode(mode: int) -> bool:
    """Regular files (any permission) and symlinks are blobs; gitlinks and trees are not."""
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def encode_name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def decode_name(name: bytes) -> str:
    return name.decode("utf-8", "surrogateescape")


def _tree_key(item: tuple[str, tuple[int, str]]) -> str:
    name, (mode, _sha) = item
    return name + "/" if is_tree_mode(mode) else name


def _tree_key_bytes(item: tuple[str, tuple[int, str]]) -> bytes:
    name, (mode, _sha) = item
    return encode_name(name) + (b"/" if is_tree_mode(mode) else b"")


def encode_tree(entries: Mapping[str, tuple[int, str]], *, ordered: bool = False) -> bytes:
    """Serialise ``name -> (mode, sha hex)`` in git tree order (directories sort as ``name/``).

    Code point order equals UTF-8 byte order, so valid names sort as strings; names carrying
    undecodable bytes (surrogate escapes) take the slower byte-keyed path. ``ordered=True``
    promises the mapping already iterates in tree order (a parsed tree whose entries were only
    replaced, not added), which skips the sort.
    """
    try:
        items = entries.items() if ordered else sorted(entries.items(), key=_tree_key)
        return b"".join(
            b"%o %s\0%s" % (mode, name.encode(), bytes.fromhex(sha)) for name, (mode, sha) in items
        )
    except UnicodeEncodeError:
        return b"".join(
            b"%o %s\0%s" % (mode, encode_name(name), bytes.fromhex(sha))
            for name, (mode, sha) in sorted(entries.items(), key=_tree_key_bytes)
        )


# Compression per object type. Trees are mostly incompressible 20-byte ids, and the large
# shard trees are rewritten by every commit that touches them, so they are stored (level 0):
# writing and reading them back is then a copy, and a commit's cost no longer follows the size
# of the shards it touches. Blobs (JSON) take level 1, commits level 6 (tiny).
# `git gc` (GitStore.repack(full=True)) recompresses everything with deltas later.
PACK_COMPRESSION = {BLOB: 1, TREE: 0, COMMIT: 6, TAG: 6}


def _object_header(type_num: int, size: int) -> bytes:
    """A pack entry header: type and inflated size in git's little-endian varint."""
    byte = (type_num << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def write_pack_data(
    write: Callable[[bytes], object], objects: Mapping[str, RawObject]
) -> tuple[list[tuple[bytes, int, int]], bytes]:
    """Write a non-delta pack of ``objects``; return ``(sha, offset, crc32)`` per object
    (sorted by sha, as the index wants) and the pack checksum."""
    digest = hashlib.sha1(usedforsecurity=False)
    offset = 0

    def emit(data: bytes) -> None:
        nonlocal offset
        write(data)
        digest.update(data)
        offset += len(data)

    emit(b"PACK" + struct.pack(">LL", 2, len(objects)))
    entries = []
    for sha, (type_num, raw) in objects.items():
        body = _object_header(type_num, len(raw)) + zlib.compress(raw, PACK_COMPRESSION[type_num])
        entries.append((bytes.fromhex(sha), offset, zlib.crc32(body)))
        emit(body)
    checksum = digest.digest()
    write(checksum)
    entries.sort()
    return entries, checksum


def write_pack(objects_dir: Path, objects: Mapping[str, RawObject]) -> str | None:
    """Write ``sha hex -> (type, raw)`` as one pack + index; return the pack's base name.

    Returns ``None`` (and writes nothing) for an empty mapping. The caller guarantees that the
    keys are the ids of the contents (they come from :func:`hash_object`).
    """
    if not objects:
        return None
    pack_dir = objects_dir / "pack"
    pack_dir.mkdir(exist_ok=True)
    tmp_pack = _mktemp(objects_dir, "tmp_pack_")
    tmp_idx = _mktemp(objects_dir, "tmp_idx_")
    try:
        with open(tmp_pack, "wb") as f:
            index, checksum = write_pack_data(f.write, objects)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp_idx, "wb") as f:
            write_pack_index(f, index, checksum, version=2)
            f.flush()
            os.fsync(f.fileno())
        base = "pack-" + checksum.hex()
        final_pack = pack_dir / f"{base}.pack"
        final_idx = pack_dir / f"{base}.idx"
        if final_idx.exists() and final_pack.exists():
            return base  # byte-identical pack already in place
        for path in (tmp_pack, tmp_idx):
            os.chmod(path, _PACK_MODE)
        os.replace(tmp_pack, final_pack)  # pack first: readers only trust a pack with an idx
        os.replace(tmp_idx, final_idx)
        _fsync_dir(pack_dir)
        return base
    finally:
        for path in (tmp_pack, tmp_idx):
            path.unlink(missing_ok=True)


def _mktemp(directory: Path, prefix: str) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix)
    os.close(fd)
    return Path(name)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(objects_dir: Path, *, older_than: float = 3600.0) -> list[Path]:
    """Delete leftovers of killed writers that are older than ``older_than`` seconds.

    That is ``objects/tmp_pack_*`` / ``objects/tmp_idx_*`` files, and packs in
    ``objects/pack`` without an index (a writer killed between its two renames). The age
    limit keeps a concurrent writer's files in progress safe.
    """
    cutoff = time.time() - older_than
    candidates = [p for p in objects_dir.glob("tmp_*") if p.name.startswith(TMP_PREFIXES)]
    pack_dir = objects_dir / "pack"
    if pack_dir.is_dir():
        candidates += [p for p in pack_dir.glob("*.pack") if not p.with_suffix(".idx").exists()]
    removed = []
    for path in candidates:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue
    return removed


class PackLookup:
    """Finds objects in a store with many packs without probing every pack for each one.

    dulwich probes the packs in turn (an index bisection and a raised ``KeyError`` each), so
    lookups slow down with every sync run's pack. Here the objects of small packs (a sync
    run each) sit in one dict, one probe however many there are; the few large packs (the
    first import, repacks) are probed most-recently-hit first.
    """

    def __init__(self, store: DiskObjectStore) -> None:
        self._store = store
        self._packs: dict[int, Pack] = {}
        self._small: dict[bytes, Pack] = {}
        self._large: list[Pack] = []
        # Mapped pack files. A mapping stays readable after a repack unlinks its file.
        self._maps: dict[str, memoryview] = {}

    def get_raw(self, sha: RawObjectID) -> tuple[int, bytes]:
        """``(type, content)`` of an object; ``KeyError`` if the store does not have it."""
        pack = self._small.get(sha)
        if pack is not None:
            try:
                return self._read(pack, sha)
            except (KeyError, PackFileDisappeared):
                pass
        else:
            large = self._large
            for i, pack in enumerate(large):
                try:
                    found = self._read(pack, sha)
                except KeyError:
                    continue
                except PackFileDisappeared:
                    break  # a concurrent repack removed it
                if i:
                    large.insert(0, large.pop(i))
                return found
        # A new pack, a vanished one, a loose object or an alternate: rescan, ask dulwich.
        self.refresh()
        return _typed(self._store.get_raw(sha))

    def _read(self, pack: Pack, sha: RawObjectID) -> tuple[int, bytes]:
        """Read a whole (non-delta) object straight from the mapped pack in one inflate call;
        deltas (packs written by ``git gc``) go through dulwich."""
        offset = pack.index.object_offset(sha)
        path = pack._data_path
        view = self._maps.get(path)
        if view is None:
            try:
                with open(path, "rb") as f:
                    view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
            except (FileNotFoundError, ValueError):
                return _typed(pack.get_raw(sha))
            self._maps[path] = view
        found = read_whole_object(view, offset)
        return found if found is not None else _typed(pack.get_raw(sha))

    def refresh(self) -> None:
        self._store.packs  # noqa: B018 -- rescans the pack directory (drops vanished packs)
        # Pack objects are unhashable; ids are stable as we hold the packs we know.
        current = {id(pack): pack for pack in self._store.packs}
        if not self._packs.keys() <= current.keys():
            self.clear()
        for key, pack in current.items():
            if key in self._packs:
                continue
            if len(pack.index) <= SMALL_PACK:
                self._small.update((entry[0], pack) for entry in pack.index.iterentries())
            else:
                self._large.insert(0, pack)
        self._packs = current

    def clear(self) -> None:
        self._packs = {}
        self._small = {}
        self._large = []
        self._maps = {}


def read_whole_object(pack: memoryview, offset: int) -> tuple[int, bytes] | None:
    """``(type, content)`` of the non-delta entry at ``offset`` of a pack, or ``None`` for a
    delta entry. Raises ``ValueError`` when the entry is truncated or does not inflate to
    the size its header gives."""
    try:
        byte = pack[offset]
        type_num = (byte >> 4) & 7
        size = byte & 0x0F
        shift = 4
        pos = offset + 1
        while byte & 0x80:
            byte = pack[pos]
            size |= (byte & 0x7F) << shift
            shift += 7
            pos += 1
    except IndexError:
        raise ValueError(f"corrupt pack entry at offset {offset}: truncated header") from None
    if type_num not in TYPE_NAMES:
        return None
    # zlib's compressBound: what one deflate call makes of `size` bytes at most. Inflating
    # from a window that small keeps zlib from copying the rest of the pack (unused_data).
    bound = size + (size >> 12) + (size >> 14) + (size >> 25) + 13
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(pack[pos : pos + bound], size + 1)  # the cap stops a bomb
        if not inflater.eof and len(data) < size and pos + bound < len(pack):
            # A valid stream may be longer (written with flushes, e.g. by another git
            # implementation): the window ran out, not the stream. Read on.
            data += inflater.decompress(pack[pos + bound :], size + 1 - len(data))
    except (zlib.error, OverflowError) as exc:  # OverflowError: a size beyond any buffer
        raise ValueError(f"corrupt pack entry at offset {offset}: {exc}") from None
    if len(data) != size or not inflater.eof:  # eof: the stream's checksum was read and held
        raise ValueError(f"corrupt pack entry at offset {offset}")
    return type_num, data


def _typed(found: tuple[int, bytes]) -> tuple[int, bytes]:
    type_num, raw = found
    return int(type_num), bytes(raw)
