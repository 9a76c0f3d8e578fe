"""Benchmark: a full `draw run` (targets and teams) on a 1M-entity pool, and its replay.

    .venv/bin/python benchmarks/draw_run.py [--entities 1000000] [--store URL] [--load-cap N] [--keep DIR]

Builds a fresh ledger in a temporary directory (SQLite unless ``--store``
names a PostgreSQL URL), imports the demo city's departments, items and
~600 inspectors, then ``--entities`` generated firms (valid unified social
credit codes from ``uscc_for_serial``; risk classes A/B/C/D in proportion
60/30/8/2) as ONE entity CSV through ``import_file``, as a list manager
would, every import a command signed by the admin. Then a plan and a 不定向
task for the city's market regulator with the ratios A 1%, B 3%, C 10%,
D 30%, signed by a planner, and times (the ledger pins the demo's local
test beacon, so the run needs no wait for the named round):

* the import,
* ``commit_draw`` (the drawer's commitment: the ledger reads the pool at its
  head, freezes it by its digest and roots, names a beacon round),
* ``run_draw`` (the round's signature: the ledger reads the frozen inputs
  again, checks their digest, verifies the beacon, derives the seed, draws
  targets per class and teams, records them),
* ``replay_draws`` (rebuild everything from the events, recompute, compare),
* a second task drawn and replayed as the CLI does it, ``drledger draw
  commit``, ``draw run`` and ``draw replay`` each in its own process: their
  peak RSS is the figure for the 1 GiB cap (issue 16), since the in-process
  phases above start from what the benchmark's own import left resident,
* ``verify_ledger`` (every transaction re-executed, the draw included),
* ``export_bundle`` and ``docs/verify_draw.py`` on the bundle (stdlib only).

Nothing is written outside the temporary directory (or --keep DIR).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import msgspec

from ledger.demo.beacon import DEMO_BEACON, demo_beacons
from ledger.demo.city import generate_city, to_csv
from ledger.domain.actors import RegisterBody
from ledger.domain.draws import BeaconChoice, PlanBody, TaskBody
from ledger.domain.rows import EntityRow
from ledger.domain.uscc import uscc_for_serial
from ledger.domain.settings import GovernanceSettings
from ledger.draw.spec import Quota
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, public_key_b64, read_key_file, write_key_file
from ledger.services import draws
from ledger.services.bundles import export_bundle
from ledger.services.directory import import_file
from ledger.services.ledger import LedgerService, open_ledger
from ledger.services.setup import init_ledger
from ledger.store.config import resolve_store
from ledger.verify.draws import replay_draws
from ledger.verify.ledger_check import verify_ledger

HERE = Path(__file__).resolve().parent
SAMR = "XY-SCJG"
ITEM = "XY-SCJG-001"
REGIONS = ("360502", "360521")
# (entity type, USCC type code): 市场监管 (9) enterprises (1), individual businesses (2).
TYPES = (("enterprise", "1"), ("enterprise", "1"), ("individual", "2"))
CLASS_OF = "A" * 60 + "B" * 30 + "C" * 8 + "D" * 2  # serial % 100 -> risk class


def entity_rows(count: int) -> list[EntityRow]:
    rows = []
    for k in range(count):
        entity_type, type_code = TYPES[k % len(TYPES)]
        region = REGIONS[(k // 3) % len(REGIONS)]
        rows.append(EntityRow(
            uscc=uscc_for_serial(k, "9", type_code, region), name=f"基准企业{k}", entity_type=entity_type,
            region_code=region, industry="F52", risk_class=CLASS_OF[(k * 37) % 100], departments=(SAMR,),
        ))
    return rows


def register(ledger: LedgerService, admin: Signer, role: str) -> Signer:
    """A new actor `role` with that role, registered by the admin (its key stays here, in memory)."""
    signer = Signer.generate()
    body = RegisterBody(actor_id=role, name=role, roles=(role,), department=None,
                        public_key=public_key_b64(signer.public_key))
    ledger.submit(sign_command(admin, "admin", "actor.register", msgspec.to_builtins(body)))
    return signer


def lap(label: str, start: float) -> float:
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:9.2f} s", flush=True)
    return seconds


RSS_CAP_MIB = 1024  # issue 16: the 1M-entity draw and its replay stay under 1 GiB


def _status_mib(field: str) -> float | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def peak_rss_mib() -> float:
    """This process's peak resident set size since the last `reset_peak_rss` (VmHWM, Linux)."""
    peak = _status_mib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> float:
    """Start a new peak (Linux: writing 5 to clear_refs resets VmHWM), so each phase shows its own;
    the RSS it starts from. The heap the phase before freed is handed back to the system first
    (glibc malloc_trim): otherwise a phase after the import starts from the import's freed but
    still resident arenas, and its peak measures them."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mib("VmRSS") or 0.0


# Runs argv and reports its peak RSS. A child's ru_maxrss starts from its parent's resident set at
# the spawn (Linux hands the parent's high-water mark over at the exec), so `drledger` measured as
# this benchmark's direct child would show the benchmark's own RSS: it is spawned from this small
# process instead, and ru_maxrss is then its own.
OWN_PEAK = """import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print(f"maxrss_kib={usage.ru_maxrss}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def draw_as_the_cli_does(config: Any, tmp: Path, planner: Signer, drawer: Signer, quotas: dict[str, Quota],
                         load_cap: int | None) -> float:
    """A second task drawn and replayed the way they run in practice: `drledger draw commit`, `draw run`
    and `draw replay`, each its own process on the same ledger. Returns the largest peak RSS of the
    three (each its own ru_maxrss, see OWN_PEAK): what the 1 GiB cap is about, free of what the
    benchmark's own import left resident in this process."""
    key = tmp / "actor-keys" / "drawer.pem"
    write_key_file(key, drawer, None)
    with open_ledger(config) as ledger:
        draws.create_task(ledger, planner, "planner", TaskBody(
            task_id="T-CLI", plan_id="P-BENCH", name="基准抽查（命令行）", window_start=date(2026, 6, 1),
            window_end=date(2026, 8, 31), items=(ITEM,), departments=(SAMR,), quotas=quotas, load_cap=load_cap))
    network = DEMO_BEACON.network
    named = network.round_at(int(time.time()) + 600)
    store = ["--home", str(config.home)] + (["--store", config.display] if config.kind == "postgres" else [])
    steps = [("draw commit", ["commit", "T-CLI", "--beacon", f"{network.beacon_id}={named}"]),
             ("draw run", ["run", "T-CLI", "--signature", DEMO_BEACON.signature_for(named).hex()]),
             ("draw replay", ["replay", "T-CLI"])]
    drledger = str(Path(sys.executable).parent / "drledger")
    peak = 0.0
    for label, argv in steps:
        signer = ["--as", "drawer", "--key", str(key)] if label != "draw replay" else []
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", OWN_PEAK, drledger, "draw", *argv, *store, *signer],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"drledger {label} failed: {done.stdout}{done.stderr}")
        step_peak = int(done.stderr.rsplit("maxrss_kib=", 1)[1]) / 1024
        peak = max(peak, step_peak)
        print(f"{'`drledger ' + label + '` (its own process)':<44} {seconds:9.2f} s  peak RSS {step_peak:,.0f} MiB",
              flush=True)
    print(f"peak RSS of `drledger draw commit|run|replay` on this pool: {peak:,.0f} MiB"
          f" (cap {RSS_CAP_MIB:,} MiB: {'within' if peak <= RSS_CAP_MIB else 'OVER'})", flush=True)
    return peak


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[str]:
    """A temporary directory, or `keep` (created, must not exist) left in place afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield tmp
        return
    keep.mkdir(parents=True)
    yield str(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--store", default=None, help="Store URL (default: SQLite in the temporary directory).")
    parser.add_argument("--load-cap", type=int, default=None, help="Per-inspector load cap (default: none).")
    parser.add_argument("--keep", type=Path, default=None,
                        help="Build in this new directory and keep it (the ledger, the actors' keys) afterwards,"
                             " to measure later commands on the same ledger without importing again.")
    args = parser.parse_args()

    with _workdir(args.keep) as tmp:
        config = resolve_store(args.store, Path(tmp) / "home")
        admin_file = Path(tmp) / "actor-keys" / "admin.pem"  # actors' keys: never under the ledger's HOME
        init_ledger(config, origin="bench.drledger/draw-run", admin_id="admin", admin_name="Admin",
                    admin_key_file=admin_file, beacons=demo_beacons())
        admin = read_key_file(admin_file, None)
        city = generate_city(2026, small=False)
        with open_ledger(config) as ledger:
            # The inspectors are imported now and drawn at once: no draw cooling-off (a signed setting).
            ledger.submit(sign_command(admin, "admin", "settings.governance",
                                       msgspec.to_builtins(GovernanceSettings(draw_cooling_off_days=0))))
            for kind in ("departments", "items", "inspectors"):
                import_file(ledger, admin, "admin", kind, to_csv(city.rows(kind), kind), accept_bad_check=True)
            planner, drawer = register(ledger, admin, "planner"), register(ledger, admin, "drawer")
            if args.keep:
                write_key_file(Path(tmp) / "actor-keys" / "planner.pem", planner, None)

            start = time.perf_counter()
            csv = to_csv(entity_rows(args.entities), "entities")
            lap(f"generate {args.entities:,} entities as CSV", start)
            start = time.perf_counter()
            summary = import_file(ledger, admin, "admin", "entities", csv, file_name="entities.csv")
            assert not summary.errors, summary.errors[:3]
            lap(f"import_file ({summary.new:,} new entities)", start)

            draws.create_plan(ledger, planner, "planner", PlanBody(
                plan_id="P-BENCH", title="基准", department=SAMR, year=2026, items=(ITEM,)))
            quotas = {"A": Quota(ratio="0.01"), "B": Quota(ratio="0.03"), "C": Quota(ratio="0.1"),
                      "D": Quota(ratio="0.3")}
            draws.create_task(ledger, planner, "planner", TaskBody(
                task_id="T-BENCH", plan_id="P-BENCH", name="基准抽查", window_start=date(2026, 3, 1),
                window_end=date(2026, 5, 31), items=(ITEM,), departments=(SAMR,), quotas=quotas,
                load_cap=args.load_cap,
            ))
            network = DEMO_BEACON.network
            named = network.round_at(int(time.time()) + 600)
            import_rss = peak_rss_mib()
            draw_start = reset_peak_rss()
            start = time.perf_counter()
            draws.commit_draw(ledger, drawer, "drawer", "T-BENCH", [BeaconChoice(network.beacon_id, named)])
            commit_s = lap("commit_draw (inputs frozen at the head: pool read, digest, roots)", start)
            start = time.perf_counter()
            outcome = draws.run_draw(ledger, drawer, "drawer", "T-BENCH", [DEMO_BEACON.signature_for(named).hex()])
            run_s = lap("run_draw (frozen inputs again, digest, beacon, targets, teams)", start)
            draw_rss = peak_rss_mib()
        targets = sum(len(v) for v in outcome.targets.values())
        officers = {b for t in outcome.teams for b in t.inspectors}
        print(f"  pool {outcome.counts}, {targets:,} targets, {len(officers)} officers used")

        replay_start = reset_peak_rss()
        start = time.perf_counter()
        results, _ = replay_draws(config)
        replay_s = lap("replay_draws (from events, recompute, compare)", start)
        assert len(results) == 1 and results[0].ok, results[0].differences
        replay_rss = peak_rss_mib()
        # Not the cap's figure: these phases start from what the import left resident here (glibc keeps
        # most of its 2+ GiB peak's heap); the CLI's processes below are.
        print(f"peak RSS in this process: import {import_rss:,.0f} MiB; commit and run {draw_rss:,.0f} MiB"
              f" (from {draw_start:,.0f}: +{draw_rss - draw_start:,.0f}); replay {replay_rss:,.0f} MiB"
              f" (from {replay_start:,.0f}: +{replay_rss - replay_start:,.0f})", flush=True)

        cli_peak = draw_as_the_cli_does(config, Path(tmp), planner, drawer, quotas, args.load_cap)

        start = time.perf_counter()
        report = verify_ledger(config)
        lap("verify_ledger (every command re-executed)", start)
        assert report.ok, report.problems[:3]

        start = time.perf_counter()
        bundle = Path(tmp) / "bundle.json"
        bundle.write_bytes(export_bundle(config, "T-BENCH"))
        lap(f"export_bundle ({bundle.stat().st_size / 1e6:.1f} MB)", start)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE.parent / "docs" / "verify_draw.py"), str(bundle)],
                              capture_output=True, text=True)
        lap("docs/verify_draw.py (stdlib, plain sampler)", start)
        if done.returncode != 0:
            sys.exit(f"verify_draw.py failed: {done.stdout}{done.stderr}")
        print(f"summary: commit_draw {commit_s:.2f} s, run_draw {run_s:.2f} s, replay {replay_s:.2f} s"
              f" for {targets:,} targets; peak RSS of the CLI's draw and replay processes {cli_peak:,.0f} MiB")


if __name__ == "__main__":
    main()
