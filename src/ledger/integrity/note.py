"""C2SP signed notes (v1.0.0, Ed25519), tlog checkpoints (v1.0.0) and cosignatures (v1.0.1).

Pure functions only: no I/O and no clock (a cosignature's timestamp is an
argument).  Ed25519 comes from ``cryptography``; signing is deterministic
(RFC 8032), so a given key and text always give the same signature.

Signed note (c2sp.org/signed-note)::

    <text, ending in a newline>
    <blank line>
    — <key name> base64(4-byte big-endian key ID || signature)
    ...

* The note must be valid UTF-8 with no control character other than newline.
* The text is everything up to and including the newline before the *last*
  blank line, so the text may itself contain blank lines.
* Key names are non-empty and contain no Unicode space and no ``+``.
* Key ID = ``SHA-256(name || 0x0A || type || public key)[:4]``; type 0x01 is
  Ed25519 over the note text, type 0x04 is a tlog-cosignature/v1 Ed25519
  cosignature (see below).  Verifier keys are ``name+hex8+base64(type||key)``;
  Ed25519 signer keys are ``PRIVATE+KEY+name+hex8+base64(0x01||seed)``.

``open_note`` rules (C2SP, with golang.org/x/mod/sumdb/note's limits):

* a signature whose (name, key ID) matches no known verifier is *ignored*
  (kept in ``OpenedNote.unverified``), even if it shares the name or the ID;
* every signature from a known verifier is verified, including repeats, and
  any failure rejects the whole note (``InvalidSignatureError``) — x/mod skips
  repeats unverified, C2SP says known-key signatures MUST be verified;
* at least one known verifier must have signed (``UnverifiedNoteError``), and
  every verifier in ``required`` must have signed (``MissingSignatureError``);
* more than ``max_signatures`` (default 100, as x/mod; C2SP requires at least
  16) signature lines is malformed, counted before de-duplication;
* base64 must be canonical (what every signer emits), so one signature has
  exactly one encoding.

Checkpoint (c2sp.org/tlog-checkpoint): ``origin\\nsize\\nbase64(root)\\n``,
size in decimal without leading zeros, root exactly 32 bytes.  This ledger
never writes extension lines; ``parse_checkpoint`` refuses them unless
``allow_extensions=True`` (for reading other logs' checkpoints).

Cosignature v1 (c2sp.org/tlog-cosignature, Ed25519): the signed message is
``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint text, and the note
signature bytes are ``8-byte big-endian t || 64-byte Ed25519 signature``.

>>> signer = Ed25519Signer.from_seed("example.org/log", bytes(32))
>>> body = format_checkpoint("example.org/log", 0, bytes(32))
>>> note = sign_note(body, [signer])
>>> opened = open_note(note, [signer.verifier()])
>>> parse_checkpoint(opened.text).size
0
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "SIG_ED25519",
    "SIG_COSIGNATURE_V1",
    "MAX_SIGNATURES",
    "NoteError",
    "MalformedNoteError",
    "KeyFormatError",
    "UnverifiedNoteError",
    "InvalidSignatureError",
    "MissingSignatureError",
    "CheckpointError",
    "key_id",
    "is_valid_key_name",
    "Ed25519Verifier",
    "CosignatureV1Verifier",
    "Verifier",
    "Ed25519Signer",
    "CosignatureV1Signer",
    "Signer",
    "parse_verifier_key",
    "cosignature_verifier",
    "parse_signer_key",
    "NoteSignature",
    "OpenedNote",
    "sign_note",
    "open_note",
    "Checkpoint",
    "format_checkpoint",
    "parse_checkpoint",
    "open_checkpoint",
    "cosignature_message",
    "encode_cosignature",
    "decode_cosignature",
]

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 100

_SIG_PREFIX = "\u2014 "  # em dash, space
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_TIMESTAMP_SIZE = 8
_MAX_TIMESTAMP = 2**63 - 1  # tlog-cosignature: MUST NOT exceed 2^63 - 1
_MAX_TREE_SIZE = 2**64 - 1
_HEX8 = re.compile(r"[0-9a-f]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


# --------------------------------------------------------------------------
# Errors


class NoteError(ValueError):
    """A note, key or checkpoint was refused."""


class MalformedNoteError(NoteError):
    """The note does not follow the signed-note format."""


class KeyFormatError(NoteError):
    """A verifier or signer key string is malformed, mismatched or unsupported."""


class UnverifiedNoteError(NoteError):
    """The note parsed but no known verifier signed it; ``note`` has the details."""

    def __init__(self, note: OpenedNote) -> None:
        super().__init__("note has no verifiable signatures")
        self.note = note


class InvalidSignatureError(NoteError):
    """A signature from a known key failed to verify."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")
        self.name = name
        self.key_id = key_id


class MissingSignatureError(NoteError):
    """A verifier the caller requires did not sign the note."""


class CheckpointError(NoteError):
    """A checkpoint body is malformed."""


# --------------------------------------------------------------------------
# Small helpers


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str, error: type[NoteError]) -> bytes:
    """Standard base64, canonical only (one byte string, one encoding)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise error(f"{what} is not valid base64") from None
    if _b64encode(raw) != text:
        raise error(f"{what} is not canonical base64")
    return raw


def _chop(text: str, sep: str) -> tuple[str, str]:
    before, _, after = text.partition(sep)
    return before, after


def is_valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no ``+`` (and, being in a note, no control)."""
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() for c in name)
        and not _CONTROL.search(name)
    )


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """C2SP key ID: SHA-256(name || 0x0A || type || public key)[:4] as uint32.

    >>> pub = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")[1:]
    >>> f"{key_id('PeterNeumann', SIG_ED25519, pub):08x}"
    'c74f20a3'
    """
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not is_valid_key_name(name):
        raise KeyFormatError(f"invalid key name {name!r}")


def _public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _ed25519_verify(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------
# Verifiers


@dataclass(frozen=True)
class Ed25519Verifier:
    """A trusted Ed25519 note key (signature type 0x01)."""

    name: str
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    sig_type = SIG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != _ED25519_KEY_SIZE:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}")
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.public_key))

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+hex8+base64(type||key)``."""
        raw = bytes([self.sig_type]) + self.public_key
        return f"{self.name}+{self.key_id:08x}+{_b64encode(raw)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Ed25519 over the note text."""
        return len(signature) == _ED25519_SIG_SIZE and _ed25519_verify(self._key, signature, text)

    def timestamp(self, signature: bytes) -> int | None:
        return None


@dataclass(frozen=True)
class CosignatureV1Verifier(Ed25519Verifier):
    """A trusted tlog-cosignature/v1 witness key (signature type 0x04)."""

    sig_type = SIG_COSIGNATURE_V1

    def verify(self, text: bytes, signature: bytes) -> bool:
        """timestamp || Ed25519 over ``cosignature/v1\\ntime t\\n`` + checkpoint."""
        try:
            timestamp, raw = decode_cosignature(signature)
            message = cosignature_message(text.decode("utf-8"), timestamp)
        except NoteError:
            return False
        return _ed25519_verify(self._key, raw, message)

    def timestamp(self, signature: bytes) -> int | None:
        return decode_cosignature(signature)[0]


Verifier = Ed25519Verifier | CosignatureV1Verifier

_VERIFIER_TYPES: dict[int, type[Ed25519Verifier]] = {
    SIG_ED25519: Ed25519Verifier,
    SIG_COSIGNATURE_V1: CosignatureV1Verifier,
}


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse ``name+hex8+base64(type||pubkey)`` for type 0x01 or 0x04.

    >>> parse_verifier_key("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").name
    'PeterNeumann'
    """
    name, rest = _chop(vkey, "+")
    hash16, key64 = _chop(rest, "+")
    if not is_valid_key_name(name) or not _HEX8.fullmatch(hash16) or not key64:
        raise KeyFormatError("malformed verifier key: want name+hex8+base64")
    raw = _b64decode(key64, "verifier key material", KeyFormatError)
    if len(raw) < 1:
        raise KeyFormatError("verifier key has no key material")
    sig_type, public_key = raw[0], raw[1:]
    cls = _VERIFIER_TYPES.get(sig_type)
    if cls is None:
        raise KeyFormatError(f"unsupported signature type 0x{sig_type:02x}")
    verifier = cls(name, public_key)
    if verifier.key_id != int(hash16, 16):
        raise KeyFormatError(f"key ID {hash16} does not match name and key (want {verifier.key_id:08x})")
    return verifier


def cosignature_verifier(verifier: Verifier) -> CosignatureV1Verifier:
    """The cosignature/v1 verifier for the same name and Ed25519 key.

    Its key ID differs (type byte 0x04), which is what keeps a witness's plain
    note signatures and its cosignatures apart.
    """
    return CosignatureV1Verifier(verifier.name, verifier.public_key)


# --------------------------------------------------------------------------
# Signers


@dataclass(frozen=True)
class Ed25519Signer:
    """An Ed25519 note signing key; the private half never appears in a repr."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)
    public_key: bytes = field(init=False)

    sig_type = SIG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "public_key", _public_bytes(self.private_key))

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Ed25519Signer:
        if len(seed) != 32:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    def sign(self, text: bytes) -> bytes:
        return self.private_key.sign(text)

    def verifier(self) -> Verifier:
        return _VERIFIER_TYPES[self.sig_type](self.name, self.public_key)


@dataclass(frozen=True)
class CosignatureV1Signer(Ed25519Signer):
    """A witness key producing cosignature/v1 signatures at a given time.

    The timestamp is an argument (seconds since the epoch) so that signing
    stays a pure function; build one signer per cosigning.
    """

    timestamp: int = 0
    sig_type = SIG_COSIGNATURE_V1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_timestamp(self.timestamp)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, timestamp: int = 0) -> CosignatureV1Signer:  # type: ignore[override]
        if len(seed) != 32:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), timestamp)

    def sign(self, text: bytes) -> bytes:
        message = cosignature_message(text.decode("utf-8"), self.timestamp)
        return encode_cosignature(self.timestamp, self.private_key.sign(message))


Signer = Ed25519Signer | CosignatureV1Signer


def parse_signer_key(skey: str) -> Ed25519Signer:
    """Parse ``PRIVATE+KEY+name+hex8+base64(0x01||seed)`` (x/mod's format)."""
    priv, rest = _chop(skey, "+")
    key, rest = _chop(rest, "+")
    name, rest = _chop(rest, "+")
    hash16, key64 = _chop(rest, "+")
    if (priv, key) != ("PRIVATE", "KEY") or not is_valid_key_name(name):
        raise KeyFormatError("malformed signer key: want PRIVATE+KEY+name+hex8+base64")
    if not _HEX8.fullmatch(hash16) or not key64:
        raise KeyFormatError("malformed signer key: want PRIVATE+KEY+name+hex8+base64")
    raw = _b64decode(key64, "signer key material", KeyFormatError)
    if not raw or raw[0] != SIG_ED25519:
        raise KeyFormatError("unsupported signer key type")
    signer = Ed25519Signer.from_seed(name, raw[1:])
    # The ID is over the public key, so it can only be checked after deriving it.
    if signer.key_id != int(hash16, 16):
        raise KeyFormatError("signer key ID does not match its key")
    return signer


# --------------------------------------------------------------------------
# Notes


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes
    timestamp: int | None = None  # set for verified cosignature/v1 lines

    @property
    def line(self) -> str:
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {_b64encode(raw)}\n"


@dataclass(frozen=True)
class OpenedNote:
    """The text of a note with its verified and ignored (unknown-key) signatures."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _check_note_chars(text: str, error: type[NoteError]) -> None:
    if _CONTROL.search(text):
        raise error("note contains an ASCII control character other than newline")


def _check_text(text: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedNoteError("note text must be str")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    _check_note_chars(text, MalformedNoteError)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNoteError("note text is not valid Unicode") from None


def sign_note(
    text: str, signers: Sequence[Signer], existing: Sequence[NoteSignature] = ()
) -> str:
    """Sign ``text`` with each signer; ``existing`` lines come first.

    An existing signature by the same (name, key ID) as a new signer is
    replaced, so re-signing never duplicates a key.
    """
    message = _check_text(text)
    if not signers and not existing:
        raise MalformedNoteError("a note needs at least one signature")
    new = [NoteSignature(s.name, s.key_id, s.sign(message)) for s in signers]
    replaced = {(s.name, s.key_id) for s in new}
    kept = [s for s in existing if (s.name, s.key_id) not in replaced]
    for s in kept:
        _check_name(s.name)
    return text + "\n" + "".join(s.line for s in (*kept, *new))


def _decode_note(note: bytes | str) -> str:
    if isinstance(note, str):
        try:
            note.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedNoteError("note is not valid UTF-8") from None
        return note
    try:
        return bytes(note).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError("note is not valid UTF-8") from None


def _split_note(note: str) -> tuple[str, list[str]]:
    """Text (with its final newline) and signature lines (without newlines)."""
    _check_note_chars(note, MalformedNoteError)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNoteError("note signature block is empty or lacks a final newline")
    return text, block[:-1].split("\n")


def note_text(note: bytes | str) -> str:
    """The text of a well-formed signed note, *unverified*: to learn which key
    must have signed it (e.g. a checkpoint's size) before opening it."""
    text, lines = _split_note(_decode_note(note))
    for line in lines:
        _parse_signature_line(line)
    return text


def _parse_signature_line(line: str) -> tuple[str, int, bytes]:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError("signature line does not start with an em dash and a space")
    name, b64 = _chop(line[len(_SIG_PREFIX) :], " ")
    if not is_valid_key_name(name) or not b64:
        raise MalformedNoteError("signature line has an invalid key name or no signature")
    raw = _b64decode(b64, "signature", MalformedNoteError)
    if len(raw) < 5:
        raise MalformedNoteError("signature is shorter than a key ID plus one byte")
    return name, int.from_bytes(raw[:4], "big"), raw[4:]


def signature_line(line: str) -> tuple[str, int, bytes]:
    """(key name, key hash, signature bytes) of one note signature line ("— name base64")."""
    return _parse_signature_line(line.strip())


def _index_verifiers(verifiers: Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    index: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        k = (v.name, v.key_id)
        if k in index and index[k] != v:
            # Only a tampered trust list can do this; refuse rather than guess.
            raise NoteError(f"ambiguous verifiers for key {v.name}+{v.key_id:08x}")
        index[k] = v
    return index


def open_note(
    note: bytes | str,
    verifiers: Iterable[Verifier],
    *,
    required: Iterable[Verifier] = (),
    max_signatures: int = MAX_SIGNATURES,
) -> OpenedNote:
    """Parse a signed note and verify its signatures (rules in the module doc)."""
    text, lines = _split_note(_decode_note(note))
    if len(lines) > max_signatures:
        raise MalformedNoteError(f"note has {len(lines)} signatures, more than {max_signatures}")
    required = list(required)
    known = _index_verifiers([*verifiers, *required])
    message = text.encode("utf-8")
    verified: dict[tuple[str, int], NoteSignature] = {}
    unverified: dict[str, NoteSignature] = {}
    for line in lines:
        name, kid, sig = _parse_signature_line(line)
        v = known.get((name, kid))
        if v is None:
            unverified.setdefault(line, NoteSignature(name, kid, sig))
            continue
        if not v.verify(message, sig):
            raise InvalidSignatureError(name, kid)
        verified.setdefault((name, kid), NoteSignature(name, kid, sig, v.timestamp(sig)))
    opened = OpenedNote(text, tuple(verified.values()), tuple(unverified.values()))
    if not verified:
        raise UnverifiedNoteError(opened)
    missing = [f"{r.name}+{r.key_id:08x}" for r in required if (r.name, r.key_id) not in verified]
    if missing:
        raise MissingSignatureError(f"note lacks required signatures from {', '.join(missing)}")
    return opened


# --------------------------------------------------------------------------
# Checkpoints


class Checkpoint(msgspec.Struct, frozen=True):
    """A tlog checkpoint body: origin, tree size and RFC 9162 root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)


def format_checkpoint(
    origin: str, size: int, root: bytes, extensions: Sequence[str] = ()
) -> str:
    """The checkpoint note text ``origin\\nsize\\nbase64(root)\\n``.

    >>> format_checkpoint("example.com/behind-the-sofa", 20852163,
    ...     base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
    'example.com/behind-the-sofa\\n20852163\\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\\n'
    """
    if not isinstance(origin, str) or not origin or "\n" in origin or _CONTROL.search(origin):
        raise CheckpointError("origin must be a non-empty line without control characters")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_TREE_SIZE:
        raise CheckpointError(f"tree size must be an integer in [0, 2^64), got {size!r}")
    if len(root) != 32:
        raise CheckpointError(f"root hash must be 32 bytes, got {len(root)}")
    for ext in extensions:
        if not ext or "\n" in ext or _CONTROL.search(ext):
            raise CheckpointError("extension lines must be non-empty single lines")
    return "".join(f"{line}\n" for line in (origin, str(size), _b64encode(bytes(root)), *extensions))


def parse_checkpoint(text: str, *, allow_extensions: bool = False) -> Checkpoint:
    """Strictly parse a checkpoint note text (the note body, not the signatures).

    >>> parse_checkpoint("go.sum database tree\\n6476701\\n"
    ...     "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\\n").size
    6476701
    """
    if not isinstance(text, str) or not text.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    _check_note_chars(text, CheckpointError)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin is empty")
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError("tree size must be decimal without sign or leading zeros")
    size = int(size_text)
    if size > _MAX_TREE_SIZE:
        raise CheckpointError("tree size does not fit in 64 bits")
    root = _b64decode(root_text, "root hash", CheckpointError)
    if len(root) != 32:
        raise CheckpointError(f"root hash must be 32 bytes, got {len(root)}")
    if extensions and not allow_extensions:
        raise CheckpointError("checkpoint has extension lines, which this ledger never writes")
    if any(not ext for ext in extensions):
        raise CheckpointError("checkpoint extension lines must be non-empty")
    return Checkpoint(origin, size, root, tuple(extensions))


def open_checkpoint(
    note: bytes | str,
    log: Verifier,
    cosigners: Iterable[Verifier] = (),
    *,
    allow_extensions: bool = False,
) -> tuple[Checkpoint, OpenedNote]:
    """Open a checkpoint note that the log key must have signed.

    The log key's name must equal the origin (DESIGN: key name = origin;
    tlog-checkpoint says SHOULD), so a checkpoint cannot be replayed under
    another log's identity.  Cosignatures by ``cosigners`` are verified and
    returned in ``OpenedNote.verified``; a quorum policy is the caller's.
    """
    opened = open_note(note, cosigners, required=[log])
    checkpoint = parse_checkpoint(opened.text, allow_extensions=allow_extensions)
    if checkpoint.origin != log.name:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the log key name {log.name!r}"
        )
    return checkpoint, opened


# --------------------------------------------------------------------------
# Cosignature v1


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise NoteError("cosignature timestamp must be an integer")
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise NoteError("cosignature timestamp must be in [0, 2^63 - 1]")


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The exact bytes an Ed25519 cosignature/v1 signs.

    ``checkpoint_text`` is the whole checkpoint note text (extension lines
    included, signatures excluded); it must parse as a checkpoint.
    """
    _check_timestamp(timestamp)
    parse_checkpoint(checkpoint_text, allow_extensions=True)
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def encode_cosignature(timestamp: int, signature: bytes) -> bytes:
    """timestamped_signature: 8-byte big-endian timestamp || 64-byte signature."""
    _check_timestamp(timestamp)
    if len(signature) != _ED25519_SIG_SIZE:
        raise NoteError(f"Ed25519 signature must be 64 bytes, got {len(signature)}")
    return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature


def decode_cosignature(raw: bytes) -> tuple[int, bytes]:
    """Split a cosignature/v1 signature (after the key ID) into (timestamp, sig)."""
    if len(raw) != _TIMESTAMP_SIZE + _ED25519_SIG_SIZE:
        raise NoteError(f"cosignature/v1 signature must be 72 bytes, got {len(raw)}")
    timestamp = int.from_bytes(raw[:_TIMESTAMP_SIZE], "big")
    _check_timestamp(timestamp)
    return timestamp, raw[_TIMESTAMP_SIZE:]
