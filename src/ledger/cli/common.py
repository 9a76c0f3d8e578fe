"""What every drledger command shares: store options and clear failures."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

EXIT_FAILED_CHECK = 1
EXIT_ERROR = 2


def store_options(function: F) -> F:
    function = click.option(
        "--home",
        envvar="DRLEDGER_HOME",
        default="data",
        show_default=True,
        help="Folder with the SQLite file and the key files [env DRLEDGER_HOME].",
    )(function)
    function = click.option(
        "--store",
        envvar="DRLEDGER_STORE",
        default=None,
        help="sqlite:///path or postgresql://user[:password]@host[:port]/db[?schema=s] [env DRLEDGER_STORE].",
    )(function)
    return function


def _use_server(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    from ledger.services.remote import RemoteError, use_server

    try:
        use_server(value or None)
    except RemoteError as error:
        raise click.BadParameter(str(error), param_hint="--server") from None
    ctx.call_on_close(lambda: use_server(None))


def actor_options(function: F) -> F:
    """`--as ACTOR` and `--key FILE`: who signs, with which of its own keys;
    `--server URL`: submit to a drledger server instead of the local store."""
    function = click.option(
        "--server", envvar="DRLEDGER_SERVER", default=None, metavar="URL", expose_value=False,
        callback=_use_server, is_eager=True,
        help="Sign here, submit to this drledger server (e.g. https://ledger.example) [env DRLEDGER_SERVER].",
    )(function)
    function = click.option(
        "--key", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="The acting actor's own key file [default: <DRLEDGER_KEYS>/<ACTOR>.pem].",
    )(function)
    function = click.option(
        "--as", "as_actor", envvar="DRLEDGER_ACTOR", required=True, metavar="ACTOR",
        help="The registered actor who signs this command [env DRLEDGER_ACTOR].",
    )(function)
    return function


def signer_for(config: Any, actor: str, key: Path | None):  # -> Signer
    """The actor's own key (never a key the ledger's HOME holds for it)."""
    from ledger.services.keys import load_signer
    from ledger.services.ledger import ledger_origin
    from ledger.services.remote import remote_server, use_identity

    signer = load_signer(ledger_origin(config), actor, key)
    if remote_server() is not None:
        use_identity(signer, actor)  # signs the tokens of what the command reads back
    return signer


def submit(store: str | None, home: str, as_actor: str, key: Path | None, act: Callable[[Any, Any], T],
           receipt_out: Path | None = None) -> T:
    """Load the acting actor's own key, open the ledger and run `act(ledger, signer)`, which signs and
    submits a command; with `receipt_out`, save the receipt `act` returns there (`--receipt FILE`)."""
    from ledger.cli.receipts import keep_receipt
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        done = act(ledger, signer)
    keep_receipt(receipt_out, done)
    return done


def config_from(store: str | None, home: str):  # -> StoreConfig
    from ledger.store.config import resolve_store

    return resolve_store(store, home)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"drledger: error: {shorten_words(message)}", err=True)
    sys.exit(code)


def shorten_words(message: str, limit: int = 120) -> str:
    """A long unbroken value (an ID, a code, a path someone pasted) is cut, never echoed in full.

    >>> shorten_words("unknown task " + "X" * 500).endswith("(500 characters)")
    True
    """
    import re

    from ledger.domain.commands import short

    return re.sub(r"\S{%d,}" % (limit + 1), lambda m: short(m.group(), 80), message)


def clear_errors(function: F) -> F:
    """Turn every expected failure into one line on stderr and a non-zero exit."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import psycopg
        from eventsourcing.persistence import PersistenceError

        from ledger.domain.commands import Refusal
        from ledger.integrity.keys import KeyFileError
        from ledger.services.processor import CommandRefused
        from ledger.services.queries import QueryError
        from ledger.services.remote import RemoteError
        from ledger.services.setup import SetupError
        from ledger.store.config import StoreConfigError
        from ledger.store.reader import StoreUnavailable

        try:
            return function(*args, **kwargs)
        except CommandRefused as error:
            fail(f"refused ({error.code}): {error.message}", EXIT_FAILED_CHECK)
        except (StoreUnavailable, StoreConfigError, KeyFileError, SetupError, Refusal, QueryError,
                RemoteError) as error:
            fail(str(error))
        except BrokenPipeError:
            # The reader went away (`drledger pool entities | head`): end quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_FAILED_CHECK)
        except sqlite3.DatabaseError as error:
            fail(f"the SQLite store cannot be used: {error}")
        except psycopg.Error as error:
            fail(f"PostgreSQL: {_first_line(error)}")
        except PersistenceError as error:
            fail(f"the store failed: {_first_line(error)}")
        except OSError as error:
            fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))

    return wrapper  # type: ignore[return-value]


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
