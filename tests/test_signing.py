"""Ed25519 manifest signatures: key formats (cross-checked with the openssl CLI), the
signature file, verification against pinned keys, and every malformed input."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from pydantic import ValidationError

from curator import canonical
from curator.cli._app import cli
from curator.models import RegistryConfig
from curator.signing import (
    KEY_ENV,
    KEY_FILE_ENV,
    SignatureError,
    SigningError,
    encode_signature,
    generate_key,
    load_signing_key,
    parse_private_key,
    parse_public_key,
    read_signature,
    sign_build,
    verify_manifest,
)

MANIFEST = b'{\n  "commit": "x"\n}\n'


def test_sign_and_verify_round_trip_is_deterministic() -> None:
    key = generate_key()
    sig = encode_signature(key, MANIFEST)
    assert encode_signature(key, MANIFEST) == sig  # Ed25519 is deterministic
    doc = json.loads(sig)
    assert doc["algorithm"] == "ed25519" and doc["format"] == 1
    assert doc["key_id"] == key.key_id and len(key.key_id) == 16
    assert sig == canonical.dumps(doc)
    assert verify_manifest(MANIFEST, sig, [key.public.pinned]) == key.public
    # a second pinned key (rotation) does not get in the way
    other = generate_key()
    assert verify_manifest(MANIFEST, sig, [other.public.pinned, key.public.pinned]) == key.public
    assert key.private_text() not in repr(key)


def test_private_key_text_round_trips_through_the_environment(tmp_path: Path) -> None:
    key = generate_key()
    loaded = load_signing_key({KEY_ENV: key.private_text()})
    assert loaded is not None and loaded.public == key.public
    file = tmp_path / "key"
    file.write_text(f"\n  {key.private_text()}  \n")
    from_file = load_signing_key({KEY_FILE_ENV: str(file)})
    assert from_file is not None and from_file.public == key.public
    assert load_signing_key({}) is None
    assert load_signing_key({KEY_ENV: "  ", KEY_FILE_ENV: ""}) is None


def test_an_openssl_pem_key_is_read_and_gives_openssl_s_public_key(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True)
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    key = load_signing_key({KEY_FILE_ENV: str(pem)})
    assert key is not None
    assert key.public.raw == der[-32:]  # the raw key ends the SubjectPublicKeyInfo
    # and a signature made by openssl verifies with our pinned form of its key
    data = tmp_path / "manifest.json"
    data.write_bytes(MANIFEST)
    sig = subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-inkey", str(pem), "-rawin", "-in", str(data)],
        check=True,
        capture_output=True,
    ).stdout
    assert sig == key.sign(MANIFEST)


def _pem(private_key: object, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    raw: bytes = private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return raw.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("not base64 at all!", "not valid base64"),
        (base64.b64encode(b"x" * 16).decode(), "16 bytes after base64 decoding"),
        (base64.b64encode(b"x" * 64).decode(), "64 bytes after base64 decoding"),
        ("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", "unreadable PEM"),
        ("rsa", "expected an Ed25519 key"),
        ("encrypted", "encrypted PEM"),
    ],
)
def test_bad_private_keys_are_clear_errors(value: str, message: str) -> None:
    if value == "rsa":
        value = _pem(generate_private_key(public_exponent=65537, key_size=1024))
    elif value == "encrypted":
        value = _pem(Ed25519PrivateKey.generate(), b"secret")
        assert value.startswith("-----BEGIN ENCRYPTED PRIVATE KEY")
    with pytest.raises(SigningError, match=message) as info:
        parse_private_key(value)
    assert KEY_ENV in str(info.value)


def test_bad_key_environments_are_clear_errors(tmp_path: Path) -> None:
    key = generate_key().private_text()
    with pytest.raises(SigningError, match="both"):
        load_signing_key({KEY_ENV: key, KEY_FILE_ENV: "/x"})
    with pytest.raises(SigningError, match="cannot read"):
        load_signing_key({KEY_FILE_ENV: str(tmp_path / "missing")})
    big = tmp_path / "big"
    big.write_bytes(b"A" * 20_000)
    with pytest.raises(SigningError, match="larger than"):
        load_signing_key({KEY_FILE_ENV: str(big)})
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" * 10)
    with pytest.raises(SigningError, match="not text"):
        load_signing_key({KEY_FILE_ENV: str(binary)})
    with pytest.raises(SigningError, match="not valid base64"):
        parse_private_key("%%%")


@pytest.mark.parametrize(
    "text",
    [
        "ed25519:",
        "rsa:" + base64.b64encode(b"k" * 32).decode(),
        "ed25519:" + base64.b64encode(b"k" * 31).decode(),
        "ed25519:" + base64.b64encode(b"k" * 33).decode(),
        base64.b64encode(b"k" * 32).decode(),
    ],
)
def test_bad_public_keys_are_refused_by_the_parser_and_the_model(text: str) -> None:
    with pytest.raises(SigningError, match="expected 'ed25519:'"):
        parse_public_key(text)
    with pytest.raises(ValidationError, match="signing_keys"):
        RegistryConfig(signing_keys=[text])


def test_registry_json_pins_keys() -> None:
    pin = generate_key().public.pinned
    config = RegistryConfig.model_validate({"signing_keys": [pin]})
    assert config.signing_keys == [pin]
    assert RegistryConfig().signing_keys == []
    assert parse_public_key(pin).pinned == pin


def test_verification_failures_say_why() -> None:
    key, other = generate_key(), generate_key()
    pinned = [key.public.pinned]
    sig = encode_signature(key, MANIFEST)
    with pytest.raises(SignatureError, match="pins no signing keys"):
        verify_manifest(MANIFEST, sig, [])
    with pytest.raises(SignatureError, match=r"missing.*unsigned manifest is refused"):
        verify_manifest(MANIFEST, None, pinned)
    with pytest.raises(SignatureError, match=f"signed with key {other.key_id}.*does not pin"):
        verify_manifest(MANIFEST, encode_signature(other, MANIFEST), pinned)
    with pytest.raises(SignatureError, match="signs a manifest with sha256"):
        verify_manifest(MANIFEST + b" ", sig, pinned)
    # a forged signature over the right digest, under the pinned key id
    doc = json.loads(sig)
    doc["signature"] = base64.b64encode(other.sign(MANIFEST)).decode()
    with pytest.raises(SignatureError, match="does not verify with key"):
        verify_manifest(MANIFEST, canonical.dumps(doc), pinned)
    with pytest.raises(SigningError, match="public key"):
        verify_manifest(MANIFEST, sig, ["ed25519:nope"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"algorithm": "rsa"}, "unsupported format"),
        ({"format": 2}, "unsupported format"),
        ({"key_id": "XYZ"}, "key_id"),
        ({"manifest_sha256": "00"}, "manifest_sha256"),
        ({"signature": 5}, "base64 string"),
        ({"signature": "!!!"}, "not valid base64"),
        ({"signature": base64.b64encode(b"s" * 10).decode()}, "10 bytes, expected 64"),
    ],
)
def test_malformed_signature_files_are_refused(change: dict[str, object], message: str) -> None:
    doc = json.loads(encode_signature(generate_key(), MANIFEST))
    doc.update(change)
    with pytest.raises(SignatureError, match=message):
        read_signature(canonical.dumps(doc))


def test_signature_files_that_are_not_signatures_are_refused() -> None:
    with pytest.raises(SignatureError, match="not JSON"):
        read_signature(b"\x00garbage")
    with pytest.raises(SignatureError, match="a JSON object"):
        read_signature(b"[1, 2]")
    with pytest.raises(SignatureError, match="larger than any signature"):
        read_signature(b" " * 5000)


def test_sign_build_writes_the_signature_once(tmp_path: Path) -> None:
    key = generate_key()
    (tmp_path / "manifest.json").write_bytes(MANIFEST)
    path = sign_build(tmp_path, key)
    assert path == tmp_path / "manifest.json.sig"
    first = path.stat()
    assert sign_build(tmp_path, key) == path
    assert path.stat().st_ino == first.st_ino  # unchanged: not rewritten
    verify_manifest(MANIFEST, path.read_bytes(), [key.public.pinned])
    other = generate_key()
    sign_build(tmp_path, other)  # another key replaces it
    verify_manifest(MANIFEST, path.read_bytes(), [other.public.pinned])


def test_keygen_prints_a_usable_key_pair(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["keygen", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    key = parse_private_key(data["private_key"])
    assert key.public.pinned == data["public_key"] and key.key_id == data["key_id"]

    out = tmp_path / "signing.key"
    result = runner.invoke(cli, ["keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "public key" in result.output and "ed25519:" in result.output
    assert out.stat().st_mode & 0o777 == 0o600
    loaded = load_signing_key({KEY_FILE_ENV: str(out)})
    assert loaded is not None and loaded.public.pinned in result.output
    assert loaded.private_text() not in result.output  # the secret went to the file only
    again = runner.invoke(cli, ["keygen", "--out", str(out)])
    assert again.exit_code == 2 and "File exists" in again.output
