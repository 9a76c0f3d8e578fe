"""A LOCAL TEST beacon: NOT a public beacon. For tests and the demo only.

Whoever knows the seed can sign any round, so its "randomness" is chosen by
whoever runs it. It exists so that the beacon code, the CLI and the draw
commands can be exercised offline with the same scheme as quicknet
(``bls-unchained-g1-rfc9380``): ``verify_round`` accepts its signatures
under *its own* network and refuses them under any other.

Its beacon ID is always ``local-test-not-public`` (``network.is_local_test``
is True); a real draw must refuse such a network.

Derivation (deterministic, so tests and the demo repeat exactly): the
secret scalar is ``SHA-512("drledger/beacon/local-test-not-public/v1\\n" ‖
UTF-8(seed))`` read big-endian, reduced modulo the BLS12-381 group order;
public key = secret · g2; signature of round r = secret · H(SHA-256(r as 8
bytes big-endian)). Group hash = SHA-256 of the public key; the chain hash
follows drand's rule.

>>> local = LocalBeaconNetwork("demo")
>>> local.network.beacon_id, local.network.is_local_test
('local-test-not-public', True)
>>> len(local.signature_for(1)), len(local.network.public_key)
(48, 96)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from py_arkworks_bls12381 import G1Point, G2Point, Scalar

from ledger.beacon.network import LOCAL_BEACON_ID, SCHEME_RFC9380, BeaconNetwork, chain_hash, check_round
from ledger.beacon.verify import DST_G1, G2_GENERATOR, beacon_message

_DOMAIN = b"drledger/beacon/local-test-not-public/v1\n"
# 2023-11-14T22:13:20Z: an arbitrary fixed genesis, so chain info is reproducible.
LOCAL_GENESIS_TIME = 1_700_000_000
LOCAL_PERIOD = 3


@dataclass(frozen=True)
class LocalBeaconNetwork:
    """A local test network (NOT public) derived from ``seed``; signs any round."""

    seed: str
    genesis_time: int = LOCAL_GENESIS_TIME
    period: int = LOCAL_PERIOD
    _secret: Scalar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, str):
            raise TypeError("the seed is text")
        digest = hashlib.sha512(_DOMAIN + self.seed.encode("utf-8")).digest()
        secret = Scalar.from_be_bytes_mod_order(digest)
        if secret.is_zero():  # probability 2**-255
            raise ValueError("this seed gives the zero key; choose another")
        object.__setattr__(self, "_secret", secret)

    @cached_property
    def network(self) -> BeaconNetwork:
        """The network's public parameters, as a verifier (or `--network FILE`) takes them."""
        public_key = (G2Point.from_compressed_bytes(G2_GENERATOR) * self._secret).to_compressed_bytes()
        group_hash = hashlib.sha256(public_key).digest()
        return BeaconNetwork(
            beacon_id=LOCAL_BEACON_ID,
            scheme_id=SCHEME_RFC9380,
            public_key=public_key,
            period=self.period,
            genesis_time=self.genesis_time,
            group_hash=group_hash,
            chain_hash=chain_hash(self.period, self.genesis_time, public_key, group_hash, LOCAL_BEACON_ID),
        )

    def signature_for(self, round: int) -> bytes:
        """The 48-byte signature of ``round`` (any round, past or future: this is a test network)."""
        hashed = G1Point.hash_to_curve(beacon_message(check_round(round)), DST_G1)
        return (hashed * self._secret).to_compressed_bytes()

    def randomness_for(self, round: int) -> bytes:
        """SHA-256 of ``signature_for(round)``: what ``verify_round`` returns for it."""
        return hashlib.sha256(self.signature_for(round)).digest()
