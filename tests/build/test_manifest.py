"""The build manifest: model, canonical bytes, directory scan and build validation."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from curator import canonical
from curator.build import synthetic
from curator.build.manifest import (
    MANIFEST_NAME,
    FileCache,
    FileEntry,
    Manifest,
    ManifestError,
    check_path,
    file_entry,
    format_time,
    make_manifest,
    parse_time,
    read_manifest,
    scan_directory,
    validate_build,
    write_build,
    write_manifest,
)

COMMIT = "a" * 40
TREE = "b" * 40
NAMES = synthetic.package_names(20, 3, seed=1)


def manifest(**overrides: object) -> Manifest:
    data: dict[str, object] = {
        "commit": COMMIT,
        "tree": TREE,
        "builder": "curator test",
        "time": "2026-11-01T12:00:00Z",
        "counts": {"files": 1},
        "files": {"packages.json": {"sha256": "0" * 64, "size": 2}},
    }
    data.update(overrides)
    return Manifest.model_validate(data)


def test_file_entry_is_sha256_and_size() -> None:
    entry = file_entry(b"{}\n")
    assert entry == FileEntry(sha256=hashlib.sha256(b"{}\n").hexdigest(), size=3)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/abs.json",
        "../up.json",
        "p2/../../x.json",
        "p2/./x.json",
        "p2//x.json",
        "p2/",
        "p2\\x.json",
        "p2/x\x00.json",
        ".curator/pending-deletes.json",
        MANIFEST_NAME,
        "bad-\udcff.json",
    ],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        check_path(path)
    with pytest.raises(ValueError):
        manifest(files={path: {"sha256": "0" * 64, "size": 0}})


@pytest.mark.parametrize(
    "path", ["packages.json", "p2/wp-plugin/a.b-c_d~dev.json", "p2/manifest.json", ".well-known"]
)
def test_good_paths_are_accepted(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    "field,value",
    [
        ("commit", "A" * 40),
        ("commit", "a" * 39),
        ("tree", "xyz"),
        ("time", "2026-11-01 12:00:00"),
        ("time", "2026-11-01T12:00:00+00:00"),
        ("time", "2026-13-01T12:00:00Z"),
        ("format", 2),
        ("builder", ""),
        ("counts", {"files": -1}),
        ("files", {"a.json": {"sha256": "0" * 63, "size": 1}}),
        ("files", {"a.json": {"sha256": "0" * 64, "size": -1}}),
        ("unknown", 1),
    ],
)
def test_model_refuses_invalid_fields(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        manifest(**{field: value})


def test_canonical_encoding_and_round_trip() -> None:
    m = manifest()
    raw = m.to_bytes()
    assert raw == canonical.dumps(canonical.loads(raw))
    assert raw.endswith(b"}\n")
    assert b'\n  "builder"' in raw  # 2-space indent, keys sorted: builder first
    assert list(canonical.loads(raw)) == sorted(canonical.loads(raw))
    assert Manifest.from_bytes(raw) == m
    assert read_manifest(raw) == m


def test_time_is_the_commit_time_in_utc() -> None:
    assert format_time(0) == "1970-01-01T00:00:00Z"
    paris = dt.timezone(dt.timedelta(hours=2))
    assert format_time(dt.datetime(2026, 11, 1, 14, 0, tzinfo=paris)) == "2026-11-01T12:00:00Z"
    assert parse_time("2026-11-01T12:00:00Z") == dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="naive"):
        format_time(dt.datetime(2026, 11, 1))


def test_two_builds_of_the_same_commit_are_byte_identical(tmp_path: Path) -> None:
    one = synthetic.write(tmp_path / "one", NAMES, label="x")
    two = synthetic.write(tmp_path / "two", NAMES, label="x")
    assert one == two
    assert (tmp_path / "one" / MANIFEST_NAME).read_bytes() == (
        tmp_path / "two" / MANIFEST_NAME
    ).read_bytes()
    assert one.time == "2026-09-21T14:13:20Z"
    assert one.counts["files"] == len(one.files) == 2 * len(NAMES) + 3
    assert MANIFEST_NAME not in one.files


def test_scan_directory_matches_written_entries(tmp_path: Path) -> None:
    written = synthetic.write(tmp_path, NAMES)
    (tmp_path / "p2" / MANIFEST_NAME).write_bytes(b"{}")  # only the top-level one is skipped
    scanned = scan_directory(tmp_path)
    assert scanned.pop("p2/manifest.json") == file_entry(b"{}")
    assert scanned == written.files
    remade = make_manifest(tmp_path, commit=written.commit, tree=written.tree, time=written.time)
    assert remade.counts["bytes"] == written.total_bytes + 2


def test_scan_directory_refuses_symlinks(tmp_path: Path) -> None:
    synthetic.write(tmp_path, NAMES[:2])
    os.symlink("packages.json", tmp_path / "link.json")
    with pytest.raises(ValueError, match=r"link\.json"):
        scan_directory(tmp_path)


def test_write_and_read_manifest(tmp_path: Path) -> None:
    m = manifest()
    path = write_manifest(tmp_path, m)
    assert path == tmp_path / MANIFEST_NAME
    assert read_manifest(tmp_path) == m
    assert read_manifest(path) == m
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST_NAME]  # no temp file left


def test_read_manifest_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"manifest\.json: missing"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_NAME).write_bytes(b"{not json")
    with pytest.raises(ManifestError, match="not JSON"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_NAME).write_bytes(b'{"format": 1}')
    with pytest.raises(ManifestError, match="commit"):
        read_manifest(tmp_path)


# --- validate_build ------------------------------------------------------------------------


@pytest.fixture
def build(tmp_path: Path) -> Path:
    directory = tmp_path / "build"
    synthetic.write(directory, NAMES)
    return directory


def test_a_written_build_is_valid(build: Path) -> None:
    assert validate_build(build) == []


def test_missing_directory_and_manifest(tmp_path: Path, build: Path) -> None:
    assert validate_build(tmp_path / "nope") == [f"{tmp_path / 'nope'}: build directory missing"]
    (build / MANIFEST_NAME).unlink()
    assert validate_build(build) == ["manifest.json: missing"]
    (build / "packages.json").unlink()
    assert validate_build(build) == ["manifest.json: missing", "packages.json: missing"]


def test_every_problem_is_reported_and_names_the_file(build: Path) -> None:
    p2 = sorted((build / "p2" / "wp-plugin").iterdir())
    p2[0].unlink()  # missing
    p2[1].write_bytes(p2[1].read_bytes() + b" ")  # size
    data = bytearray(p2[2].read_bytes())
    data[-2] = ord("0") if data[-2] != ord("0") else ord("1")
    p2[2].write_bytes(bytes(data))  # same size, other hash
    (build / "stray.txt").write_bytes(b"x")  # extra
    os.symlink("list.json", build / "link.json")  # not a regular file
    problems = validate_build(build)
    rel = [p.relative_to(build).as_posix() for p in p2[:3]]
    assert f"{rel[0]}: listed in manifest.json but missing" in problems
    assert any(p.startswith(f"{rel[1]}: size ") for p in problems)
    assert any(p.startswith(f"{rel[2]}: sha256 ") for p in problems)
    assert "stray.txt: present but not listed in manifest.json" in problems
    assert "link.json: not a regular file" in problems
    assert not any(p.startswith("list.json") for p in problems)  # its ~dev file remains


def _link_copy(source: Path, target: Path) -> None:
    """What an incremental build does with unchanged files: hard links."""
    target.mkdir()
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True)
        else:
            os.link(path, dest)


def test_a_cache_skips_files_an_earlier_validation_read(build: Path, tmp_path: Path) -> None:
    cache = FileCache()
    assert validate_build(build, cache=cache) == []
    files = [p for p in build.rglob("*") if p.is_file() and p.name != MANIFEST_NAME]
    assert (cache.hits, len(cache.seen)) == (0, len(files))
    cache.save(tmp_path / "cache.json")

    # the next build links its files from this one: only list.json (always) is read again
    linked = tmp_path / "linked"
    _link_copy(build, linked)
    again = FileCache.load(tmp_path / "cache.json")
    assert len(again) == len(cache.seen)
    assert validate_build(linked, cache=again) == []
    assert again.hits == len(files) - 1

    # a file written anew (a new inode, or a new mtime) is read, and a wrong one reported
    p2 = sorted((linked / "p2" / "wp-plugin").iterdir())
    data = bytearray(p2[0].read_bytes())
    data[-2] = ord("0") if data[-2] != ord("0") else ord("1")
    p2[0].unlink()
    p2[0].write_bytes(bytes(data))
    stale = FileCache.load(tmp_path / "cache.json")
    problems = validate_build(linked, cache=stale)
    assert {p.split(":")[0] for p in problems} == {p2[0].relative_to(linked).as_posix()}
    assert stale.hits == len(files) - 2

    # the limit of the quick check: same inode, size and mtime is trusted; no cache is not
    target = p2[1]
    st = target.stat()
    raw = bytearray(target.read_bytes())
    raw[-2] = ord("0") if raw[-2] != ord("0") else ord("1")
    with open(target, "r+b") as fh:
        fh.write(bytes(raw))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    rel = target.relative_to(linked).as_posix()
    assert not any(p.startswith(rel) for p in validate_build(linked, cache=stale))
    assert any(p.startswith(f"{rel}: sha256") for p in validate_build(linked))


def test_a_broken_cache_file_is_an_empty_cache(tmp_path: Path) -> None:
    for raw in (b"", b"[]", b'{"format": 1, "files": [[1, 2]]}', b'{"format": 9, "files": []}'):
        (tmp_path / "c.json").write_bytes(raw)
        assert len(FileCache.load(tmp_path / "c.json")) == 0
    assert len(FileCache.load(tmp_path / "missing.json")) == 0


def test_json_that_does_not_parse(tmp_path: Path) -> None:
    files = synthetic.render(NAMES[:3])
    files["p2/wp-plugin/broken.json"] = b'{"packages": '
    write_build(tmp_path, files, commit=COMMIT, tree=TREE, time=0)
    problems = validate_build(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("p2/wp-plugin/broken.json: not valid JSON")


def test_packages_json_must_exist(tmp_path: Path) -> None:
    files = synthetic.render(NAMES[:3])
    del files["packages.json"]
    write_build(tmp_path, files, commit=COMMIT, tree=TREE, time=0)
    assert validate_build(tmp_path) == ["packages.json: missing"]


def test_counts_must_agree_with_the_files(tmp_path: Path) -> None:
    files = synthetic.render(NAMES[:3])
    write_build(
        tmp_path,
        files,
        commit=COMMIT,
        tree=TREE,
        time=0,
        counts={"packages": 4, "p2_files": 6},
    )
    m = read_manifest(tmp_path)
    write_manifest(tmp_path, m.model_copy(update={"counts": {**m.counts, "files": 99}}))
    problems = validate_build(tmp_path)
    assert problems == [
        f"manifest.json: counts.files is 99 but the number of files listed is {len(files)}",
        "manifest.json: counts.packages is 4 but the number of names in list.json is 3",
    ]


def test_list_json_names_must_have_p2_files(tmp_path: Path) -> None:
    files = synthetic.render(NAMES[:3])
    files["list.json"] = canonical.dumps({"packageNames": [*NAMES[:3], "wp-plugin/ghost"]})
    write_build(tmp_path, files, commit=COMMIT, tree=TREE, time=0)
    assert validate_build(tmp_path) == [
        "list.json: names wp-plugin/ghost but p2/wp-plugin/ghost.json is missing"
    ]
    files["list.json"] = b'{"packageNames": "nope"}'
    write_build(tmp_path, files, commit=COMMIT, tree=TREE, time=0)
    assert validate_build(tmp_path) == ['list.json: expected {"packageNames": [<strings>]}']
