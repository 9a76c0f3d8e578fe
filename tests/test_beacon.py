"""The public beacon (drand quicknet): the published round, every refusal, the
schedule, the local test network, and `drledger beacon` as a real process.

The source of truth is tests/vectors/drand/quicknet.json (the network's
published chain info and round 1000); nothing is mocked: the BLS12-381
library is the one the ledger uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_arkworks_bls12381 import G1Point, G2Point

from ledger.beacon import (
    CODES,
    LOCAL_BEACON_ID,
    QUICKNET,
    BeaconInvalid,
    BeaconNetwork,
    LocalBeaconNetwork,
    beacon_message,
    parse_signature_hex,
    verify_round,
)
from ledger.beacon.network import MAX_ROUND, chain_hash
from ledger.beacon.verify import DST_G1, G2_GENERATOR
from tests.conftest import VECTORS as VECTORS_DIR

VECTOR = json.loads((VECTORS_DIR / "drand" / "quicknet.json").read_text("utf-8"))
CHAIN = VECTOR["chain"]
ROUND = VECTOR["rounds"][0]
SIGNATURE = bytes.fromhex(ROUND["signature"])
# BLS12-381 base field modulus p (draft-irtf-cfrg-pairing-friendly-curves, §4.2.1).
P = int("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab", 16)


def refused(code: str, call, *args) -> BeaconInvalid:
    with pytest.raises(BeaconInvalid) as caught:
        call(*args)
    assert caught.value.code == code, caught.value
    assert caught.value.code in CODES
    return caught.value


# --- the published quicknet round -------------------------------------------------------

def test_the_published_round_verifies_and_gives_the_recorded_randomness() -> None:
    assert verify_round(QUICKNET, ROUND["round"], SIGNATURE).hex() == ROUND["randomness"]


def test_quicknet_constant_is_the_published_chain_info() -> None:
    assert BeaconNetwork.from_chain_info(CHAIN) == QUICKNET
    info = QUICKNET.to_chain_info()
    assert info["metadata"] == {"beaconID": CHAIN["beaconID"]}
    assert {k: v for k, v in info.items() if k != "metadata"} == {
        k: v for k, v in CHAIN.items() if k != "beaconID"}
    assert not QUICKNET.is_local_test


# Each invalid variant of the vector file and the code it must be refused with.
# A new variant in the file must be added here (the test below fails until it is).
INVALID_CODES = {
    "round 1000's signature presented for round 1001": "bad_signature",
    "last bit flipped": "bad_signature_encoding",  # the x coordinate is then off the curve
}


@pytest.mark.parametrize("variant", VECTOR["invalid"], ids=lambda v: v["why"])
def test_every_invalid_variant_of_the_vector_is_refused(variant: dict) -> None:
    assert variant["why"] in INVALID_CODES, f"decide the code for the new variant {variant['why']!r}"
    refused(INVALID_CODES[variant["why"]], verify_round, QUICKNET, variant["round"],
            bytes.fromhex(variant["signature"]))


def test_the_message_and_the_curve_constants() -> None:
    assert beacon_message(1000) == hashlib.sha256((1000).to_bytes(8, "big")).digest()
    assert DST_G1 == b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
    assert DST_G1.decode() in VECTOR["scheme_notes"]
    assert G2Point().to_compressed_bytes() == G2_GENERATOR  # the library's generator is the standard one


@pytest.mark.parametrize(("msg", "xy"), [
    (b"", "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1"
          "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265"),
    (b"abc", "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903"
             "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d"),
])
def test_hash_to_g1_is_rfc_9380(msg: bytes, xy: str) -> None:
    """RFC 9380 Appendix J.9.1 (suite BLS12381G1_XMD:SHA-256_SSWU_RO_), its own DST."""
    point = G1Point.hash_to_curve(msg, b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_")
    assert point.to_xy_bytes_be().hex() == xy


# --- signatures refused -------------------------------------------------------------------

@pytest.mark.parametrize("position", range(48))
def test_a_flipped_byte_anywhere_is_refused(position: int) -> None:
    for mask in (0x01, 0x80):
        bad = bytearray(SIGNATURE)
        bad[position] ^= mask
        with pytest.raises(BeaconInvalid) as caught:
            verify_round(QUICKNET, ROUND["round"], bytes(bad))
        assert caught.value.code in ("bad_signature", "bad_signature_encoding")


def test_the_negated_signature_is_a_valid_point_but_not_the_signature() -> None:
    negated = bytearray(SIGNATURE)
    negated[0] ^= 0x20  # the sign flag of the compressed encoding: -signature
    G1Point.from_compressed_bytes(bytes(negated))  # a point of the group
    refused("bad_signature", verify_round, QUICKNET, ROUND["round"], bytes(negated))


@pytest.mark.parametrize("length", [0, 1, 47, 49, 96])
def test_wrong_lengths_are_refused(length: int) -> None:
    signature = (SIGNATURE * 3)[:length]
    refused("bad_signature_encoding", verify_round, QUICKNET, ROUND["round"], signature)


def test_the_point_at_infinity_is_refused_in_every_encoding() -> None:
    refused("bad_signature", verify_round, QUICKNET, 1, b"\xc0" + bytes(47))  # canonical
    refused("bad_signature_encoding", verify_round, QUICKNET, 1, b"\xc0" + bytes(46) + b"\x01")
    refused("bad_signature_encoding", verify_round, QUICKNET, 1, b"\xe0" + bytes(47))


def test_a_non_canonical_encoding_of_a_valid_signature_is_refused() -> None:
    """x + p for x: the same point in other bytes, so other randomness; must be refused."""
    local = LocalBeaconNetwork("non-canonical")
    for round in range(1, 200):
        signature = local.signature_for(round)
        x = int.from_bytes(signature, "big") & ((1 << 381) - 1)
        if x + P < 1 << 381:
            break
    else:
        pytest.fail("no signature with a small enough x in 200 rounds")
    xy = G1Point.from_compressed_bytes(signature).to_xy_bytes_be()
    x_, y_ = int.from_bytes(xy[:48], "big"), int.from_bytes(xy[48:], "big")
    assert x_ == x and (y_ * y_ - x_ ** 3 - 4) % P == 0  # P really is the field: y^2 = x^3 + 4
    flags = signature[0] & 0xE0
    alias = (x + P).to_bytes(48, "big")
    alias = bytes([alias[0] | flags]) + alias[1:]
    assert verify_round(local.network, round, signature)
    refused("bad_signature_encoding", verify_round, local.network, round, alias)


@pytest.mark.parametrize("text", ["zz", "0x" + ROUND["signature"], ROUND["signature"][:-1],
                                  ROUND["signature"] + " ", "b4 46", "", "é"])
def test_text_that_is_not_plain_hex_is_refused(text: str) -> None:
    if text == "":
        refused("bad_signature_encoding", verify_round, QUICKNET, 1, parse_signature_hex(text))
    else:
        refused("bad_signature_encoding", parse_signature_hex, text)


def test_upper_case_hex_is_the_same_signature() -> None:
    assert parse_signature_hex(ROUND["signature"].upper()) == SIGNATURE


@pytest.mark.parametrize(("round", "code"), [(0, "round_not_positive"), (-1, "round_not_positive"),
                                            (2**64, "round_too_large")])
def test_rounds_out_of_range_are_refused_first(round: int, code: str) -> None:
    refused(code, verify_round, QUICKNET, round, b"not even a signature")
    refused(code, QUICKNET.published_at, round)


def test_the_largest_round_is_a_round() -> None:
    refused("bad_signature", verify_round, QUICKNET, MAX_ROUND, SIGNATURE)


@pytest.mark.parametrize("scheme", ["pedersen-bls-chained", "pedersen-bls-unchained", "bls-unchained-on-g1",
                                    "bls-bn254-unchained-on-g1", "BLS-UNCHAINED-G1-RFC9380", ""])
def test_other_schemes_are_refused(scheme: str) -> None:
    network = dataclasses.replace(QUICKNET, scheme_id=scheme)  # the scheme is not in the chain hash
    error = refused("unknown_scheme", verify_round, network, ROUND["round"], SIGNATURE)
    assert "bls-unchained-g1-rfc9380" in error.message


def network_with_key(public_key: bytes) -> BeaconNetwork:
    return BeaconNetwork("k", QUICKNET.scheme_id, public_key, 3, 0, bytes(32),
                         chain_hash(3, 0, public_key, bytes(32), "k"))


@pytest.mark.parametrize("public_key", [
    QUICKNET.public_key[:48],  # a G1-sized key
    b"\xc0" + bytes(95),  # the point at infinity: every signature would verify
    b"\x80" + bytes(95),  # not on the curve
    bytes([QUICKNET.public_key[0]]) + QUICKNET.public_key[1:-1] + bytes([QUICKNET.public_key[-1] ^ 1]),
])
def test_bad_public_keys_are_refused(public_key: bytes) -> None:
    refused("bad_public_key", verify_round, network_with_key(public_key), ROUND["round"], SIGNATURE)


def test_an_infinity_key_never_accepts_the_infinity_signature() -> None:
    """With both at infinity the pairing equation holds: the key check must come first."""
    refused("bad_public_key", verify_round, network_with_key(b"\xc0" + bytes(95)), 1, b"\xc0" + bytes(47))


# --- chain info ------------------------------------------------------------------------------

def test_chain_info_round_trips_and_both_beacon_id_places_are_read() -> None:
    drand_shape = QUICKNET.to_chain_info()
    assert BeaconNetwork.from_chain_info(json.loads(json.dumps(drand_shape))) == QUICKNET
    both = dict(CHAIN, metadata={"beaconID": "quicknet"})
    assert BeaconNetwork.from_chain_info(both) == QUICKNET


@pytest.mark.parametrize("change", [
    {"public_key": LocalBeaconNetwork("x").network.public_key.hex()},
    {"period": 30}, {"genesis_time": CHAIN["genesis_time"] + 1}, {"beaconID": "default"},
    {"groupHash": "00" * 32},
])
def test_a_changed_field_no_longer_matches_the_chain_hash(change: dict) -> None:
    refused("chain_hash_mismatch", BeaconNetwork.from_chain_info, dict(CHAIN, **change))


@pytest.mark.parametrize("change", [
    {"public_key": None}, {"period": "3"}, {"period": 0}, {"period": True}, {"hash": CHAIN["hash"][:-2]},
    {"groupHash": "xyz"}, {"metadata": {"beaconID": "other"}}, {"metadata": []}, {"genesis_time": 2**63},
])
def test_malformed_chain_info_is_refused(change: dict) -> None:
    info = {k: v for k, v in dict(CHAIN, **change).items() if v is not None}
    refused("bad_chain_info", BeaconNetwork.from_chain_info, info)


# --- the schedule, against the published genesis and period -----------------------------

GENESIS, PERIOD = CHAIN["genesis_time"], CHAIN["period"]


def test_publication_times() -> None:
    assert QUICKNET.published_at(1) == GENESIS
    assert QUICKNET.published_at(2) == GENESIS + PERIOD
    assert QUICKNET.published_at(1000) == GENESIS + 999 * PERIOD == 1692806364


@pytest.mark.parametrize(("offset", "expected"), [
    (-10**9, 1), (-1, 1), (0, 1), (1, 2), (PERIOD - 1, 2), (PERIOD, 2), (PERIOD + 1, 3),
    (999 * PERIOD, 1000), (999 * PERIOD - 1, 1000), (999 * PERIOD + 1, 1001),
])
def test_round_at_boundaries(offset: int, expected: int) -> None:
    assert QUICKNET.round_at(GENESIS + offset) == expected


@given(st.integers(min_value=GENESIS - 10**6, max_value=GENESIS + 10**12))
def test_round_at_is_the_first_round_published_at_or_after(t: int) -> None:
    round = QUICKNET.round_at(t)
    assert QUICKNET.published_at(round) >= t
    assert round == 1 or QUICKNET.published_at(round - 1) < t


# --- the local test network ------------------------------------------------------------------

def test_local_network_round_trip_and_label() -> None:
    local = LocalBeaconNetwork("tests")
    assert local.network.beacon_id == LOCAL_BEACON_ID and local.network.is_local_test
    for round in (1, 2, 1000, MAX_ROUND):
        assert verify_round(local.network, round, local.signature_for(round)) == local.randomness_for(round)
    refused("bad_signature", verify_round, local.network, 2, local.signature_for(1))
    assert BeaconNetwork.from_chain_info(local.network.to_chain_info()) == local.network


def test_local_network_is_deterministic_per_seed() -> None:
    a, again, b = LocalBeaconNetwork("seed-a"), LocalBeaconNetwork("seed-a"), LocalBeaconNetwork("seed-b")
    assert a.network == again.network and a.signature_for(7) == again.signature_for(7)
    assert a.network.public_key != b.network.public_key
    refused("bad_signature", verify_round, b.network, 7, a.signature_for(7))


def test_a_local_signature_is_refused_under_quicknet_and_the_public_round_under_local() -> None:
    local = LocalBeaconNetwork("tests")
    refused("bad_signature", verify_round, QUICKNET, ROUND["round"], local.signature_for(ROUND["round"]))
    refused("bad_signature", verify_round, local.network, ROUND["round"], SIGNATURE)


# --- `drledger beacon` as a real process --------------------------------------------------------

def beacon(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "drledger"
    assert script.exists(), f"the drledger console script is not installed beside {sys.executable}"
    return subprocess.run([str(script), "beacon", *args], capture_output=True, text=True, timeout=120)


def assert_refused(result: subprocess.CompletedProcess[str], exit_code: int, *needles: str) -> None:
    assert result.returncode == exit_code, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_cli_verify_prints_the_randomness() -> None:
    result = beacon("verify", "--round", str(ROUND["round"]), "--signature", ROUND["signature"])
    assert (result.returncode, result.stdout, result.stderr) == (0, ROUND["randomness"] + "\n", "")


@pytest.mark.parametrize("variant", VECTOR["invalid"], ids=lambda v: v["why"])
def test_cli_verify_refuses_with_the_code(variant: dict) -> None:
    result = beacon("verify", "--round", str(variant["round"]), "--signature", variant["signature"])
    assert_refused(result, 1, f"refused ({INVALID_CODES[variant['why']]})")


@pytest.mark.parametrize(("args", "code"), [
    (("--round", "0", "--signature", "zz"), "round_not_positive"),
    (("--round", "1000", "--signature", "zz"), "bad_signature_encoding"),
    (("--round", "1000", "--signature", ROUND["signature"][:-2]), "bad_signature_encoding"),
])
def test_cli_verify_refusals(args: tuple[str, ...], code: str) -> None:
    assert_refused(beacon("verify", *args), 1, f"refused ({code})")


def test_cli_network_file_errors_exit_2(tmp_path: Path) -> None:
    assert_refused(beacon("verify", "--round", "1", "--signature", "00", "--network", str(tmp_path / "none.json")),
                   2, "cannot read --network")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(dict(CHAIN, period=30)))
    assert_refused(beacon("verify", "--round", "1", "--signature", "00", "--network", str(tampered)),
                   2, "chain_hash_mismatch")


def test_cli_local_network_end_to_end_offline(tmp_path: Path) -> None:
    info = beacon("local", "--seed", "cli", "--chain-info")
    assert info.returncode == 0 and "not a public one" in info.stderr
    network = tmp_path / "local.json"
    network.write_text(info.stdout)
    signature = beacon("local", "--seed", "cli", "--round", "5")
    assert signature.returncode == 0
    signature_hex = signature.stdout.strip()
    ok = beacon("verify", "--round", "5", "--signature", signature_hex, "--network", str(network))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == LocalBeaconNetwork("cli").randomness_for(5).hex()
    assert "LOCAL TEST" in ok.stderr
    assert_refused(beacon("verify", "--round", "5", "--signature", signature_hex), 1, "refused (bad_signature)")
    assert_refused(beacon("verify", "--round", "6", "--signature", signature_hex, "--network", str(network)),
                   1, "refused (bad_signature)")


@pytest.mark.parametrize(("at", "expected"), [
    ("1692806364", "round 1000 of quicknet is published at 2023-08-23T15:59:24Z (unix 1692806364)"),
    ("2023-08-23T23:59:23+08:00", "round 1000 of quicknet is published at 2023-08-23T15:59:24Z"),
    ("2023-08-23T15:59:24.000001Z", "round 1001 of quicknet is published at 2023-08-23T15:59:27Z"),
    ("2000-01-01T00:00:00Z", "round 1 of quicknet is published at 2023-08-23T15:09:27Z (unix 1692803367)"),
])
def test_cli_round_at(at: str, expected: str) -> None:
    result = beacon("round", "--at", at)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected), result.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (("--at", "2023-08-23T15:59:24"), "no timezone"),
    (("--at", "yesterday"), "neither unix seconds nor an ISO 8601 time"),
    ((), "exactly one of --at TIME or --round N"),
    (("--round", "0"), "round_not_positive"),
])
def test_cli_round_refusals(args: tuple[str, ...], needle: str) -> None:
    assert_refused(beacon("round", *args), 2, needle)
