"""scripts/debian_composer.py: the lock, the dependency closure and the autoloader relocation.

The install itself runs in scripts/setup and is exercised by the composer 2.8 client test
(tests/build/test_composer_client.py)."""

from __future__ import annotations

import functools
import importlib.util
import lzma
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "debian_composer", ROOT / "scripts" / "debian_composer.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dc = load()


def test_the_committed_lock_pins_composer_and_its_libraries() -> None:
    entries = dc.read_lock()
    names = [Path(p).name for p, _ in entries]
    assert any(n.startswith("composer_2.") for n in names)
    assert any(n.startswith("php-symfony-console_") for n in names)
    assert not any(n.startswith(("php-cli_", "php-common_", "php8")) for n in names)
    assert len({sha for _, sha in entries}) == len(entries)


@pytest.mark.parametrize(
    "line", ["pool/main/c/x.deb", "pool/main/c/x.deb abc", "/etc/passwd " + "0" * 64]
)
def test_a_malformed_lock_line_is_named(tmp_path: Path, line: str) -> None:
    lock = tmp_path / "lock"
    lock.write_text("# comment\n\n" + line + "\n")
    with pytest.raises(SystemExit, match=r"lock:3: expected"):
        dc.read_lock(lock)


def test_resolve_follows_depends_and_leaves_the_system_php_alone() -> None:
    index = dc._parse_index(
        "Package: composer\nVersion: 2.8\nDepends: php-cli, php-a (>= 1), php-b | php-c\n"
        "Filename: pool/c.deb\nSHA256: 1\n\n"
        "Package: php-a\nVersion: 1\nDepends: php-common, php-psr\nFilename: pool/a.deb\n"
        "SHA256: 2\n\n"
        "Package: php-c\nVersion: 1\nFilename: pool/cc.deb\nSHA256: 3\n\n"
        "Package: php-psr-impl\nVersion: 1\nProvides: php-psr (= 1)\nFilename: pool/p.deb\n"
        "SHA256: 4\n"
    )
    got = [f["Package"] for f in dc.resolve(index)]
    assert got == ["composer", "php-a", "php-c", "php-psr-impl"]  # php-b is not in the index
    with pytest.raises(SystemExit, match="php-x is not in trixie"):
        dc.resolve({**index, "composer": {**index["composer"], "Depends": "php-x"}})


def test_relocated_autoloaders_load_the_unpacked_copies(tmp_path: Path) -> None:
    """Debian's generated autoloaders require absolute /usr/share/php paths; after
    relocation PHP itself loads the copies next to them, wherever the prefix is."""
    php = tmp_path / "usr" / "share" / "php"
    (php / "Lib").mkdir(parents=True)
    (php / "Composer").mkdir()
    (php / "Lib" / "autoload.php").write_text("<?php\necho 'unpacked copy';\n")
    (php / "Composer" / "autoload.php").write_text(
        "<?php\n\nrequire_once '/usr/share/php/Lib/autoload.php';\n"
    )
    assert dc.relocate(php) == 1
    assert "/usr/share/php" not in (php / "Composer" / "autoload.php").read_text()
    moved = tmp_path.rename(tmp_path.with_name(tmp_path.name + "-moved"))
    out = subprocess.run(
        ["php", str(moved / "usr/share/php/Composer/autoload.php")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "unpacked copy"


def test_a_fresh_checkout_installs_from_the_cache_without_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scripts/setup filled the machine's cache; a fresh clone (what CI makes) then unpacks
    from it with no mirror at all, and gets a working composer 2.8."""
    dc.install(dest=tmp_path / "warm")  # what setup did (a no-op download when it did)
    monkeypatch.setattr(dc, "MIRROR", "http://127.0.0.1:9")  # nothing listens on port 9
    binary = dc.install(dest=tmp_path / "composer", cache=dc.cache_dir())
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Composer version 2.8")
    assert not any("'/usr/share/php/" in p.read_text() for p in tmp_path.rglob("autoload.php"))


def test_a_damaged_cache_entry_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dc, "MIRROR", "http://127.0.0.1:9")
    monkeypatch.setattr(dc.time, "sleep", lambda _s: None)
    sha = "ab" * 32
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{sha}.deb").write_bytes(b"not the package")
    lock = tmp_path / "lock"
    lock.write_text(f"pool/main/x/x_1_all.deb {sha}\n")
    with pytest.raises(SystemExit, match=r"cannot download http://127\.0\.0\.1:9/pool/main/x/"):
        dc.install(lock=lock, dest=tmp_path / "dest", cache=tmp_path / "cache")
    assert not (tmp_path / "dest").exists()


def test_a_version_debian_dropped_falls_back_to_the_current_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A point release removes the locked .deb from the pool (404): setup warns and installs
    what trixie's index lists now, so a new machine still gets composer 2.8."""
    dc.install(dest=tmp_path / "warm")  # the real packages, in the machine's cache
    mirror = tmp_path / "mirror"
    index = []
    names = []
    for pool_path, sha in dc.read_lock():
        deb = Path(pool_path).name
        name = deb.split("_", 1)[0]
        names.append(name)
        moved = f"pool/main/new/{deb}"  # the same bytes, under a path the lock does not name
        (mirror / moved).parent.mkdir(parents=True, exist_ok=True)
        (mirror / moved).write_bytes((dc.cache_dir() / f"{sha}.deb").read_bytes())
        index.append(f"Package: {name}\nVersion: 1\nFilename: {moved}\nSHA256: {sha}\n")
    index[0] = index[0].replace("Version: 1\n", f"Version: 1\nDepends: {', '.join(names[1:])}\n")
    assert names[0] == "composer"
    dists = mirror / "dists" / "trixie" / "main" / "binary-all"
    dists.mkdir(parents=True)
    (dists / "Packages.xz").write_bytes(lzma.compress("\n".join(index).encode()))
    handler = functools.partial(_Quiet, directory=str(mirror))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as http:
        threading.Thread(target=http.serve_forever, daemon=True).start()
        monkeypatch.setattr(dc, "MIRROR", f"http://127.0.0.1:{http.server_address[1]}")
        binary = dc.install(dest=tmp_path / "composer", cache=tmp_path / "empty-cache")
        http.shutdown()
    assert "debian-composer.lock is stale" in capsys.readouterr().err
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Composer version 2.8")
    assert len(list((tmp_path / "empty-cache").glob("*.deb"))) == len(names)  # downloaded


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
