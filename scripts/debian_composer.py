#!/usr/bin/env python3
"""Install Debian 13 (trixie)'s ``composer`` package into ``.tools/composer/`` for the tests.

Debian 12's ``composer`` (2.5.5) is the client the tests run first, but its ``composer audit``
does not report abandoned packages: that arrived in Composer 2.7. Debian 13 packages
Composer 2.8, and its PHP libraries (all ``Architecture: all``) run on Debian 12's PHP 8.2.
This script fetches exactly the ``.deb`` files named in ``scripts/debian-composer.lock``
from deb.debian.org, checks each one's SHA-256 against the lock, and unpacks them with
``dpkg-deb -x`` into a private prefix, with ``.tools/composer/composer`` as the command.
Nothing is installed system-wide and dpkg's database is not touched; PHP and its extensions
(php-cli, php-mbstring, ...) come from the system (``scripts/setup`` installs them).

    python3 scripts/debian_composer.py            # install (idempotent); prints the binary
    python3 scripts/debian_composer.py --refresh  # re-resolve the lock from trixie's index

``--refresh`` reads trixie's ``binary-all`` package index and writes the dependency closure
of ``composer`` (minus what the system provides) to the lock; review the diff before
committing it. Standard library only: it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "scripts" / "debian-composer.lock"
DEST = ROOT / ".tools" / "composer"
# The command to run: PHP's include_path must name the unpacked libraries first, or Debian's
# autoloaders (include_path-relative) load the system's older copies of the same classes.
WRAPPER = """#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec php -d include_path=".:$here/usr/share/php:/usr/share/php" "$here/usr/bin/composer" "$@"
"""
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "trixie"
# Provided by the system's PHP (Debian 12), not taken from Debian 13.
SYSTEM = frozenset(
    {"php-cli", "php-common", "php-json", "php-mbstring", "php-intl", "ca-certificates", "debconf"}
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def read_lock(path: Path = LOCK) -> list[tuple[str, str]]:
    """``(pool path, sha256)`` per line of the lock; ``#`` starts a comment."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].startswith("pool/") or not _SHA256.fullmatch(parts[1]):
            raise SystemExit(f"{path}:{number}: expected '<pool/...deb> <sha256>', got {line!r}")
        entries.append((parts[0], parts[1]))
    return entries


class _Gone(Exception):
    """The mirror no longer has a locked file (HTTP 404: Debian replaced that version)."""


def _fetch(url: str, attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise _Gone(url) from None
            if attempt == attempts:
                raise
        except OSError:
            if attempt == attempts:
                raise
        time.sleep(2.0 * attempt)
    raise AssertionError("unreachable")


def cache_dir() -> Path:
    """Downloaded ``.deb`` files, by sha256, shared by every checkout on this machine (a
    fresh clone, as CI makes, then needs no network)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wp-composer-curator" / "debs"


def _deb(pool_path: str, expected: str, cache: Path) -> bytes:
    """The ``.deb`` at ``pool_path`` with sha256 ``expected``: from the cache, else the mirror."""
    cached = cache / f"{expected}.deb"
    if cached.is_file():
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == expected:
            return data
    url = f"{MIRROR}/{pool_path}"
    try:
        data = _fetch(url)  # _Gone goes to install(), which falls back to the live index
    except OSError as exc:
        raise SystemExit(
            f"cannot download {url}: {exc}\n"
            "(if Debian replaced this version, run with --refresh and review the lock)"
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise SystemExit(f"{url}: sha256 {actual}, the lock says {expected}")
    with contextlib.suppress(OSError):  # a read-only cache only costs the download
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{expected}.{os.getpid()}"
        tmp.write_bytes(data)
        tmp.replace(cached)
    return data


def install(lock: Path = LOCK, dest: Path = DEST, cache: Path | None = None) -> Path:
    """Unpack the locked packages into ``dest`` unless that exact set is there already.

    When the mirror has dropped a locked file (a Debian point release replaced it), it warns
    and installs the closure from trixie's current index instead, so a new machine still
    gets a Composer 2.8; ``--refresh`` then updates the lock for review."""
    cache = cache or cache_dir()
    stamp = hashlib.sha256(lock.read_bytes()).hexdigest()
    stamp_file = dest / ".lock-sha256"
    if stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        return dest / "composer"
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("dpkg-deb is missing (Debian's dpkg package)")
    try:
        return _unpack(read_lock(lock), dest, cache, stamp)
    except _Gone as gone:
        print(
            f"warning: {lock.name} is stale: {gone} is gone from the mirror; installing "
            f"{SUITE}'s current packages instead (run {Path(__file__).name} --refresh and "
            "commit the lock)",
            file=sys.stderr,
        )
    try:
        index = _live_index()
    except (OSError, _Gone, lzma.LZMAError) as exc:
        raise SystemExit(f"cannot read {SUITE}'s package index from {MIRROR}: {exc}") from None
    current = [(f["Filename"], f["SHA256"]) for f in resolve(index)]
    return _unpack(current, dest, cache, "unlocked")  # never matches a lock: retried next time


def _live_index() -> dict[str, dict[str, str]]:
    url = f"{MIRROR}/dists/{SUITE}/main/binary-all/Packages.xz"
    return _parse_index(lzma.decompress(_fetch(url)).decode("utf-8", "replace"))


def _unpack(entries: list[tuple[str, str]], dest: Path, cache: Path, stamp: str) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".composer-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        for pool_path, expected in entries:
            data = _deb(pool_path, expected, cache)
            deb = Path(tmp) / Path(pool_path).name
            deb.write_bytes(data)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        relocate(root / "usr" / "share" / "php")
        wrapper = root / "composer"
        wrapper.write_text(WRAPPER)
        wrapper.chmod(0o755)
        (root / ".lock-sha256").write_text(stamp + "\n")
        old = Path(tmp) / "old"
        if dest.exists():
            dest.rename(old)
        root.rename(dest)
    return dest / "composer"


def relocate(php_root: Path) -> int:
    """Point the absolute ``require_once '/usr/share/php/...'`` lines of Debian's generated
    autoloaders at the unpacked copies (``__DIR__``-relative, so the prefix can move);
    otherwise they load the system's older classes. Returns the number of files changed."""
    changed = 0
    for path in php_root.rglob("*.php"):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if "'/usr/share/php/" not in text:
            continue
        up = os.path.relpath(php_root, path.parent)
        path.write_text(
            text.replace("'/usr/share/php/", f"__DIR__ . '/{up}/"),
            encoding="utf-8",
            errors="surrogateescape",
        )
        changed += 1
    return changed


def _parse_index(text: str) -> dict[str, dict[str, str]]:
    packages: dict[str, dict[str, str]] = {}
    provides: dict[str, dict[str, str]] = {}
    for block in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z0-9-]+): (.*)$", block, re.M))
        if "Package" not in fields:
            continue
        packages[fields["Package"]] = fields
        for item in fields.get("Provides", "").split(","):
            name = item.strip().split(" ")[0]
            if name:
                provides.setdefault(name, fields)
    return {**provides, **packages}


def resolve(index: dict[str, dict[str, str]], root: str = "composer") -> list[dict[str, str]]:
    """The packages ``root`` needs, by ``Depends`` (first satisfiable alternative), minus
    :data:`SYSTEM`."""
    todo, seen = [root], {}
    while todo:
        name = todo.pop()
        if name in seen or name in SYSTEM:
            continue
        fields = index.get(name)
        if fields is None:
            raise SystemExit(f"{name} is not in {SUITE}'s binary-all index")
        seen[name] = fields
        for clause in fields.get("Depends", "").split(","):
            options = [a.strip().split(" ")[0] for a in clause.split("|") if a.strip()]
            if options:
                todo.append(next((o for o in options if o in index or o in SYSTEM), options[0]))
    return sorted({f["Package"]: f for f in seen.values()}.values(), key=lambda f: f["Package"])


def refresh(lock: Path = LOCK) -> None:
    url = f"{MIRROR}/dists/{SUITE}/main/binary-all/Packages.xz"
    index = _live_index()
    lines = [
        f"# Debian {SUITE} packages unpacked into .tools/composer by scripts/debian_composer.py",
        "# (composer and the PHP libraries it depends on; PHP itself comes from the system).",
        f"# Resolved from {url} by --refresh.",
    ]
    for fields in resolve(index):
        lines.append(f"# {fields['Package']} {fields['Version']}")
        lines.append(f"{fields['Filename']} {fields['SHA256']}")
    lock.write_text("\n".join(lines) + "\n")
    print(f"wrote {lock}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true", help="re-resolve the lock file")
    args = parser.parse_args()
    if args.refresh:
        refresh()
        return
    binary = install()
    print(binary)


if __name__ == "__main__":
    main()
