"""Beacon verification per draw: drand quicknet round checks per second, against Ed25519.

    .venv/bin/python benchmarks/beacon.py [--seconds 2] [--rounds 5]
    .venv/bin/python benchmarks/beacon.py --seconds 0.2 --rounds 2   # smoke run

A draw v2 verifies one beacon round: `verify_round(QUICKNET, 1000, signature)`
on the published round of tests/vectors/drand/quicknet.json (signature
decoding and subgroup check, RFC 9380 hash to G1, a two-pairing check,
SHA-256). The baseline, in the same run, is one Ed25519 signature
verification (`cryptography`), the check every signed command of the ledger
already costs. Rounds alternate between the two; the medians are printed and
their ratio. "cold" also decodes the network's public key (a G2 subgroup
check), which a process does once per network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from ledger.beacon import QUICKNET, verify_round  # noqa: E402
from ledger.beacon.verify import _public_key  # noqa: E402


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``call`` over about ``seconds``."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(10):
            call()
        count += 10
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurements of each")
    args = parser.parse_args()

    vector = json.loads((ROOT / "tests/vectors/drand/quicknet.json").read_text("utf-8"))["rounds"][0]
    signature, round = bytes.fromhex(vector["signature"]), vector["round"]
    assert verify_round(QUICKNET, round, signature).hex() == vector["randomness"]

    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    message = b"drledger benchmarks/beacon.py: a signed command of about this size" * 4
    ed_signature, ed_public = key.sign(message), key.public_key()

    def cold() -> None:
        _public_key.cache_clear()
        verify_round(QUICKNET, round, signature)

    runs: dict[str, list[float]] = {"beacon (warm)": [], "beacon (cold)": [], "ed25519": []}
    for _ in range(args.rounds):
        runs["beacon (warm)"].append(rate(lambda: verify_round(QUICKNET, round, signature), args.seconds))
        runs["ed25519"].append(rate(lambda: ed_public.verify(ed_signature, message), args.seconds))
        runs["beacon (cold)"].append(rate(cold, args.seconds))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.rounds} rounds x {args.seconds:g} s each; cores: {os.cpu_count()}, load average (1 min): {load:.2f}")
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"{name:>14}: median {median:>9,.0f} verifications/s  ({1e3 / median:.3f} ms each; "
              f"best {max(values):,.0f}/s)")
    beacon, ed = statistics.median(runs["beacon (warm)"]), statistics.median(runs["ed25519"])
    print(f"{'ratio':>14}: one beacon round costs {ed / beacon:.1f} Ed25519 verifications "
          f"(beacon/ed25519 rate = {beacon / ed:.4f})")


if __name__ == "__main__":
    main()
