"""The one exception of the beacon package, with stable codes."""

from __future__ import annotations

# Every code `BeaconInvalid` can carry. Stable: callers (the draw commands,
# a stored refusal) may match on them; a new failure gets a new code.
CODES: dict[str, str] = {
    "round_not_positive": "the round is 0 or negative (rounds start at 1)",
    "round_too_large": "the round does not fit in 8 bytes (drand's uint64)",
    "unknown_scheme": "the network's scheme is not bls-unchained-g1-rfc9380",
    "bad_public_key": "the network's public key is not a valid compressed G2 point",
    "bad_signature_encoding": "not 48 bytes of hex / not the canonical compressed encoding of a G1 subgroup point",
    "bad_signature": "a well-formed G1 point that is not the network's signature of this round",
    "bad_chain_info": "chain info JSON with a missing or malformed field",
    "chain_hash_mismatch": "chain info whose stated hash is not the hash of its fields",
}


class BeaconInvalid(ValueError):
    """A beacon round, signature or network refused; ``code`` is one of ``CODES``.

    >>> error = BeaconInvalid("round_not_positive", "round 0: rounds start at 1")
    >>> (error.code, str(error))
    ('round_not_positive', 'round_not_positive: round 0: rounds start at 1')
    """

    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown BeaconInvalid code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
