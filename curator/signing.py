"""Ed25519 signatures of build manifests: keys, the signature file, signing and checking.

A build signed with a private key gets ``manifest.json.sig`` next to ``manifest.json``: a
detached signature over the exact bytes of ``manifest.json``, as canonical JSON::

    {
      "algorithm": "ed25519",
      "format": 1,
      "key_id": "<16 hex: sha256 of the raw public key, truncated>",
      "manifest_sha256": "<64 hex: sha256 of the manifest bytes signed>",
      "signature": "<base64 of the 64-byte signature>"
    }

Ed25519 signatures are deterministic, so two builds of one commit signed with one key are
byte-identical, signature included. ``manifest_sha256`` only helps diagnose a signature
that belongs to another manifest; the signature itself is what is checked.

Keys as text:

- a **private key** (``CURATOR_SIGNING_KEY``, or the file named by
  ``CURATOR_SIGNING_KEY_FILE``) is the base64 of the raw 32-byte key, or an unencrypted
  PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``, as ``openssl genpkey -algorithm ed25519``
  writes);
- a **public key** as pinned in ``registry.json`` (``signing_keys``) is
  ``ed25519:<base64 of the raw 32-byte key>``.

This module owns those formats and the cryptography calls; it reads the environment only
through the mapping it is given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from curator import canonical
from curator.build.manifest import MANIFEST_NAME, SIGNATURE_NAME, atomic_write

__all__ = [
    "ALGORITHM",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "MAX_SIGNATURE_BYTES",
    "PublicKey",
    "Signature",
    "SignatureError",
    "SigningError",
    "SigningKey",
    "encode_signature",
    "generate_key",
    "load_signing_key",
    "parse_private_key",
    "parse_public_key",
    "read_signature",
    "sign_build",
    "verify_manifest",
]

ALGORITHM: Final = "ed25519"
KEY_ENV: Final = "CURATOR_SIGNING_KEY"
KEY_FILE_ENV: Final = "CURATOR_SIGNING_KEY_FILE"
MAX_SIGNATURE_BYTES: Final = 4096  # a signature file is ~250 bytes; refuse anything huge
MAX_KEY_FILE_BYTES: Final = 16 * 1024
_KEY_ID_HEX: Final = 16
_PIN_RE: Final = re.compile(r"ed25519:([A-Za-z0-9+/]{43}=)")
_HEX16: Final = re.compile(r"[0-9a-f]{16}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


class SigningError(ValueError):
    """A key that cannot be used: malformed, of another algorithm, or unreadable."""


class SignatureError(ValueError):
    """A signature that is missing, malformed, or does not verify with a pinned key."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningError(f"{what}: not valid base64") from None


def _key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:_KEY_ID_HEX]


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (raw 32 bytes)."""

    raw: bytes

    @property
    def key_id(self) -> str:
        """The first 16 hex digits of the sha256 of the raw key."""
        return _key_id(self.raw)

    @property
    def pinned(self) -> str:
        """The form ``registry.json`` pins: ``ed25519:<base64>``."""
        return f"{ALGORITHM}:{base64.b64encode(self.raw).decode()}"

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


def parse_public_key(text: str) -> PublicKey:
    """``ed25519:<base64 of 32 bytes>`` -> :class:`PublicKey`; :class:`SigningError` if not."""
    match = _PIN_RE.fullmatch(text.strip())
    if match is None:
        raise SigningError(
            f"public key {text[:60]!r}: expected 'ed25519:' and the base64 of 32 bytes"
        )
    raw = _b64decode(match.group(1), "public key")
    if len(raw) != 32:  # pragma: no cover - the pattern admits exactly 32 bytes
        raise SigningError(f"public key: {len(raw)} bytes, expected 32")
    return PublicKey(raw)


class SigningKey:
    """An Ed25519 private key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @property
    def public(self) -> PublicKey:
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PublicKey(raw)

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def private_text(self) -> str:
        """The base64 of the raw 32-byte private key (what ``CURATOR_SIGNING_KEY`` holds)."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw).decode()

    def __repr__(self) -> str:  # never show the secret
        return f"SigningKey(key_id={self.key_id!r})"


def generate_key() -> SigningKey:
    """A new random private key."""
    return SigningKey(Ed25519PrivateKey.generate())


def parse_private_key(text: str | bytes, *, source: str = KEY_ENV) -> SigningKey:
    """A private key from base64 (raw 32 bytes) or an unencrypted PKCS#8 PEM.

    :class:`SigningError` names ``source`` and what is wrong, never the key itself."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise SigningError(f"{source}: not text (expected base64 or a PEM)") from None
    stripped = text.strip()
    if not stripped:
        raise SigningError(f"{source}: empty")
    if stripped.startswith("-----BEGIN"):
        if "ENCRYPTED" in stripped.split("\n", 1)[0]:
            raise SigningError(f"{source}: an encrypted PEM; give an unencrypted one")
        try:
            key = serialization.load_pem_private_key(stripped.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SigningError(f"{source}: unreadable PEM ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningError(f"{source}: a {type(key).__name__}, expected an Ed25519 key")
        return SigningKey(key)
    raw = _b64decode(stripped, source)
    if len(raw) != 32:
        raise SigningError(
            f"{source}: {len(raw)} bytes after base64 decoding, expected a raw 32-byte "
            "Ed25519 private key (or a PEM)"
        )
    return SigningKey(Ed25519PrivateKey.from_private_bytes(raw))


def load_signing_key(env: Mapping[str, str]) -> SigningKey | None:
    """The key named by ``CURATOR_SIGNING_KEY`` or ``CURATOR_SIGNING_KEY_FILE`` in ``env``;
    None when neither is set (or both are empty). Both set is an error."""
    inline = env.get(KEY_ENV, "")
    file_name = env.get(KEY_FILE_ENV, "")
    if inline.strip() and file_name.strip():
        raise SigningError(f"both {KEY_ENV} and {KEY_FILE_ENV} are set: give one")
    if inline.strip():
        return parse_private_key(inline, source=KEY_ENV)
    if not file_name.strip():
        return None
    path = Path(file_name)
    source = f"{KEY_FILE_ENV}={file_name}"
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise SigningError(f"{source}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise SigningError(f"{source}: larger than {MAX_KEY_FILE_BYTES} bytes, not a key")
    return parse_private_key(raw, source=source)


# --- the signature file --------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A decoded ``manifest.json.sig``."""

    key_id: str
    manifest_sha256: str
    signature: bytes


def encode_signature(key: SigningKey, manifest: bytes) -> bytes:
    """The ``manifest.json.sig`` document signing ``manifest`` (exact bytes) with ``key``."""
    return canonical.dumps(
        {
            "algorithm": ALGORITHM,
            "format": 1,
            "key_id": key.key_id,
            "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "signature": base64.b64encode(key.sign(manifest)).decode(),
        }
    )


def read_signature(raw: bytes) -> Signature:
    """Decode a ``manifest.json.sig``; :class:`SignatureError` says what is malformed."""
    where = SIGNATURE_NAME
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{where}: {len(raw)} bytes, larger than any signature")
    try:
        data = canonical.loads(raw)
    except ValueError as exc:
        raise SignatureError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SignatureError(f"{where}: expected a JSON object")
    if data.get("format") != 1 or data.get("algorithm") != ALGORITHM:
        raise SignatureError(
            f"{where}: unsupported format {data.get('format')!r} / algorithm "
            f"{data.get('algorithm')!r} (expected 1 / {ALGORITHM})"
        )
    key_id, digest, sig = data.get("key_id"), data.get("manifest_sha256"), data.get("signature")
    if not isinstance(key_id, str) or not _HEX16.fullmatch(key_id):
        raise SignatureError(f"{where}: key_id must be 16 hex digits")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise SignatureError(f"{where}: manifest_sha256 must be 64 hex digits")
    if not isinstance(sig, str):
        raise SignatureError(f"{where}: signature must be a base64 string")
    try:
        signature = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{where}: signature is not valid base64") from None
    if len(signature) != 64:
        raise SignatureError(f"{where}: signature is {len(signature)} bytes, expected 64")
    return Signature(key_id, digest, signature)


def verify_manifest(manifest: bytes, signature: bytes | None, pinned: Sequence[str]) -> PublicKey:
    """Check that ``signature`` (a ``manifest.json.sig``) signs ``manifest`` with one of the
    ``pinned`` keys (``registry.json`` ``signing_keys``); returns that key.

    :class:`SignatureError` when the signature is missing, malformed, made with a key that
    is not pinned, or does not match these manifest bytes. :class:`SigningError` when a
    pinned key is malformed."""
    keys = [parse_public_key(text) for text in pinned]
    if not keys:
        raise SignatureError("registry.json pins no signing keys: nothing to check against")
    if signature is None:
        raise SignatureError(
            f"{SIGNATURE_NAME} is missing, but registry.json pins signing key(s) "
            f"{', '.join(k.key_id for k in keys)}: an unsigned manifest is refused"
        )
    doc = read_signature(signature)
    matching = [k for k in keys if k.key_id == doc.key_id]
    if not matching:
        raise SignatureError(
            f"{SIGNATURE_NAME}: signed with key {doc.key_id}, which registry.json does not "
            f"pin (pinned: {', '.join(k.key_id for k in keys)})"
        )
    actual = hashlib.sha256(manifest).hexdigest()
    for key in matching:
        if key.verify(doc.signature, manifest):
            return key
    if doc.manifest_sha256 != actual:
        raise SignatureError(
            f"{SIGNATURE_NAME}: signs a manifest with sha256 {doc.manifest_sha256}, but "
            f"{MANIFEST_NAME} has sha256 {actual}"
        )
    raise SignatureError(
        f"{SIGNATURE_NAME}: the signature does not verify with key {doc.key_id} "
        f"({MANIFEST_NAME} sha256 {actual})"
    )


def sign_build(directory: Path, key: SigningKey) -> Path:
    """Write ``manifest.json.sig`` for the ``manifest.json`` in ``directory`` (atomically;
    left as is when it already holds exactly that signature). Returns its path."""
    path = directory / SIGNATURE_NAME
    data = encode_signature(key, (directory / MANIFEST_NAME).read_bytes())
    try:
        if path.read_bytes() == data:
            return path
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return path
