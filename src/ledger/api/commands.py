"""`POST /api/v1/commands`: a signed command in, the ledger's signed receipt out.

The body is the JSON of the actor's `SignedCommand` (integrity/commands.py),
exactly as signed on the actor's machine:

    {"command": base64(canonical command bytes), "signature": base64, "key_id": "..."}

An import (`directory.import`) adds `"rows"`: the canonical rows whose root
the signed body pins (the decision re-checks count, root and every row); so
does each chunk of a staged import (`directory.stage`), while its commit
(`directory.commit_staged`) travels without rows: the ledger reads the staged
chunks itself (services/staging.py). The
draw commands (`draw.commit`, `run`, `recuse`, `substitute`, `extend`) need no
attachment from the client: the ledger reads their inputs at its head
(services/draws.py `draw_inputs_source`), as it does for the CLI.

Answers: 201 and the receipt for a newly accepted command, 200 and the first
receipt again for a retry of the same bytes; a refusal answers with the error
body, `code` = the refusal code, `detail` = {"message", "receipt"} (the
refusal receipt, or null when the refusal record was suppressed). The
status of each refusal code is in `REFUSAL_STATUS` (documented in docs/api.md).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.params import JSONBody

from ledger.api.app import on_writer, submit_queued
from ledger.api.errors import ApiError, error_responses
from ledger.api.limits import limit
from ledger.domain.commands import COMMANDS, Refusal, claim_of
from ledger.domain.rows import ROW_TYPES
from ledger.integrity.commands import SignedCommand
from ledger.services.processor import CommandRefused, Entry, Outcome
from ledger.services.listing import StoredEventOut
from ledger.services.receipts import Receipt
from ledger.services.remote import Submission


# HTTP status of each refusal code; codes not listed: 422 if they name invalid
# or unknown input (invalid*, unknown_*), else 409 (the ledger's state refuses it).
REFUSAL_STATUS: dict[str, int] = {
    "unreadable": 400,
    "old_format": 400,
    "unknown_actor": 401,
    "revoked_actor": 401,
    "bad_signature": 401,
    "stale_command": 401,
    "key_not_yet_valid": 401,
    "missing_role": 403,
    "out_of_jurisdiction": 403,
    "badge_of_other_department": 403,
    "needs_approval": 403,
    "inspector_not_assigned": 403,
    "not_on_team": 403,
    "reused_nonce": 409,
    "inspector_without_department": 422,  # a missing field for the role, whoever signs
}


def refusal_status(code: str) -> int:
    if code in REFUSAL_STATUS:
        return REFUSAL_STATUS[code]
    if code.startswith(("invalid", "unknown_", "item_not_", "outside_", "beacon_", "calendar_")):
        return 422
    return 409


class RefusalDetail(msgspec.Struct, kw_only=True):
    message: str
    receipt: Receipt | None


def _attachment(name: str, body: Any, rows: list[dict[str, Any]] | None) -> Any:
    """The import's rows typed as their kind says (422 naming the row and field)."""
    if rows is None:
        return None
    spec = COMMANDS.get(name)
    if spec is None or not spec.attachment or name not in ("directory.import", "directory.stage"):
        raise ApiError(422, "invalid", f"rows: {name} takes no rows beside its signed body")
    kind = body.get("kind") if isinstance(body, dict) else None
    row_type = ROW_TYPES.get(kind) if isinstance(kind, str) else None  # type: ignore[call-overload]
    if row_type is None:
        raise ApiError(422, "invalid", f"rows: the signed body names no known import kind ({kind!r})")
    try:
        return msgspec.convert(rows, list[row_type])
    except msgspec.ValidationError as error:
        raise ApiError(422, "invalid", f"rows: {error}") from None


class _Claimed(msgspec.Struct):
    body: dict[str, Any] = {}


def _prepare(request: Request[Any, Any, Any], data: Submission) -> tuple[SignedCommand, str, Any]:
    """The signed command, its claimed name and its typed rows; the claimed actor's rate taken."""
    signed = SignedCommand(command=data.command, signature=data.signature, key_id=data.key_id)
    try:
        claim = claim_of(signed)
    except Refusal as refusal:  # not even an actor to record it against
        raise ApiError(400, refusal.code, f"command: {refusal.message}") from None
    limit(request, f"actor:{claim.actor}")
    try:
        body = msgspec.json.decode(signed.command, type=_Claimed).body
    except (msgspec.DecodeError, msgspec.ValidationError):
        body = {}
    return signed, claim.name, _attachment(claim.name, body, data.rows)


async def submit_signed(request: Request[Any, Any, Any], data: Submission) -> Response[Receipt]:
    signed, name, attachment = _prepare(request, data)
    spec = COMMANDS.get(name)
    reads_inputs = spec is not None and spec.attachment and name.startswith("draw.")

    def submit(service: Any) -> Outcome:
        source = None
        if reads_inputs:
            from ledger.services.draws import draw_inputs_source

            source = draw_inputs_source(service)
        elif name == "directory.commit_staged":  # the rows are the staged chunks', read here
            from ledger.services.staging import staged_rows_source

            source = staged_rows_source(service)
        return service.submit_batch([Entry(signed, attachment, source)])[0]  # type: ignore[no-any-return]

    if reads_inputs or name == "directory.commit_staged":  # its source needs the writer's service
        outcome = await on_writer(request.app, submit)
    else:
        outcome = await submit_queued(request.app, Entry(signed, attachment))
    if isinstance(outcome.error, CommandRefused):
        refused = outcome.error
        raise ApiError(refusal_status(refused.code), refused.code,
                       msgspec.to_builtins(RefusalDetail(message=refused.message, receipt=refused.receipt)),
                       message=f"命令被拒绝：{refused.code}") from None
    if outcome.error is not None:
        raise outcome.error
    return Response(outcome.receipt, status_code=200 if outcome.retried else 201)


@post(
    "/api/v1/commands",
    summary="Submit a signed command",
    description=(
        "The body is the actor's SignedCommand as JSON (bytes in base64), signed on the actor's machine;"
        " `rows` only for directory.import and directory.stage (a staged import's chunks). 201: accepted (the"
        " ledger's signed receipt); 200: a retry of the"
        " same bytes (the first receipt). A refusal answers with the error body: `code` is the refusal code,"
        " `detail.receipt` the signed refusal receipt. See docs/api.md for the status of each code."
    ),
    tags=["commands"],
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422, 429, extra={200: (Receipt, "A retry: the first receipt")}),
    operation_id="submitCommand",
)
async def submit_command(request: Request[Any, Any, Any], data: JSONBody[Submission]) -> Response[Receipt]:
    return await submit_signed(request, data)


def _preview(request: Request[Any, Any, Any], data: Submission) -> Any:
    signed, _, attachment = _prepare(request, data)

    def preview(service: Any) -> list[StoredEventOut]:
        mapper = service.processor.app.mapper
        events = service.processor.preview(signed, attachment)
        return [_stored(mapper.to_stored_event(e)) for e in events]

    return preview


def _stored(stored: Any) -> StoredEventOut:
    return StoredEventOut(originator_id=str(stored.originator_id), version=stored.originator_version,
                          topic=stored.topic, state=stored.state)


@post(
    "/api/v1/commands/preview",
    summary="The events a signed command would yield now, writing nothing",
    description=(
        "Authenticates and decides the command exactly as a submission would, then discards the result:"
        " nothing is written, not even a refusal record, and the nonce stays unused. The CLI uses it for"
        " `import --dry-run` and to skip imports that change nothing. Draw commands cannot be previewed."
    ),
    tags=["commands"],
    status_code=200,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    operation_id="previewCommand",
)
async def preview_command(request: Request[Any, Any, Any], data: JSONBody[Submission]) -> list[StoredEventOut]:
    work = _preview(request, data)
    try:
        return await on_writer(request.app, work)
    except Refusal as refusal:
        raise ApiError(refusal_status(refusal.code), refusal.code,
                       msgspec.to_builtins(RefusalDetail(message=refusal.message, receipt=None)),
                       message=f"命令将被拒绝：{refusal.code}") from None


ROUTES = [submit_command, preview_command]
__all__ = ["ROUTES", "Submission", "REFUSAL_STATUS", "refusal_status"]
