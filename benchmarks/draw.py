"""Benchmark: `drledger sample` against a plain implementation of the spec.

    .venv/bin/python benchmarks/draw.py [--n-ids 1000000 --n 30000 --drop 0 --repeat 3]

Generates ``--n-ids`` distinct, valid unified social credit codes (18
characters, GB 32100) into a temporary directory, then runs the programs
as whole processes on the same file, alternately (the order rotating from
round to round), ``--repeat`` times each:

* ``drledger sample --seed S --ids FILE --n N --drop K``
* the same with ``DRLEDGER_SAMPLER=pure`` (no numpy: the reference path)
* ``python benchmarks/plain_sampler.py`` with the same arguments

Checks that every output is byte-identical, and prints the times (median,
best) and the ratios to the plain spec.  Nothing is written outside the
temporary directory.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ledger.domain.uscc import uscc_for_serial

HERE = Path(__file__).resolve().parent
# A few 县级 divisions of one 设区的市 and its neighbours: a realistic pool mixes them.
REGIONS = ("360502", "360521", "360102", "360103", "360111", "360121", "360203", "360222")
# Market regulation (9) enterprises (1), individual businesses (2), others (3).
ENTITY_TYPES = ("1", "1", "1", "2", "3")


def make_ids(count: int) -> list[str]:
    """``count`` distinct valid codes: serials are injective per (type, region)."""
    combos = [(t, r) for t in sorted(set(ENTITY_TYPES)) for r in REGIONS]
    return [
        uscc_for_serial(k // len(combos), "9", combos[k % len(combos)][0], combos[k % len(combos)][1])
        for k in range(count)
    ]


def drledger() -> str:
    script = Path(sys.executable).parent / "drledger"
    if not script.exists():
        sys.exit("drledger is not installed beside this Python: run `make install` first")
    return str(script)


def timed(command: list[str], out_path: Path, env: dict[str, str]) -> float:
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        subprocess.run(command, stdout=out, check=True, env=env)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-ids", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=30_000)
    parser.add_argument("--drop", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", default=hashlib.sha256(b"drledger benchmarks/draw.py").hexdigest())
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="drledger-bench-") as tmp:
        ids_path = Path(tmp) / "ids.txt"
        start = time.perf_counter()
        ids_path.write_text("".join(i + "\n" for i in make_ids(args.n_ids)), encoding="utf-8")
        print(f"generated {args.n_ids:,} USCC IDs in {time.perf_counter() - start:.1f} s")

        common = ["--seed", args.seed, "--ids", str(ids_path), "--n", str(args.n), "--drop", str(args.drop)]
        base_env = {k: v for k, v in os.environ.items() if k != "DRLEDGER_SAMPLER"}
        commands = {
            "drledger sample": ([drledger(), "sample", *common], base_env),
            "sample, pure": ([drledger(), "sample", *common], {**base_env, "DRLEDGER_SAMPLER": "pure"}),
            "plain spec": ([sys.executable, str(HERE / "plain_sampler.py"), *common], base_env),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        outputs: set[bytes] = set()
        names = list(commands)
        for round_ in range(args.repeat):
            for name in names[round_ % 3:] + names[:round_ % 3]:
                command, env = commands[name]
                out_path = Path(tmp) / f"{name.replace(' ', '_').replace(',', '')}-{round_}.txt"
                times[name].append(timed(command, out_path, env))
                outputs.add(out_path.read_bytes())

        if len(outputs) != 1:
            sys.exit("FAIL: the outputs differ")
        drawn = outputs.pop().count(b"\n")
        if drawn != min(args.n, max(0, args.n_ids - args.drop)):
            sys.exit(f"FAIL: {drawn} IDs drawn")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.n_ids:,} IDs, n={args.n:,}, drop={args.drop}; outputs identical ({drawn:,} lines)")
    print(f"cores: {os.cpu_count()}, load average (1 min) after the runs: {load:.2f}")
    for name, values in times.items():
        shown = ", ".join(f"{v:.3f}" for v in values)
        print(f"{name:>16}: median {statistics.median(values):.3f} s, best {min(values):.3f} s  ({shown})")
    plain = times["plain spec"]
    for name, label in (("drledger sample", "ratio"), ("sample, pure", "ratio, pure")):
        ratios = [p / t for p, t in zip(plain, times[name])]  # per round: same load
        print(f"{label:>16}: {statistics.median(plain) / statistics.median(times[name]):.1f}x"
              f" faster than the plain spec (medians), {min(plain) / min(times[name]):.1f}x (bests),"
              f" per round median {statistics.median(ratios):.1f}x best {max(ratios):.1f}x")


if __name__ == "__main__":
    main()
