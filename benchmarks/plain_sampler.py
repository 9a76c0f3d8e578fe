"""The written spec of the draw sampler, plainly, as a whole program.

The yardstick for benchmarks/draw.py: what an auditor would write from
docs/sampler.md with Python's standard library only, no cleverness and no
deliberate slowness.  Same input and output as `drledger sample`.

    python benchmarks/plain_sampler.py --seed S --ids FILE --n N [--drop K]
"""

from __future__ import annotations

import argparse
import hashlib
import sys


def ticket(seed_hex: str, id: str) -> str:
    value = int(hashlib.sha256((seed_hex + id).encode("utf-8")).hexdigest(), 16)
    return "0." + "{:064d}".format(value)[::-1]


def draw(seed: str, ids: list[str], n: int, drop: int) -> list[str]:
    assert len(set(ids)) == len(ids), "duplicate IDs"
    seed_hex = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    ordered = sorted((ticket(seed_hex, id), id) for id in ids)
    return [id for _, id in ordered[drop:drop + n]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--drop", type=int, default=0)
    args = parser.parse_args()
    with open(args.ids, encoding="utf-8", newline="") as handle:
        ids = [line.removesuffix("\n").removesuffix("\r") for line in handle]
    sys.stdout.write("".join(id + "\n" for id in draw(args.seed, ids, args.n, args.drop)))


if __name__ == "__main__":
    main()
