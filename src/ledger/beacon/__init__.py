"""Public randomness beacons (drand quicknet) for draw v2: pure, no I/O.

    from ledger.beacon import QUICKNET, BeaconInvalid, verify_round
    randomness = verify_round(QUICKNET, round, signature)   # 32 bytes, or BeaconInvalid(code, message)
    QUICKNET.round_at(unix_seconds)  # the first round published at or after that time
    QUICKNET.published_at(round)     # unix seconds

``LocalBeaconNetwork`` is a local TEST network, not a public beacon.
Spec and auditor's steps: docs/beacon.md.
"""

from ledger.beacon.errors import CODES, BeaconInvalid
from ledger.beacon.local import LocalBeaconNetwork
from ledger.beacon.network import LOCAL_BEACON_ID, QUICKNET, SCHEME_RFC9380, BeaconNetwork
from ledger.beacon.verify import beacon_message, parse_signature_hex, verify_round

__all__ = [
    "CODES",
    "LOCAL_BEACON_ID",
    "QUICKNET",
    "SCHEME_RFC9380",
    "BeaconInvalid",
    "BeaconNetwork",
    "LocalBeaconNetwork",
    "beacon_message",
    "parse_signature_hex",
    "verify_round",
]
