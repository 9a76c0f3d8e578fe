"""Actor-signed commands: who did it, provably, without trusting the operator.

Every state-changing command is signed by the acting actor's own key. The
signed bytes are the canonical JSON of

    {"actor": ..., "alg": "ed25519", "body": {...}, "issued_at": RFC 3339 UTC,
     "name": ..., "nonce": 32 hex}

prefixed by COMMAND_TAG, and they are stored verbatim in the command event
that opens the transaction the command caused, so a verifier checks the exact
bytes, never a re-encoding. `alg` names the signature scheme, so that SM2/SM3
can be added beside Ed25519 without a new envelope.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import msgspec

from ledger.integrity.canonical import canonical_bytes, rfc3339, utc_now
from ledger.integrity.keys import Signer, key_id, verify_signature

COMMAND_TAG = b"drledger/command/v2\n"
ALGORITHMS = ("ed25519",)
# A command is accepted from MAX_AGE before to MAX_SKEW after the verifier's clock.
MAX_AGE = timedelta(minutes=10)
MAX_SKEW = timedelta(minutes=1)


class CommandError(ValueError):
    """A signed command is malformed, mis-signed, stale or not what it claims.

    `code`: bad_signature (does not verify or cannot be read), invalid (not
    the command it claims to be) or stale_command (outside the time window).
    """

    def __init__(self, message: str, code: str = "bad_signature") -> None:
        super().__init__(message)
        self.code = code


class SignedCommand(msgspec.Struct, frozen=True, kw_only=True):
    command: bytes  # canonical JSON, exactly as signed
    signature: bytes  # Ed25519 over COMMAND_TAG || command
    key_id: str  # which of the actor's keys signed


class CommandContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    actor: str
    alg: str
    name: str
    body: dict[str, Any]
    nonce: str
    issued_at: datetime


# Injected nonces (the demo's, derived from its seed), or None: random ones.
_NONCES: ContextVar[Callable[[], str] | None] = ContextVar("drledger_nonces", default=None)


def _new_nonce() -> str:
    nonces = _NONCES.get()
    return nonces() if nonces is not None else secrets.token_hex(16)


@contextmanager
def injected_nonces(nonces: Callable[[], str]) -> Iterator[None]:
    """Within the block, commands signed without a nonce take `nonces()` (32 lowercase hex digits,
    never repeated: a reused nonce is refused)."""
    token = _NONCES.set(nonces)
    try:
        yield
    finally:
        _NONCES.reset(token)


def sign_command(
    signer: Signer,
    actor: str,
    name: str,
    body: dict[str, Any],
    *,
    nonce: str | None = None,
    issued_at: datetime | None = None,
) -> SignedCommand:
    content = {
        "actor": actor,
        "alg": "ed25519",
        "body": body,
        "issued_at": rfc3339(issued_at or utc_now()),
        "name": name,
        "nonce": nonce or _new_nonce(),
    }
    command = canonical_bytes(content)
    return SignedCommand(command=command, signature=signer.sign(COMMAND_TAG + command), key_id=signer.key_id)


def open_command(signed: SignedCommand, public_key: bytes) -> CommandContent:
    """Check the signature and the encoding; return what was signed."""
    if key_id(public_key) != signed.key_id:
        raise CommandError(f"command names key {signed.key_id}, not the actor's key {key_id(public_key)}")
    if not verify_signature(public_key, signed.signature, COMMAND_TAG + signed.command):
        raise CommandError("command signature does not verify with the actor's key")
    try:
        content = msgspec.json.decode(signed.command, type=CommandContent)
    except msgspec.DecodeError as error:
        raise CommandError(f"signed command is not a valid command: {error}") from None
    if canonical_bytes(msgspec.json.decode(signed.command)) != signed.command:
        raise CommandError("signed command is not in canonical form")
    if content.alg not in ALGORITHMS:
        raise CommandError(f"unsupported signature algorithm {content.alg!r}: use one of {', '.join(ALGORITHMS)}")
    if len(content.nonce) != 32 or not all(c in "0123456789abcdef" for c in content.nonce):
        raise CommandError("command nonce must be 32 lowercase hex digits")
    return content


def check_command(
    signed: SignedCommand,
    public_key: bytes,
    *,
    actor: str,
    name: str,
    body: dict[str, Any] | None,
    now: datetime | None = None,
    max_age: timedelta = MAX_AGE,
) -> CommandContent:
    """Open `signed` and check it is `actor` asking for exactly `name(body)`, recently
    (`body=None`: the signed body is itself the request)."""
    content = open_command(signed, public_key)
    if content.actor != actor:
        raise CommandError(f"command was signed by actor {content.actor!r}, not {actor!r}", "invalid")
    if content.name != name:
        raise CommandError(f"command is {content.name!r}, not {name!r}", "invalid")
    if body is not None and canonical_bytes(content.body) != canonical_bytes(body):
        raise CommandError(f"signed {name} body differs from the request", "invalid")
    moment = now or utc_now()
    if not (moment - max_age <= content.issued_at <= moment + MAX_SKEW):
        raise CommandError(f"command issued at {rfc3339(content.issued_at)} is outside the accepted window",
                           "stale_command")
    return content
