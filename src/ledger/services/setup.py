"""Create a ledger (`drledger init`) and open it for writing.

init writes, in order: nothing until every check passed; then the ledger key
(HOME/keys/ledger.pem: the operator's key, which signs transactions, never
commands) and the first admin's key (in the admin's own key folder,
services/keys.py); then the genesis transaction, signed by the admin; then
the trust anchor (`trust.json`, public data only). If genesis fails, the key
files it created are removed, so a refused init leaves nothing behind.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.domain.actors import LEDGER_FORMAT, authenticate_genesis, decide_genesis
from ledger.domain.base import recorded_time
from ledger.domain.commands import CommandRecord, Refusal
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, key_id, read_key_file, write_key_file
from ledger.services.keys import key_path, passphrase
from ledger.store.config import StoreConfig
from ledger.store.reader import StoreUnavailable, open_reader

LEDGER_KEY_FILE = "ledger.pem"
TRUST_FILE = "trust.json"


class SetupError(Exception):
    """The ledger cannot be created or opened as asked."""


@dataclass(frozen=True)
class InitResult:
    origin: str
    ledger_key_id: str
    admin_id: str
    admin_key_id: str
    ledger_key_file: Path
    admin_key_file: Path
    head: str


def store_has_ledger(config: StoreConfig) -> bool:
    try:
        with open_reader(config) as reader:
            return reader.size() > 0
    except StoreUnavailable as error:
        if "holds no ledger" in str(error) or "no ledger at" in str(error):
            return False
        raise


def default_beacons() -> list[dict[str, Any]]:
    """The beacon networks a new ledger pins unless told otherwise: drand quicknet (League of Entropy)."""
    from ledger.beacon.network import QUICKNET

    return [QUICKNET.to_chain_info()]


def genesis_body(origin: str, ledger_key: bytes, admin_id: str, admin_name: str, admin_key: bytes,
                 beacons: list[dict[str, Any]] | None = None) -> dict[str, object]:
    return {
        "admin_id": admin_id,
        "admin_key": base64.b64encode(admin_key).decode(),
        "admin_name": admin_name,
        "beacons": beacons if beacons is not None else default_beacons(),
        "format": LEDGER_FORMAT,
        "ledger_key": base64.b64encode(ledger_key).decode(),
        "origin": origin,
    }


def init_ledger(config: StoreConfig, *, origin: str | None, admin_id: str, admin_name: str,
                admin_key_file: Path | None = None, beacons: list[dict[str, Any]] | None = None,
                keys: tuple[Signer, Signer] | None = None) -> InitResult:
    """A new ledger: ledger key, first admin, and genesis pinning `beacons` (drand chain
    infos; default quicknet). `keys` (ledger, admin): given keys instead of new ones (the
    demo derives its keys from its seed)."""
    from ledger.store.application import LedgerApplication

    ledger_file = config.keys_dir / LEDGER_KEY_FILE
    if store_has_ledger(config):
        raise SetupError(f"{config.display} already holds a ledger: refusing to initialise it again")
    ledger_signer, admin_signer = keys or (Signer.generate(), Signer.generate())
    origin = origin or f"drledger.local/{ledger_signer.key_id[:8]}"
    admin_file = admin_key_file or key_path(origin, admin_id)
    for path in (ledger_file, admin_file):
        if path.exists():
            raise SetupError(f"key file {path} already exists: refusing to overwrite a key")
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        config.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for path, signer in ((ledger_file, ledger_signer), (admin_file, admin_signer)):
            write_key_file(path, signer, passphrase())
            written.append(path)
        signed = sign_command(admin_signer, admin_id, "ledger.genesis",
                              genesis_body(origin, ledger_signer.public_key, admin_id, admin_name,
                                           admin_signer.public_key, beacons))
        now = utc_now()
        try:
            command = authenticate_genesis(signed, now)
            with recorded_time(now):
                aggregates = [CommandRecord.of(command), *decide_genesis(_Empty(), command)]
        except Refusal as refusal:
            raise SetupError(refusal.message) from None
        app = LedgerApplication(config, ledger_signer, create_tables=True)
        try:
            app.save(*aggregates)
        finally:
            app.close()
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    with open_reader(config) as reader:
        head = reader.head()
    assert head is not None
    trust = {
        "origin": origin,
        "ledger_key": base64.b64encode(ledger_signer.public_key).decode(),
        "ledger_key_id": ledger_signer.key_id,
        "genesis_head": f"{head[0]}:{head[1].hex()}",
    }
    (config.home / TRUST_FILE).write_text(json.dumps(trust, indent=2) + "\n", encoding="utf-8")
    return InitResult(origin=origin, ledger_key_id=ledger_signer.key_id, admin_id=admin_id,
                      admin_key_id=admin_signer.key_id, ledger_key_file=ledger_file, admin_key_file=admin_file,
                      head=head[1].hex())


class _Empty:
    """The state before genesis: nothing exists."""

    position = 0

    def get(self, cls: type, aggregate_id: object) -> None:
        return None

    get_for_update = get


def trusted_ledger_key(config: StoreConfig) -> bytes | None:
    """The ledger public key pinned at init on this machine, if any."""
    path = config.home / TRUST_FILE
    if not path.exists():
        return None
    try:
        return base64.b64decode(json.loads(path.read_text(encoding="utf-8"))["ledger_key"], validate=True)
    except (ValueError, KeyError) as error:
        raise SetupError(f"trust anchor {path} is unreadable: {error}") from None


def load_ledger_signer(config: StoreConfig) -> Signer:
    return read_key_file(config.keys_dir / LEDGER_KEY_FILE, passphrase())


def open_for_writing(config: StoreConfig):  # -> LedgerApplication (lazy import keeps CLI start fast)
    """The application with the ledger key loaded, for a ledger that exists."""
    from ledger.store.application import LedgerApplication

    if not store_has_ledger(config):
        raise SetupError(f"{config.display} holds no ledger: run `drledger init` first")
    signer = load_ledger_signer(config)
    app = LedgerApplication(config, signer)
    expected = app.ledger().ledger_key
    if signer.public_key != expected:
        app.close()
        pending = (config.keys_dir / LEDGER_KEY_FILE).with_name(LEDGER_KEY_FILE + ".next")
        raise SetupError(
            f"key file {config.keys_dir / LEDGER_KEY_FILE} holds key {key_id(signer.public_key)},"
            f" but this ledger is signed by {key_id(expected)}"
            + (f"; a ledger key rotation was interrupted: run `drledger key finish-rotation` ({pending.name})"
               if pending.exists() else "")
        )
    return app
