"""Where an actor's own key lives: on the actor's machine, never in the ledger's HOME.

`DRLEDGER_KEYS` names the folder of the actor's key files (`<actor>.pem`);
without it, keys live under the user's configuration folder, one folder per
ledger origin (`~/.config/drledger/keys/<origin>/`), so several ledgers and
test runs on one machine never share or overwrite a key. The demo writes
its made-up actors' keys into HOME/demo-keys/ (clearly not real custody).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ledger.integrity.keys import PASSPHRASE_ENV, KeyFileError, Signer, read_key_file

KEYS_ENV = "DRLEDGER_KEYS"
DEMO_KEYS = "demo-keys"


def passphrase() -> str | None:
    return os.environ.get(PASSPHRASE_ENV) or None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "ledger"


def keys_dir(origin: str) -> Path:
    explicit = os.environ.get(KEYS_ENV)
    if explicit:
        return Path(explicit)
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "drledger" / "keys" / _slug(origin)


def key_path(origin: str, actor_id: str) -> Path:
    return keys_dir(origin) / f"{_slug(actor_id)}.pem"


def load_signer(origin: str, actor_id: str, key_file: Path | None = None) -> Signer:
    """The actor's own key: `key_file`, else `<keys folder>/<actor>.pem`."""
    path = key_file or key_path(origin, actor_id)
    try:
        return read_key_file(path, passphrase())
    except KeyFileError as error:
        if key_file is None and not path.exists():
            raise KeyFileError(f"no key for {actor_id!r}: give --key FILE, or put it at {path}"
                               f" (folder from {KEYS_ENV})") from None
        raise error
