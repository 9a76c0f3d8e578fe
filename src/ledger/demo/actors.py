"""The demo city's actors and their keys, in HOME/demo-keys/ (made-up people, demo keys).

A real actor holds its own key on its own machine (services/keys.py). The
demo plays every actor of a city at once, so it keeps their keys in one
clearly labelled folder beside the demo ledger, with a README saying they
are demo keys, not real custody. While the demo runs, that folder is the
key folder (DRLEDGER_KEYS), so the services find the actors' keys there
exactly as they would on the actors' machines.

Actor ids, one set per department code D:

    admin               the first admin (from init), ledger-wide
    lm-D                list manager of D (imports D's rows)
    planner-D           planner of D (plans and tasks)
    drawer-D            drawer of D (commits and runs draws)
    <badge>             each active inspector, by badge (records results)

Demo stages (demo/draws.py, demo/results.py) get a signer with
`DemoActors.signer(actor_id)`, and register any other actor they need with
`DemoActors.ensure(...)` (signed by the admin).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Final

from ledger.demo.clock import current_run
from ledger.integrity.keys import Signer, write_key_file
from ledger.services.actors import new_key_file, read_own_key, sign_register
from ledger.services.keys import KEYS_ENV, key_path, passphrase
from ledger.services.ledger import LedgerService
from ledger.store.config import StoreConfig

__all__ = ["ADMIN", "DEMO_KEYS", "DemoActors", "demo_keys_dir", "demo_key_folder", "drawer", "list_manager",
           "new_demo_key", "planner", "stray_key", "write_readme"]

ADMIN: Final = "admin"
DEMO_KEYS: Final = "demo-keys"

README: Final = """\
DEMO KEYS - NOT REAL CUSTODY

These are the private keys of the made-up actors of the drledger demo city
(the first admin, a list manager, planner and drawer per department, and
the inspectors), written here by `drledger demo` so that one machine can
play every actor. They prove nothing about any real person.

A real ledger never keeps actors' keys here: each actor creates its own
key on its own machine (`drledger actor keygen`), gives an admin only the
public key, and signs with --as ACTOR --key FILE (or DRLEDGER_KEYS).

To act as a demo actor:

    DRLEDGER_KEYS={folder} drledger import items items.csv --as lm-XY-SCJG
"""


def demo_keys_dir(config: StoreConfig) -> Path:
    return config.home / DEMO_KEYS


def list_manager(department: str) -> str:
    return f"lm-{department}"


def planner(department: str) -> str:
    return f"planner-{department}"


def drawer(department: str) -> str:
    return f"drawer-{department}"


def reviewer(department: str) -> str:
    return f"reviewer-{department}"


def new_demo_key(path: Path, actor_id: str) -> Signer:
    """A new key file for `actor_id`: derived from the demo's seed while a demo runs (demo/clock.py),
    so the same seed registers the same public keys; else a random one."""
    run = current_run()
    if run is None:
        return new_key_file(path)
    signer = run.key(actor_id)
    write_key_file(path, signer, passphrase())
    return signer


def stray_key(name: str) -> Signer:
    """A key no registered actor holds (for the attempts the ledger must refuse): derived from
    the demo's seed while a demo runs, else random."""
    run = current_run()
    return run.key(f"stray {name}") if run is not None else Signer.generate()


def write_readme(folder: Path) -> None:
    """The label on the folder: these are demo keys."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    readme = folder / "README.txt"
    if not readme.exists():
        readme.write_text(README.format(folder=folder), encoding="utf-8")


# The key folder setting outside the demo (the first admin's key may be there).
_OUTSIDE: ContextVar[str | None] = ContextVar("drledger_demo_outside_keys", default=None)


@contextmanager
def demo_key_folder(config: StoreConfig) -> Iterator[Path]:
    """Within the block, the key folder (DRLEDGER_KEYS) is HOME/demo-keys."""
    folder = demo_keys_dir(config)
    write_readme(folder)
    before = os.environ.get(KEYS_ENV)
    if before == str(folder):
        yield folder
        return
    token = _OUTSIDE.set(before)
    os.environ[KEYS_ENV] = str(folder)
    try:
        yield folder
    finally:
        _OUTSIDE.reset(token)
        if before is None:
            os.environ.pop(KEYS_ENV, None)
        else:
            os.environ[KEYS_ENV] = before


class DemoActors:
    """The demo's actors on an open ledger: their keys, registered on demand by the admin."""

    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger
        self.config = ledger.config
        self.folder = demo_keys_dir(self.config)
        self._signers: dict[str, Signer] = {}
        self._registered: set[str] | None = None

    def path(self, actor_id: str) -> Path:
        """HOME/demo-keys/<actor>.pem (the name services/keys.py gives an actor's key file)."""
        return self.folder / key_path(self.ledger.origin, actor_id).name

    def signer(self, actor_id: str) -> Signer:
        """The actor's demo key (KeyFileError if the demo never made it).

        The first admin of a ledger the demo did not create signs with its
        own key, from the key folder in use outside the demo.
        """
        if actor_id not in self._signers:
            path = self.path(actor_id)
            if actor_id == ADMIN and not path.exists():
                path = self._outside_path(actor_id)
            self._signers[actor_id] = read_own_key(path)
        return self._signers[actor_id]

    def _outside_path(self, actor_id: str) -> Path:
        outside, inside = _OUTSIDE.get(), os.environ.get(KEYS_ENV)
        if inside != str(self.folder):
            return key_path(self.ledger.origin, actor_id)
        try:
            if outside is None:
                os.environ.pop(KEYS_ENV, None)
            else:
                os.environ[KEYS_ENV] = outside
            return key_path(self.ledger.origin, actor_id)
        finally:
            os.environ[KEYS_ENV] = inside

    def is_registered(self, actor_id: str) -> bool:
        if self._registered is None:
            from ledger.services.actors import list_actors

            self._registered = {a.actor_id for a in list_actors(self.config)}
        return actor_id in self._registered

    def ensure(self, actor_id: str, roles: tuple[str, ...], department: str | None = None,
               name: str | None = None) -> Signer:
        """The actor's demo key, registered by the admin first if it is new."""
        path = self.path(actor_id)
        if self.is_registered(actor_id):
            return self.signer(actor_id)
        signer = read_own_key(path) if path.exists() else new_demo_key(path, actor_id)
        self._signers[actor_id] = signer
        self.ledger.submit(sign_register(self.signer(ADMIN), ADMIN, actor_id=actor_id, name=name or actor_id,
                                         roles=roles, department=department, public_key=signer.public_key))
        assert self._registered is not None
        self._registered.add(actor_id)
        return signer
