"""Ed25519 keys: generation, PEM files (mode 0600, optional passphrase), IDs.

A private key lives only in a key file or the process that loaded it; no
function here puts key material into a message, an exception or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

PASSPHRASE_ENV = "DRLEDGER_KEY_PASSPHRASE"


class KeyFileError(Exception):
    """A key file is missing, unreadable, malformed or wrongly protected."""


def key_id(public_key: bytes) -> str:
    """A short stable name for a raw 32-byte Ed25519 public key.

    >>> key_id(bytes(32))
    '66687aadf862bd77'
    """
    return hashlib.sha256(public_key).hexdigest()[:16]


def public_key_b64(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode()


def decode_public_key(text: str) -> bytes:
    """A raw public key from standard base64, checked for length."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as error:
        raise ValueError(f"public key is not valid base64: {error}") from None
    if len(raw) != 32:
        raise ValueError(f"public key must be 32 bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with its public half; never printed."""

    private_key: Ed25519PrivateKey = field(repr=False)
    public_key: bytes

    @classmethod
    def generate(cls) -> Signer:
        return cls.from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_private(cls, private_key: Ed25519PrivateKey) -> Signer:
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(private_key=private_key, public_key=raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def write_key_file(path: Path, signer: Signer, passphrase: str | None) -> None:
    """Write a PKCS#8 PEM file readable by its owner only; refuse to overwrite."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL: never clobber an existing key; 0600 from the first byte written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def read_key_file(path: Path, passphrase: str | None) -> Signer:
    """Load an Ed25519 key file; errors say what is wrong, never the key."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"key file not found: {path}") from None
    except OSError as error:
        raise KeyFileError(f"cannot read key file {path}: {error.strerror}") from None
    encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0]
    if encrypted and not passphrase:
        raise KeyFileError(f"key file {path} is passphrase-protected: set {PASSPHRASE_ENV}")
    try:
        key = serialization.load_pem_private_key(
            data, password=passphrase.encode() if encrypted and passphrase else None
        )
    except ValueError:
        if encrypted:
            raise KeyFileError(f"wrong passphrase for key file {path}") from None
        raise KeyFileError(f"key file {path} is not a PEM private key") from None
    except TypeError:
        raise KeyFileError(f"key file {path} is not passphrase-protected; unset {PASSPHRASE_ENV}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
    return Signer.from_private(key)
