"""Verify one round of a drand beacon and derive its randomness.

Scheme ``bls-unchained-g1-rfc9380`` (drand "quicknet"), the only one
accepted; any other is refused (``unknown_scheme``), including drand's
chained schemes (they sign the previous signature too) and
``bls-unchained-on-g1`` (fastnet, which hashed to G1 with a G2 DST):

* message ``m = SHA-256(round as 8-byte big-endian)``;
* ``H(m)`` = RFC 9380 hash to G1, suite ``BLS12381G1_XMD:SHA-256_SSWU_RO_``,
  DST ``BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_``;
* the signature is a 48-byte compressed G1 point, the public key a 96-byte
  compressed G2 point (ZCash encoding, as drand and the IETF BLS draft);
* valid iff ``e(signature, g2) == e(H(m), public key)``, ``g2`` the G2
  generator;
* randomness = ``SHA-256(signature bytes)``.

Encodings are strict: a signature must be the *canonical* compressed encoding
of a point of the prime-order subgroup, other than the point at infinity.
The randomness hashes the signature's bytes, so one valid signature must have
exactly one accepted encoding.

BLS12-381 arithmetic: ``py_arkworks_bls12381`` (arkworks, in Rust).

>>> from ledger.beacon.local import LocalBeaconNetwork
>>> local = LocalBeaconNetwork("doctest")
>>> verify_round(local.network, 7, local.signature_for(7)) == local.randomness_for(7)
True
>>> verify_round(local.network, 8, local.signature_for(7))
Traceback (most recent call last):
...
ledger.beacon.errors.BeaconInvalid: bad_signature: the signature does not verify for round 8 under local-test-not-public's public key
"""

from __future__ import annotations

import functools
import hashlib
import re

from py_arkworks_bls12381 import GT, G1Point, G2Point

from ledger.beacon.errors import BeaconInvalid
from ledger.beacon.network import SCHEME_RFC9380, BeaconNetwork, check_round

__all__ = ["BeaconInvalid", "DST_G1", "beacon_message", "parse_signature_hex", "verify_round"]

DST_G1 = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
SIGNATURE_BYTES = 48
PUBLIC_KEY_BYTES = 96

# The standard G2 generator, compressed (zkcrypto/IETF encoding).
G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049"
    "334cf11213945d57e5ac7d055d042b7e024aa2b2f08f0a91260805272dc51051"
    "c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
)
_MINUS_G2 = -G2Point.from_compressed_bytes(G2_GENERATOR)
_HEX = re.compile(r"[0-9a-fA-F]*")


def beacon_message(round: int) -> bytes:
    """The 32 bytes the network signs for ``round``: SHA-256 of its 8-byte big-endian form.

    >>> beacon_message(1).hex()
    'cd2662154e6d76b2b2b92e70c0cac3ccf534f9b74eb5b89819ec509083d00a50'
    """
    return hashlib.sha256(check_round(round).to_bytes(8, "big")).digest()


def parse_signature_hex(text: str) -> bytes:
    """The bytes of a signature given as hex (either case, nothing else), or ``bad_signature_encoding``.

    >>> len(parse_signature_hex("ab" * 48))
    48
    >>> parse_signature_hex("0xab")
    Traceback (most recent call last):
    ...
    ledger.beacon.errors.BeaconInvalid: bad_signature_encoding: the signature is not hex: '0xab'
    """
    if not _HEX.fullmatch(text):
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise BeaconInvalid("bad_signature_encoding", f"the signature is not hex: {shown!r}")
    if len(text) % 2:
        raise BeaconInvalid("bad_signature_encoding", f"the signature has an odd number of hex digits ({len(text)})")
    return bytes.fromhex(text)


@functools.lru_cache(maxsize=16)
def _public_key(public_key: bytes) -> G2Point:
    """The network's key as a G2 point (decoded once per key: the subgroup check is not free)."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise BeaconInvalid("bad_public_key",
                            f"the public key is {len(public_key)} bytes, not a {PUBLIC_KEY_BYTES}-byte compressed G2 point")
    try:
        point = G2Point.from_compressed_bytes(public_key)
    except ValueError:
        raise BeaconInvalid("bad_public_key", "the public key is not a compressed G2 point of the prime-order subgroup") from None
    if point.to_compressed_bytes() != public_key:
        raise BeaconInvalid("bad_public_key", "the public key is not the canonical encoding of its point")
    if point == G2Point.identity():
        raise BeaconInvalid("bad_public_key", "the public key is the point at infinity (every signature would verify)")
    return point


def _signature(signature: bytes) -> G1Point:
    if not isinstance(signature, bytes):
        raise TypeError(f"a signature is bytes, not {type(signature).__name__}")
    if len(signature) != SIGNATURE_BYTES:
        raise BeaconInvalid("bad_signature_encoding",
                            f"the signature is {len(signature)} bytes, not a {SIGNATURE_BYTES}-byte compressed G1 point")
    try:
        point = G1Point.from_compressed_bytes(signature)
    except ValueError:
        raise BeaconInvalid("bad_signature_encoding",
                            "the signature is not a compressed G1 point of the prime-order subgroup") from None
    if point.to_compressed_bytes() != signature:
        raise BeaconInvalid("bad_signature_encoding", "the signature is not the canonical encoding of its point")
    if point == G1Point.identity():
        raise BeaconInvalid("bad_signature", "the signature is the point at infinity")
    return point


def verify_round(network: BeaconNetwork, round: int, signature: bytes) -> bytes:
    """The 32-byte randomness of ``round``, ``SHA-256(signature)``, if ``signature`` is the network's.

    Raises ``BeaconInvalid`` with code, checked in this order:
    ``round_not_positive`` / ``round_too_large``, ``unknown_scheme``,
    ``bad_public_key`` (the network's key), ``bad_signature_encoding``,
    ``bad_signature``. Pure: no clock (a round "from the future" is simply
    one nobody can sign yet) and no network access.
    """
    check_round(round)
    if network.scheme_id != SCHEME_RFC9380:
        raise BeaconInvalid(
            "unknown_scheme",
            f"network {network.beacon_id!r} uses scheme {network.scheme_id!r}; only {SCHEME_RFC9380!r} is supported",
        )
    key = _public_key(network.public_key)
    point = _signature(signature)
    hashed = G1Point.hash_to_curve(beacon_message(round), DST_G1)
    # e(sig, g2) == e(H(m), pk)  <=>  e(sig, -g2) * e(H(m), pk) == 1
    if not GT.pairing_check([point, hashed], [_MINUS_G2, key]):
        raise BeaconInvalid(
            "bad_signature",
            f"the signature does not verify for round {round} under {network.beacon_id}'s public key",
        )
    return hashlib.sha256(signature).digest()
