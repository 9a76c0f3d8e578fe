"""An auditor's mirror: pull the ledger feed, append the exact rows, verify.

    result = mirror(local_config, "https://ledger.example", "AUD-1", signer)

1. The served checkpoint (/log/checkpoint) is read first: the pull goes at
   least up to its size.
2. Pages of whole signed transactions (/api/v1/feeds/ledger) are pulled from
   where the copy ends. Before anything is written, each page is checked
   against the copy, incrementally: it starts right after the copy's head,
   every event hash recomputes from the previous hash and the stored bytes,
   the transactions cover the page exactly, and each transaction's ledger
   signature verifies with the ledger key in force there (the key history
   is the copy's plus the page's). Then the rows are appended unchanged
   (store/raw_copy.py), in one transaction per page.
3. The served checkpoint must be signed by the ledger key in force at its
   size and carry the copy's root at that size (else the server shows the
   tiles' readers another tree than the one it feeds us); it is kept.
4. `verify` runs over the copy, incrementally: the copy keeps how far it
   was verified (its mark: size, head hash, last checkpoint size), and if
   its chain still holds that head, only what follows is checked (ledger
   signatures, re-execution of the new commands on the state folded from
   the verified events, new tree nodes and checkpoints, every hash still
   recomputed: verify/ledger_check.py `resume`); otherwise, or on the first
   pull, the whole copy. If it fails, every row this call appended is
   removed again and the call is refused: the copy is left as it was; if
   it holds, the mark moves to the new head.

A second call fetches only what is new. Nothing is appended if a page does
not chain onto the copy's head, or fails a check.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import msgspec

from ledger.integrity.canonical import rfc3339, utc_now
from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message
from ledger.integrity.keys import Signer, key_id, verify_signature
from ledger.integrity.note import NoteError, open_checkpoint
from ledger.services.feeds import FeedTransaction, LedgerPage, raw_rows, transaction_rows
from ledger.store.config import StoreConfig
from ledger.store.connection import StoreUnavailable
from ledger.store.log_reader import LogReader
from ledger.store.checkpoints import latest_checkpoint
from ledger.store.raw_copy import CopyConflict, append_rows, insert_checkpoint_note, read_mark, save_mark, truncate
from ledger.store.reader import ChainRow, open_reader
from ledger.verify.keys import LEDGER_KEY_TOPICS, KeyProblem, LedgerKeySchedule
from ledger.verify.ledger_check import PARALLEL_FROM, VerifiedMark, mark_holds, verify_ledger
from ledger.verify.log_check import log_verifier

__all__ = ["MirrorRefused", "MirrorResult", "MirrorUnavailable", "mirror"]

PAGE_EVENTS = 1000


class MirrorRefused(Exception):
    """The server's answer cannot be appended to the copy (the copy is unchanged)."""


class MirrorUnavailable(MirrorRefused):
    """The server cannot be reached (nothing was checked; the copy is unchanged)."""


class _CopyMoved(MirrorRefused):
    """Another writer appended to the copy meanwhile: its rows are not this call's to undo."""


class MirrorResult(msgspec.Struct, kw_only=True):
    origin: str
    store: str
    before: int  # the copy's size before this call
    size: int  # and after it
    transactions: int  # fetched and appended
    checkpoint: int | None  # size of the served checkpoint checked and kept (None: none published)
    verified: bool
    problems: list[str] = []
    verified_from: int = 0  # positions up to here were verified by an earlier pull: only the rest was checked
    signatures: int = 0  # ledger signatures checked by this call
    reexecuted: int = 0  # commands re-executed and refusals re-checked by this call


def _local_state(config: StoreConfig) -> tuple[int, bytes, list[ChainRow]] | None:
    """(size, head hash, ledger key events) of the copy; None if it holds no ledger yet."""
    try:
        reader = open_reader(config)
    except StoreUnavailable as error:
        if "holds no ledger" not in str(error) and "no ledger at" not in str(error):
            raise
        return None
    with reader:
        head = reader.head()
        keys = reader.events_with_topics(LEDGER_KEY_TOPICS) if head else []
    return (head[0], head[1], keys) if head else (0, GENESIS_PREV, [])


def _create_tables(config: StoreConfig) -> None:
    from ledger.store.application import LedgerApplication

    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        config.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    LedgerApplication(config, create_tables=True).close()


def _schedule(key_events: list[ChainRow]) -> LedgerKeySchedule:
    try:
        return LedgerKeySchedule.from_events(key_events)
    except KeyProblem as problem:
        raise MirrorRefused(f"position {problem.position}: {problem.what}") from None


def check_page(transactions: list[FeedTransaction], size: int, head: bytes,
               key_events: list[ChainRow]) -> tuple[bytes, list[ChainRow]]:
    """The incremental checks of one page against the copy's head; (new head hash, key events)."""
    prev, expected = head, size + 1
    keys = list(key_events)
    for tx in transactions:
        if tx.first != expected or tx.last < tx.first:
            raise MirrorRefused(f"transaction {tx.first}-{tx.last} does not follow position {expected - 1}:"
                                " the server's rows do not chain onto this copy")
        if [e.position for e in tx.events] != list(range(tx.first, tx.last + 1)):
            raise MirrorRefused(f"transaction {tx.first}-{tx.last}: its events are not positions {tx.first}-{tx.last}")
        for e in tx.events:
            computed = event_hash(prev, e.position, e.originator_id, e.originator_version, e.topic, e.state)
            if computed != e.hash:
                raise MirrorRefused(f"position {e.position}: the hash does not match the event's bytes and the"
                                    " previous hash (the rows were altered, or do not chain onto this copy)")
            prev = computed
            if e.topic in LEDGER_KEY_TOPICS:
                keys.append(ChainRow(e.position, e.hash, e.originator_id, e.originator_version, e.topic, e.state))
        schedule = _schedule(keys)
        key = schedule.key_for(tx.first)
        if tx.key_id != key_id(key) or not verify_signature(
                key, tx.signature, transaction_message(tx.first, tx.last, prev, tx.signed_at_us)):
            raise MirrorRefused(f"positions {tx.first}-{tx.last}: the ledger signature does not verify with the"
                                f" ledger key in force ({key_id(key)})")
        expected = tx.last + 1
    return prev, keys


def _split_served(note: str, origin: str) -> tuple[str, list[str]]:
    """The ledger-signed note and the cosignature lines served after its signature."""
    text, sep, rest = note.partition("\n\n")
    lines = rest.splitlines()
    if not sep or not lines:
        raise MirrorRefused("the served checkpoint is not a signed note")
    ours = [line for line in lines if line.startswith(f"\u2014 {origin} ")]
    if not ours:
        raise MirrorRefused(f"the served checkpoint carries no signature line of {origin!r}")
    return f"{text}\n\n{ours[0]}\n", [line for line in lines if line != ours[0]]


def mirror(config: StoreConfig, server: str, actor: str, signer: Signer, *, origin: str | None = None,
           page_events: int = PAGE_EVENTS, trusted_key: bytes | None = None, http: Any = None,
           on_progress: Callable[[str], None] | None = None) -> MirrorResult:
    """Bring the copy at `config` up to the ledger served at `server` (rules in the module doc)."""
    import httpx

    client = http or httpx.Client(timeout=60)
    try:
        return _pull(config, server, actor, signer, origin, page_events, trusted_key, client,
                     on_progress or (lambda _: None))
    finally:
        if http is None:
            client.close()


def _pull(config: StoreConfig, server: str, actor: str, signer: Signer, origin: str | None, page_events: int,
          trusted_key: bytes | None, client: Any, say: Callable[[str], None]) -> MirrorResult:
    base = server.rstrip("/")
    state = _local_state(config)
    created = state is not None
    size, head, key_events = state or (0, GENESIS_PREV, [])
    before = size
    local_origin = _schedule(key_events).origin if key_events else None
    if local_origin and origin and origin != local_origin:
        raise MirrorRefused(f"this copy is of ledger {local_origin!r}, not {origin!r}")

    answer = _get(client, f"{base}/log/checkpoint")
    served_note = answer.text if answer.status_code == 200 else None
    if answer.status_code not in (200, 404):
        raise MirrorRefused(f"{base}/log/checkpoint answered {answer.status_code}")
    origin = local_origin or origin or (served_note.split("\n", 1)[0] if served_note else None)
    if not origin:
        raise MirrorRefused("the server has published no checkpoint yet: give the ledger's origin (--origin)")
    served_size = _served_size(served_note)

    try:
        size, head, fetched = _pull_pages(config, base, actor, signer, origin, page_events, client, say,
                                          (size, head, key_events), served_size, created)
        checkpoint = _keep_checkpoint(config, served_note, origin) if served_note else None
        if checkpoint is not None:
            say(f"checkpoint at size {checkpoint}: signed by the ledger key, same root as this copy")
        resume = _mark(config, say)
        say(f"verifying positions {resume.size + 1}-{size} (verified up to {resume.size} before) ..." if resume
            else f"verifying the copy ({size} events) ...")
        # A second process costs more than it saves on a small copy (verify's own threshold).
        report = verify_ledger(config, trusted_key=trusted_key, workers=1 if size < PARALLEL_FROM else None,
                               resume=resume)
    except _CopyMoved:
        raise
    except BaseException:
        _undo(config, before)
        raise
    if not report.ok:
        _undo(config, before)
        problems = [f"position {p.position}: {p.what}" if p.position else p.what for p in report.problems]
        raise MirrorRefused(f"the pulled rows fail verification, nothing was kept: {problems[0]}")
    with open_reader(config) as reader:
        latest = latest_checkpoint(reader)
    save_mark(config, report.size, bytes.fromhex(report.head), latest.size if latest else 0, rfc3339(utc_now()))
    reexecuted = report.checks["commands_reexecuted"] + report.checks["refusals_rechecked"]
    say(f"verified: {report.signatures_checked} ledger signatures, {report.actor_signatures_checked} actor signatures")
    return MirrorResult(origin=origin, store=config.display, before=before, size=size, transactions=fetched,
                        checkpoint=checkpoint, verified=True, verified_from=report.resumed_from,
                        signatures=report.signatures_checked, reexecuted=reexecuted)


def _mark(config: StoreConfig, say: Callable[[str], None]) -> VerifiedMark | None:
    """Where the copy's last verify ended, if its chain still holds that head."""
    with open_reader(config) as reader:
        found = read_mark(reader)
        mark = VerifiedMark(*found) if found else None
        if mark is None or mark_holds(reader, mark):
            return mark
    say(f"the copy no longer holds the head it was verified at (position {mark.size}): it changed below it;"
        " verifying the whole copy")
    return None


def _undo(config: StoreConfig, before: int) -> None:
    """Remove whatever this call appended (nothing to do if the copy was never created)."""
    if _local_state(config) is not None:
        truncate(config, before)


def _pull_pages(config: StoreConfig, base: str, actor: str, signer: Signer, origin: str, page_events: int,
                client: Any, say: Callable[[str], None], state: tuple[int, bytes, list[ChainRow]], served_size: int,
                created: bool) -> tuple[int, bytes, int]:
    """Append checked pages until the size the server had when the pull began; (size, head, transactions)."""
    from ledger.api.auth import make_token

    size, head, key_events = state
    fetched, target = 0, served_size
    while True:
        token = make_token(signer, actor, origin)
        answer = _get(client, f"{base}/api/v1/feeds/ledger", params={"since": size, "limit": page_events},
                      headers={"Authorization": f"Bearer {token}"})
        if answer.status_code == 400:
            raise MirrorRefused(f"the server's ledger does not continue this copy at position {size}"
                                f" (its feed answered {_detail(answer)})")
        if answer.status_code != 200:
            raise MirrorRefused(f"the ledger feed answered {answer.status_code}: {_detail(answer)}")
        try:
            page = msgspec.json.decode(answer.content, type=LedgerPage)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise MirrorRefused(f"the ledger feed's answer is not a feed page: {error}") from None
        if page.origin != origin:
            raise MirrorRefused(f"the server serves ledger {page.origin!r}, not {origin!r}")
        if not page.transactions:
            if size < served_size:
                raise MirrorRefused(f"the server's checkpoint has size {served_size} but its feed ends at {size}")
            return size, head, fetched
        target = max(target, page.size) if fetched == 0 else target
        new_head, key_events = check_page(page.transactions, size, head, key_events)
        if not created:  # the copy's tables, made only once there is something to keep
            _create_tables(config)
            created = True
        try:
            append_rows(config, [transaction_rows(tx) for tx in page.transactions],
                        [row for tx in page.transactions for row in raw_rows(tx)], (size, head))
        except CopyConflict as error:
            raise _CopyMoved(f"the copy changed during the pull (run one mirror at a time): {error}") from None
        size, head = page.transactions[-1].last, new_head
        fetched += len(page.transactions)
        say(f"appended positions {page.since + 1}-{size} ({len(page.transactions)} transactions;"
            f" the server has {page.size})")
        if size >= target:  # what the server held when the pull began: a busy server is not chased forever
            return size, head, fetched


def _served_size(note: str | None) -> int:
    if note is None:
        return 0
    lines = note.split("\n")
    return int(lines[1]) if len(lines) > 2 and lines[1].isdigit() else 0


def _keep_checkpoint(config: StoreConfig, served: str, origin: str) -> int:
    """Check the served checkpoint against the copy and keep the ledger-signed note; its size."""
    note, _cosignatures = _split_served(served, origin)
    with open_reader(config) as reader:
        schedule = _schedule(reader.events_with_topics(LEDGER_KEY_TOPICS))
        try:
            checkpoint = open_checkpoint(note, log_verifier(schedule, _served_size(note)))[0]
        except NoteError as error:
            raise MirrorRefused(f"the served checkpoint does not verify with the ledger key: {error}") from None
        if checkpoint.size > reader.size():
            raise MirrorRefused(f"the served checkpoint has size {checkpoint.size}, beyond the feed's {reader.size()}")
        root = LogReader(reader).root(checkpoint.size)
    if root != checkpoint.root:
        raise MirrorRefused(f"the served checkpoint at size {checkpoint.size} has root"
                            f" {base64.b64encode(checkpoint.root).decode()}, but the rows fed to this copy give"
                            f" {base64.b64encode(root).decode()}: the server shows two different logs")
    insert_checkpoint_note(config, checkpoint.size, note, rfc3339(utc_now()))
    return checkpoint.size


def _get(client: Any, url: str, **kwargs: Any) -> Any:
    import httpx

    try:
        return client.get(url, **kwargs)
    except httpx.HTTPError as error:
        raise MirrorUnavailable(f"cannot reach {url}: {error}") from None


def _detail(answer: Any) -> str:
    try:
        body = answer.json()
        return f"{body.get('code')}: {body.get('detail')}"
    except ValueError:
        return answer.text[:200]
