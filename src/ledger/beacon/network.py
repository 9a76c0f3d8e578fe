"""A drand beacon network: its public parameters, its clock, its chain info JSON.

Pure: no I/O, no clock, no curve arithmetic (``verify.py`` does that), so
that `drledger beacon round` and the draw commands can use the schedule
without loading the BLS12-381 library.

Schedule. Round ``r >= 1`` is published at ``genesis_time + (r - 1) * period``
(unix seconds); round 1 at the genesis time. ``round_at(t)`` is the *first*
round published at or after ``t``: the round a draw names in advance.

Chain hash (drand ``chain.Info.Hash``): SHA-256 of ``period`` as a 4-byte
big-endian integer, ``genesis_time`` as an 8-byte big-endian signed integer,
the public key bytes, the group hash bytes, and the beacon ID in UTF-8 unless
it is ``""`` or ``"default"``. The scheme is *not* part of it.

>>> QUICKNET.published_at(1) == QUICKNET.genesis_time
True
>>> QUICKNET.round_at(QUICKNET.genesis_time + 1)
2
>>> QUICKNET.chain_hash.hex()[:8]
'52db9ba7'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.beacon.errors import BeaconInvalid

# The only scheme ``verify_round`` accepts (drand's name for it).
SCHEME_RFC9380 = "bls-unchained-g1-rfc9380"
# drand leaves these beacon IDs out of the chain hash.
_DEFAULT_BEACON_IDS = ("", "default")
# The beacon ID of every ``LocalBeaconNetwork``: never a public beacon.
LOCAL_BEACON_ID = "local-test-not-public"

MAX_ROUND = 2**64 - 1  # rounds are uint64 in drand and in the signed message
_MAX_PERIOD = 2**32 - 1  # hashed as uint32
_INT64 = range(-(2**63), 2**63)
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def check_round(round: int) -> int:
    """``round`` if it is a valid round number (1 .. 2**64 - 1), else ``BeaconInvalid``.

    >>> check_round(1)
    1
    >>> check_round(0)
    Traceback (most recent call last):
    ...
    ledger.beacon.errors.BeaconInvalid: round_not_positive: round 0: rounds start at 1
    """
    if not isinstance(round, int) or isinstance(round, bool):
        raise TypeError(f"a round is an int, not {type(round).__name__}")
    if round < 1:
        raise BeaconInvalid("round_not_positive", f"round {round}: rounds start at 1")
    if round > MAX_ROUND:
        raise BeaconInvalid("round_too_large", f"round {round} does not fit in 8 bytes (at most 2**64 - 1)")
    return round


def chain_hash(period: int, genesis_time: int, public_key: bytes, group_hash: bytes, beacon_id: str) -> bytes:
    """drand's chain hash of these parameters (see the module text)."""
    h = hashlib.sha256()
    h.update(period.to_bytes(4, "big"))
    h.update(genesis_time.to_bytes(8, "big", signed=True))
    h.update(public_key)
    h.update(group_hash)
    if beacon_id not in _DEFAULT_BEACON_IDS:
        h.update(beacon_id.encode("utf-8"))
    return h.digest()


def _bad(message: str) -> BeaconInvalid:
    return BeaconInvalid("bad_chain_info", message)


@dataclass(frozen=True)
class BeaconNetwork:
    """One drand network (a "chain"), as its chain info publishes it.

    Constructing one checks the field types and that ``chain_hash`` is the
    hash of the other fields (``BeaconInvalid`` ``bad_chain_info`` or
    ``chain_hash_mismatch``). ``public_key`` is not decoded here: for the
    supported scheme it is a 96-byte compressed G2 point, and ``verify_round``
    refuses it (``bad_public_key``) if it is not one.
    """

    beacon_id: str
    scheme_id: str
    public_key: bytes
    period: int  # seconds between rounds
    genesis_time: int  # unix seconds of round 1
    group_hash: bytes  # 32 bytes (drand "groupHash", the genesis seed)
    chain_hash: bytes  # 32 bytes, drand "hash"

    def __post_init__(self) -> None:
        for name in ("beacon_id", "scheme_id"):
            if not isinstance(getattr(self, name), str):
                raise _bad(f"{name} must be text")
        for name in ("public_key", "group_hash", "chain_hash"):
            if not isinstance(getattr(self, name), bytes):
                raise _bad(f"{name} must be bytes")
        for name in ("period", "genesis_time"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise _bad(f"{name} must be an integer")
        if not 1 <= self.period <= _MAX_PERIOD:
            raise _bad(f"period {self.period}: must be 1 .. 2**32 - 1 seconds")
        if self.genesis_time not in _INT64:
            raise _bad(f"genesis_time {self.genesis_time}: must fit in a signed 8-byte integer")
        if not self.public_key:
            raise _bad("public_key is empty")
        for name in ("group_hash", "chain_hash"):
            if len(getattr(self, name)) != 32:
                raise _bad(f"{name} must be 32 bytes, not {len(getattr(self, name))}")
        expected = chain_hash(self.period, self.genesis_time, self.public_key, self.group_hash, self.beacon_id)
        if expected != self.chain_hash:
            raise BeaconInvalid(
                "chain_hash_mismatch",
                f"chain hash {self.chain_hash.hex()} is not the hash of the network's fields ({expected.hex()})",
            )

    @property
    def is_local_test(self) -> bool:
        """True for a ``LocalBeaconNetwork``'s network: never accept it for a real draw."""
        return self.beacon_id == LOCAL_BEACON_ID

    def published_at(self, round: int) -> int:
        """Unix seconds at which ``round`` is published: ``genesis_time + (round - 1) * period``.

        >>> QUICKNET.published_at(1000) - QUICKNET.genesis_time
        2997
        """
        return self.genesis_time + (check_round(round) - 1) * self.period

    def round_at(self, t: int) -> int:
        """The first round published at or after unix second ``t`` (1 if ``t`` is before genesis).

        Publication times are whole seconds, so a fractional time rounds up
        to the next whole second first (``math.ceil``) with the same result.

        >>> g = QUICKNET.genesis_time
        >>> [QUICKNET.round_at(t) for t in (g - 10, g, g + 1, g + 3, g + 4)]
        [1, 1, 2, 2, 3]
        """
        if not isinstance(t, int) or isinstance(t, bool):
            raise TypeError(f"a time is an int (unix seconds), not {type(t).__name__}")
        if t <= self.genesis_time:
            return 1
        return check_round(-(-(t - self.genesis_time) // self.period) + 1)

    @classmethod
    def from_chain_info(cls, info: Mapping[str, Any]) -> BeaconNetwork:
        """Read drand's chain info JSON (already parsed), as served at ``/{chain hash}/info``.

        Fields: ``public_key``, ``period``, ``genesis_time``, ``hash``,
        ``groupHash`` (lowercase or uppercase hex), ``schemeID``,
        and the beacon ID in ``metadata.beaconID`` (drand's shape) or a
        top-level ``beaconID``; absent, it is drand's ``"default"``. Other
        fields are ignored. The stated ``hash`` must be the hash of the rest.
        """
        if not isinstance(info, Mapping):
            raise _bad("chain info must be a JSON object")
        missing = [k for k in ("public_key", "period", "genesis_time", "hash", "groupHash", "schemeID") if k not in info]
        if missing:
            raise _bad(f"chain info lacks {', '.join(missing)}")
        metadata = info.get("metadata", {})
        if not isinstance(metadata, Mapping):
            raise _bad("metadata must be a JSON object")
        ids = {v for v in (metadata.get("beaconID"), info.get("beaconID")) if v is not None}
        if len(ids) > 1:
            raise _bad(f"two different beacon IDs: {sorted(map(str, ids))}")
        beacon_id = ids.pop() if ids else "default"
        if not isinstance(beacon_id, str):
            raise _bad("beaconID must be text")
        return cls(
            beacon_id=beacon_id,
            scheme_id=info["schemeID"],
            public_key=_hex_field(info, "public_key"),
            period=info["period"],
            genesis_time=info["genesis_time"],
            group_hash=_hex_field(info, "groupHash"),
            chain_hash=_hex_field(info, "hash"),
        )

    def to_chain_info(self) -> dict[str, Any]:
        """drand's chain info JSON shape (``json.dumps`` it); ``from_chain_info`` reads it back.

        >>> BeaconNetwork.from_chain_info(QUICKNET.to_chain_info()) == QUICKNET
        True
        """
        return {
            "public_key": self.public_key.hex(),
            "period": self.period,
            "genesis_time": self.genesis_time,
            "hash": self.chain_hash.hex(),
            "groupHash": self.group_hash.hex(),
            "schemeID": self.scheme_id,
            "metadata": {"beaconID": self.beacon_id},
        }


def _hex_field(info: Mapping[str, Any], name: str) -> bytes:
    value = info[name]
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise _bad(f"{name} must be a string of hex digits (an even number of them)")
    return bytes.fromhex(value)


# League of Entropy "quicknet", as published by the network at
# https://api.drand.sh/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971/info
# (copied from tests/vectors/drand/quicknet.json, which the tests hold this to).
QUICKNET = BeaconNetwork(
    beacon_id="quicknet",
    scheme_id=SCHEME_RFC9380,
    public_key=bytes.fromhex(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    period=3,
    genesis_time=1692803367,  # 2023-08-23T15:09:27Z
    group_hash=bytes.fromhex("f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e"),
    chain_hash=bytes.fromhex("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"),
)
