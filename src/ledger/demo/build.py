"""Fill a ledger with a deterministic demo city, through the users' own signed paths.

The demo plays every actor of the city (demo/actors.py), with keys in
HOME/demo-keys/ (labelled demo keys, not real custody):

1. the first admin (from init) imports the departments and registers a
   list manager, a planner and a drawer per department;
2. each list manager imports its own department's items and inspectors, and
   the conflicts (回避) its inspectors declared; the city bureau's list
   manager imports the target pool (every entity is under it);
3. the admin registers every active inspector as an actor (by badge), and the
   demo's own witness (demo/witness.py);
4. the small city's plan, task and joint task (demo/draws.py), or the full
   city's year of plans, tasks, draws, results and reviews (demo/year.py);
   then the results of the demo's today (demo/results.py) and practice
   (demo/practice.py) follow;

each import as a CSV file parsed and signed on the list manager's side
(services/directory.py), and a signed checkpoint after each stage. All of it
runs on the demo's own clock, with keys and nonces from the seed
(demo/clock.py): the same seed gives the same ledger head.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec

from ledger.demo.actors import ADMIN, DemoActors, demo_key_folder, demo_keys_dir, drawer, list_manager, planner, write_readme
from ledger.demo.city import SAMR, City, generate_city, to_csv
from ledger.demo.clock import DEMO_YEAR, TODAY, DemoRun, current_run, demo_run
from ledger.demo.witness import NAME as WITNESS
from ledger.demo.witness import cosign_latest, register_witness
from ledger.domain.settings import GovernanceSettings
from ledger.integrity.commands import sign_command
from ledger.services.directory import ImportSummary, import_file
from ledger.services.ledger import LedgerService, open_ledger
from ledger.store.config import StoreConfig

IMPORT_ORDER = ("departments", "items", "entities", "inspectors", "conflicts")

Say = Callable[[str], None]


class DemoSummary(msgspec.Struct, kw_only=True):
    seed: int
    small: bool
    city: str
    imports: list[ImportSummary]
    actors: list[str] = []
    keys: str = ""  # HOME/demo-keys
    tasks: list[str] = []
    checkpoints: list[int] = []


def init_demo_ledger(config: StoreConfig, origin: str | None = None) -> Any:
    """A new ledger whose first admin's key is a demo key (HOME/demo-keys/admin.pem); within
    `demo_run` (demo/clock.py) the ledger and admin keys come from the demo's seed."""
    from ledger.demo.beacon import demo_beacons
    from ledger.services.admin import init
    from ledger.services.keys import key_path

    folder = demo_keys_dir(config)
    write_readme(folder)
    run = current_run()
    result = init(config, origin=origin, admin_id=ADMIN, admin_name="演示管理员 (demo admin)",
                  admin_key_file=folder / key_path("-", ADMIN).name, beacons=demo_beacons(),
                  keys=(run.key("ledger"), run.key(ADMIN)) if run is not None else None)
    return result


def demo_is_done(config: StoreConfig) -> bool:
    """Whether the ledger holds more than its genesis transaction."""
    from ledger.services.admin import status

    last = status(config).last_signature
    return last is not None and last.first > 1


def run_demo(config: StoreConfig, *, seed: int, small: bool, say: Say = lambda _: None) -> DemoSummary:
    """The whole demo on its own clock (demo/clock.py): the city's list and pools in January,
    plans, tasks and draws, then results (some late, corrected, refused, disclosed), with a
    checkpoint after each stage."""
    from ledger.demo.draws import add_draws
    from ledger.demo.practice import add_practice
    from ledger.demo.results import add_results
    from ledger.demo.year import add_year

    with demo_run(seed) as run, demo_key_folder(config):
        demo = build_demo(config, seed=seed, small=small, say=say)
        with open_ledger(config) as ledger:
            register_witness(DemoActors(ledger), run)
        say(f"witness: {WITNESS} registered (the demo's own: it cosigns every checkpoint; not independent)")
        demo.checkpoints.append(_checkpoint(config, say, run))
        if small:
            run.on(date(DEMO_YEAR, 2, 16))  # the yearly plan, before the spring window
            demo.tasks = add_draws(config, say=say)
        else:
            demo.tasks = add_year(config, run, seed, say=say).tasks  # January to the demo's today
        demo.checkpoints.append(_checkpoint(config, say, run))
        run.on(TODAY)
        add_results(config, seed, small=small, say=say)
        demo.checkpoints.append(_checkpoint(config, say, run))
        add_practice(config, say=say)  # temporary task, firm representatives, an objection (demo/practice.py)
        demo.checkpoints.append(_checkpoint(config, say, run))
    return demo


def build_demo(config: StoreConfig, *, seed: int, small: bool, say: Say = lambda _: None) -> DemoSummary:
    """Stage 1: the city's actors, departments, item list, pools and conflicts."""
    say(f"city: generating {'the small' if small else 'the full'} city (seed {seed})")
    city = generate_city(seed, small)
    say(f"city: {len(city.entities)} firms, {len(city.inspectors)} officers and experts, {len(city.items)} items,"
        f" {len(city.departments)} departments; importing them (the firms take a while)")
    with demo_key_folder(config), open_ledger(config, sync=False) as ledger:
        actors = DemoActors(ledger)
        # The demo draws minutes after its inspectors are registered; a real ledger keeps the
        # draw cooling-off (7 days by default), and this setting is a signed, public command.
        ledger.submit(sign_command(actors.signer(ADMIN), ADMIN, "settings.governance", msgspec.to_builtins(
            GovernanceSettings(draw_cooling_off_days=0))))
        say("settings: draw cooling-off 0 days (demo only: inspectors registered now are drawn at once)")
        summaries = [_import(ledger, actors, ADMIN, city, "departments", city.departments, say)]
        departments = [d.code for d in city.departments]
        for code in departments:
            actors.ensure(list_manager(code), ("list_manager",), code, f"{code} 名录管理员")
            actors.ensure(planner(code), ("planner",), code, f"{code} 计划制定人")
            actors.ensure(drawer(code), ("drawer",), code, f"{code} 抽取员")
        say(f"actors: admin and a list manager, planner and drawer for each of {len(departments)} departments")
        for code in departments:
            rows = [item for item in city.items if item.department == code]
            if rows:
                summaries.append(_import(ledger, actors, list_manager(code), city, "items", rows, say))
        summaries.append(_import(ledger, actors, list_manager(SAMR), city, "entities", city.entities, say))
        for code in departments:
            rows = [inspector for inspector in city.inspectors if inspector.department == code]
            if rows:
                summaries.append(_import(ledger, actors, list_manager(code), city, "inspectors", rows, say))
        department_of = {inspector.badge: inspector.department for inspector in city.inspectors}
        for code in departments:
            rows = [conflict for conflict in city.conflicts if department_of[conflict.badge] == code]
            if rows:
                summaries.append(_import(ledger, actors, list_manager(code), city, "conflicts", rows, say))
        inspectors = [i for i in city.inspectors if i.status == "active"]
        for inspector in inspectors:
            actors.ensure(inspector.badge, ("inspector",), inspector.department, inspector.name)
        say(f"actors: {len(inspectors)} active inspectors, each with its own key")
        ledger.catch_up()
        registered = sorted(actors._registered or ())
    return DemoSummary(seed=seed, small=small, city=city.name, imports=summaries, actors=registered,
                       keys=str(demo_keys_dir(config)))


def _import(ledger: LedgerService, actors: DemoActors, actor: str, city: City, kind: str, rows: Any,
            say: Say) -> ImportSummary:
    """One CSV file, parsed and signed on `actor`'s side as a user's file would be."""
    summary = import_file(ledger, actors.signer(actor), actor, kind, to_csv(rows, kind),  # type: ignore[arg-type]
                          file_name=f"demo-{kind}.csv", accept_bad_check=True)
    if summary.errors:
        raise RuntimeError(f"demo {kind} by {actor} did not import: {summary.errors[0]}")
    say(f"{kind} by {actor}: {summary.new} new, {summary.changed} changed, {summary.unchanged} unchanged")
    return summary


def _checkpoint(config: StoreConfig, say: Say, run: DemoRun) -> int:
    """Publish a signed checkpoint (the ledger key's), cosigned by the demo's witness, so the demo
    ledger has a witnessed checkpoint history."""
    from ledger.services.checkpoints import checkpoint_size, publish_checkpoint

    size = checkpoint_size(publish_checkpoint(config))
    cosign_latest(config, run)
    say(f"checkpoint published at size {size}, cosigned by {WITNESS}")
    return size
