"""A ledger on a server: the same `submit` as `LedgerService`, over HTTP (`--server URL`).

    token = use_server("https://ledger.example")    # the CLI's --server / DRLEDGER_SERVER
    with open_ledger(config) as ledger:            # a RemoteLedger while a server is in use
        receipt = ledger.submit(signed)            # POST /api/v1/commands; CommandRefused as locally

The command is signed here, on the actor's machine, with the actor's own
key; the server only checks and decides it. What a command reads back after
its submission (a result as recorded, a task's items, an import's record,
a draw as recorded) is rebuilt here from the aggregate's stored events
(`GET /api/v1/aggregates/{id}`, with a short-lived token the same key signs),
through the same mapper as the store's, so the output is the local mode's.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import msgspec

from ledger.integrity.commands import SignedCommand
from ledger.integrity.keys import Signer
from ledger.services.processor import AttachmentSource, CommandRefused
from ledger.services.receipts import Receipt

SERVER_ENV = "DRLEDGER_SERVER"
TOKEN_TTL = 5 * 60

_server: ContextVar[str | None] = ContextVar("drledger_server", default=None)
_identity: ContextVar[tuple[Signer, str] | None] = ContextVar("drledger_identity", default=None)


class RemoteError(RuntimeError):
    """The server cannot be reached or answered something other than a receipt or a refusal."""


def use_server(url: str | None) -> None:
    """Send this thread's submissions to `url` (None: to the local store again)."""
    if url is not None and not url.startswith(("http://", "https://")):
        raise RemoteError(f"--server {url!r}: use an http:// or https:// URL")
    _server.set(url.rstrip("/") if url else None)
    _identity.set(None)


def remote_server() -> str | None:
    return _server.get()


def use_identity(signer: Signer, actor: str) -> None:
    """The actor whose key signs the bearer tokens of reads the CLI makes beside its command."""
    _identity.set((signer, actor))


class Submission(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `POST /api/v1/commands`: a signed command as its actor signed it (bytes in
    base64), and for `directory.import` and `directory.stage` the rows whose root its body pins."""

    command: bytes  # the canonical command bytes, exactly as signed
    signature: bytes  # Ed25519 over "drledger/command/v2\n" || command
    key_id: str
    rows: list[dict[str, Any]] | None = None

    @staticmethod
    def of(signed: SignedCommand, rows: list[Any] | None = None) -> Submission:
        return Submission(command=signed.command, signature=signed.signature, key_id=signed.key_id,
                          rows=msgspec.to_builtins(rows) if rows is not None else None)


def submission_bytes(signed: SignedCommand, rows: list[Any] | None = None) -> bytes:
    return msgspec.json.encode(Submission.of(signed, rows))


class _Error(msgspec.Struct):
    code: str = "internal"
    message: str = ""
    detail: Any = None


class _Origin(msgspec.Struct):
    origin: str


def _client(server: str, timeout: float) -> Any:
    import httpx

    return httpx.Client(base_url=server, timeout=timeout, headers={"user-agent": "drledger-cli"})


def _request(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    try:
        return client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise RemoteError(f"{client.base_url}: {error or type(error).__name__}") from None


def _failure(answer: Any) -> RemoteError:
    try:
        body = msgspec.json.decode(answer.content, type=_Error)
        detail = body.detail.get("message") if isinstance(body.detail, dict) else body.detail
        return RemoteError(f"server answered {answer.status_code} ({body.code}): {detail or body.message}")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return RemoteError(f"server answered {answer.status_code}")


_origins: dict[str, str] = {}


def remote_origin(server: str, timeout: float = 30) -> str:
    """The server's ledger origin (asked once per server and process)."""
    if server not in _origins:
        with _client(server, timeout) as client:
            answer = _request(client, "GET", "/api/v1/origin")
        if answer.status_code != 200:
            raise _failure(answer)
        _origins[server] = msgspec.json.decode(answer.content, type=_Origin).origin
    return _origins[server]


def bearer_token(signer: Signer, actor: str, origin: str, ttl: int = TOKEN_TTL) -> str:
    """The token api/auth.py checks: EdDSA JWT, sub = actor, aud = origin, at most 15 minutes."""
    import jwt

    issued = int(time.time())
    return jwt.encode({"sub": actor, "aud": origin, "iat": issued, "exp": issued + ttl}, signer.private_key,
                      algorithm="EdDSA")


class _Refused(msgspec.Struct):
    message: str = ""
    receipt: Receipt | None = None


class _RefusalBody(msgspec.Struct):
    code: str
    message: str = ""
    detail: _Refused | None = None


class RemoteLedger:
    """`LedgerService`'s surface over HTTP: submit, the aggregates a command reads back, preview."""

    remote = True

    def __init__(self, server: str, config: Any = None, *, timeout: float = 120) -> None:
        self.server = server.rstrip("/")
        self.config = config  # the local configuration; a remote ledger never reads it
        self.origin = remote_origin(self.server)
        self.client = _client(self.server, timeout)
        self.processor = _RemoteProcessor(self)

    def __enter__(self) -> RemoteLedger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- writes --------------------------------------------------------------------------

    def submit(self, signed: SignedCommand, attachment: Any = None,
               attachment_source: AttachmentSource | None = None) -> Receipt:
        """POST the signed bytes (the server reads a draw's inputs itself: `attachment_source` stays here)."""
        answer = self._post("/api/v1/commands", signed, attachment)
        if answer.status_code in (200, 201):
            return msgspec.json.decode(answer.content, type=Receipt)
        raise self._refusal(answer)

    def _post(self, path: str, signed: SignedCommand, rows: Any) -> Any:
        return _request(self.client, "POST", path, content=submission_bytes(signed, rows),
                        headers={"content-type": "application/json"})

    @staticmethod
    def _refusal(answer: Any) -> Exception:
        try:
            body = msgspec.json.decode(answer.content, type=_RefusalBody)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return _failure(answer)
        if body.detail is None or answer.status_code in (413, 429):
            return _failure(answer)
        return CommandRefused(body.code, body.detail.message, body.detail.receipt)

    def preview(self, signed: SignedCommand, attachment: Any = None) -> list[Any]:
        from ledger.domain.commands import Refusal

        answer = self._post("/api/v1/commands/preview", signed, attachment)
        if answer.status_code != 200:
            refused = self._refusal(answer)
            if isinstance(refused, CommandRefused):
                raise Refusal(refused.code, refused.message)
            raise refused
        return [_domain_event(e) for e in msgspec.json.decode(answer.content, type=list[_StoredEvent])]

    # -- reads ---------------------------------------------------------------------------

    def _token(self) -> str:
        identity = _identity.get()
        if identity is None:
            raise RemoteError("reading from the server needs the acting actor's key (--as ACTOR, --key FILE)")
        return bearer_token(identity[0], identity[1], self.origin)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET `path` with a bearer token; None for 404."""
        answer = _request(self.client, "GET", path, params=params,
                          headers={"authorization": f"Bearer {self._token()}"})
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise _failure(answer)
        return answer.content

    def events_of(self, aggregate_id: UUID) -> list[_StoredEvent]:
        content = self.get(f"/api/v1/aggregates/{aggregate_id}")
        return [] if content is None else msgspec.json.decode(content, type=list[_StoredEvent])

    def find(self, aggregate_id: UUID) -> Any:
        aggregate = None
        for stored in self.events_of(aggregate_id):
            aggregate = _domain_event(stored).mutate(aggregate)
        return aggregate

    def proposals(self) -> list[Any]:
        from ledger.services.proposals import ProposalInfo

        class Page(msgspec.Struct):
            items: list[ProposalInfo]

        content = self.get("/api/v1/proposals", {"limit": 1000})
        return [] if content is None else msgspec.json.decode(content, type=Page).items

    def recorded_draw(self, receipt: Receipt, task_id: str) -> Any:
        """The draw `receipt`'s transaction recorded (services/draws.py `recorded_draw`, from the task's events)."""
        from eventsourcing.utils import get_topic

        from ledger.domain.draws import Task
        from ledger.services.draws import DrawRecord, _Committed, _Drawn

        events = self.events_of(Task.create_id(task_id))
        drawn_at = next(e for e in events if e.topic == get_topic(Task.Drawn)
                        and e.position is not None and receipt.first <= e.position <= receipt.last)
        drawn = msgspec.json.decode(drawn_at.state, type=_Drawn)
        committed_at = next(e for e in events if e.position == drawn.position + 2)
        if committed_at.topic != get_topic(Task.Committed):
            raise RemoteError(f"the draw of {task_id} does not follow its commitment")
        committed = msgspec.json.decode(committed_at.state, type=_Committed)
        return DrawRecord(task_id=drawn.task_id, position=drawn.position, drawn_at=drawn_at.position, receipt=receipt,
                          pool_roots=committed.pool_roots, pool_root=committed.pool_root, counts=committed.counts,
                          seed=drawn.seed, targets=drawn.targets, teams=drawn.teams)


class _StoredEvent(msgspec.Struct):
    originator_id: str
    version: int
    topic: str
    state: bytes
    position: int | None = None


def _domain_event(stored: _StoredEvent) -> Any:
    from eventsourcing.persistence import StoredEvent

    from ledger.store.mapper import CanonicalMapper

    return CanonicalMapper().to_domain_event(
        StoredEvent(UUID(stored.originator_id), stored.version, stored.topic, stored.state))


class _RemoteApp:
    """The part of `LedgerApplication` the services read after a submission."""

    def __init__(self, ledger: RemoteLedger) -> None:
        self.ledger = ledger
        self.repository = self

    def find(self, aggregate_id: UUID, *, copy: bool = True) -> Any:
        return self.ledger.find(aggregate_id)

    def get(self, aggregate_id: UUID, **_: Any) -> Any:
        from eventsourcing.application import AggregateNotFoundError

        found = self.ledger.find(aggregate_id)
        if found is None:
            raise AggregateNotFoundError(aggregate_id)
        return found


class _RemoteProcessor:
    def __init__(self, ledger: RemoteLedger) -> None:
        self.app = _RemoteApp(ledger)
        self.preview = ledger.preview
