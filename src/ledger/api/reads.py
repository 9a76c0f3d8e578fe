"""GET endpoints: the CLI's queries over HTTP, JSON (msgspec Structs), calling services only.

Public (no token): the ledger's origin, items, plans, draw attempts, disclosed
results, public draw bundles, the checkpoint and proofs. Everything else
needs a bearer token the actor signed with its own key (api/auth.py).
Listings take `offset` and `limit` (at most 1000) and answer a `Page`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from ledger.api.app import on_writer
from ledger.api.auth import bearer_actor
from ledger.api.errors import ApiError, error_responses
from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.draw.spec import DrawOutcome
from ledger.domain.rows import DepartmentRow, EntityRow, InspectorRow, ItemRow
from ledger.services.actors import ActorInfo
from ledger.services.admin import LedgerStatus
from ledger.services.draws import DrawAttempt
from ledger.verify.draws import DrawReplay
from ledger.services.finding import PlanRow, TaskRow
from ledger.services.listing import LogEntry, StoredEventOut
from ledger.services.proposals import ProposalInfo
from ledger.services.reports import ConflictRow, OverdueRow, PublicResult, RefusedRow, TraceRow
from ledger.services.results import ResultView
from ledger.services.settings import SettingsInForce

T = TypeVar("T")
MAX_PAGE = 1000
MAX_POSITION = 2**62  # positions and sizes fit a 64-bit integer column (larger is 400, not a store error)

Req = Request[Any, Any, Any]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_POSITION, description="Rows to skip.")]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description=f"Rows to return (1..{MAX_PAGE}).")]
AsOf = Annotated[int | None, QueryParameter(ge=0, le=MAX_POSITION, description="The ledger position to read at (default: the head).")]
RiskClass = Literal["A", "B", "C", "D"]
PUBLIC = error_responses(400)
PRIVATE = error_responses(400, 401, 403)


class Page(msgspec.Struct, Generic[T], kw_only=True):
    total: int
    offset: int
    limit: int
    items: list[T]


def _page(rows: list[T], offset: int, limit: int) -> Page[T]:
    return Page(total=len(rows), offset=offset, limit=limit, items=rows[offset:offset + limit])


def _config(request: Req) -> Any:
    return request.app.state.config


def _one(rows: list[T], what: str, key: str) -> T:
    if not rows:
        raise ApiError(404, "not_found", f"no {what} {key!r}")
    return rows[0]


# -- the ledger ------------------------------------------------------------------------


class Origin(msgspec.Struct, kw_only=True):
    origin: str  # the audience of bearer tokens and the name of the log


@get("/api/v1/origin", summary="The ledger's origin (public)", tags=["ledger"], sync_to_thread=True,
     responses=PUBLIC)
def origin(request: Req) -> Origin:
    from ledger.services.ledger import ledger_origin

    state = request.app.state
    if state.get("origin") is None:
        state.origin = ledger_origin(state.config)
    return Origin(origin=state.origin)


@get("/api/v1/status", summary="Size, head hash and last signature", tags=["ledger"], sync_to_thread=True,
     responses=PRIVATE)
def status(request: Req) -> LedgerStatus:
    from ledger.services.admin import status as ledger_status

    bearer_actor(request)
    found = ledger_status(_config(request))
    return msgspec.structs.replace(found, store="")  # the store's address is the operator's business


@get("/api/v1/log", summary="Log entries by position (hashes and topics, no payloads)", tags=["ledger"],
     sync_to_thread=True, responses=PRIVATE)
def log_entries(request: Req, start: Annotated[int, QueryParameter(ge=1, le=MAX_POSITION, description="First position.")] = 1,
                limit: Limit = 100) -> Page[LogEntry]:
    from ledger.services.listing import log_page

    bearer_actor(request)
    rows, size = log_page(_config(request), start, limit)
    return Page(total=size, offset=start - 1, limit=limit, items=rows)


@get("/api/v1/checkpoint", summary="The latest checkpoint note with its cosignatures (public)", tags=["ledger"],
     sync_to_thread=True, media_type="text/plain; charset=utf-8", responses=error_responses(404))
def checkpoint(request: Req) -> str:
    from ledger.services.checkpoints import served_checkpoint

    note = served_checkpoint(_config(request))
    if note is None:
        raise ApiError(404, "not_found", "no checkpoint is published yet (drledger log publish)")
    return note


class InclusionProof(msgspec.Struct):
    leafIdx: int  # noqa: N815 (the shape of transparency-dev/merkle's testdata, as `drledger log prove`)
    treeSize: int  # noqa: N815
    root: str
    leafHash: str  # noqa: N815
    proof: list[str]


class ConsistencyProof(msgspec.Struct):
    size1: int
    size2: int
    root1: str
    root2: str
    proof: list[str]


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


def _proof_errors(call: Any) -> Any:
    from ledger.services.log import ProofRequestError

    try:
        return call()
    except ProofRequestError as error:
        raise ApiError(422, "invalid", str(error)) from None


@get("/api/v1/proofs/inclusion", summary="Inclusion proof of a leaf (public)", tags=["ledger"],
     sync_to_thread=True, responses=error_responses(400, 422))
def inclusion(request: Req, index: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION, description="Leaf index (position - 1).")],
              size: Annotated[int | None, QueryParameter(ge=1, le=MAX_POSITION)] = None) -> InclusionProof:
    from ledger.services.log import inclusion_proof

    b = _proof_errors(lambda: inclusion_proof(_config(request), index, size))
    return InclusionProof(leafIdx=b.index, treeSize=b.size, root=_b64(b.root), leafHash=_b64(b.leaf_hash),
                          proof=[_b64(p) for p in b.proof])


@get("/api/v1/proofs/consistency", summary="Consistency proof between two sizes (public)", tags=["ledger"],
     sync_to_thread=True, responses=error_responses(400, 422))
def consistency(request: Req, size1: Annotated[int, QueryParameter(ge=1, le=MAX_POSITION)],
                size2: Annotated[int | None, QueryParameter(ge=1, le=MAX_POSITION)] = None) -> ConsistencyProof:
    from ledger.services.log import consistency_proof

    b = _proof_errors(lambda: consistency_proof(_config(request), size1, size2))
    return ConsistencyProof(size1=b.size1, size2=b.size2, root1=_b64(b.root1), root2=_b64(b.root2),
                            proof=[_b64(p) for p in b.proof])


@get("/api/v1/aggregates/{aggregate_id:uuid}", summary="The stored events of one aggregate", tags=["ledger"],
     description="Exactly as stored (payloads are the hashed canonical bytes, base64), with their log positions:"
                 " a client rebuilds the aggregate with the same mapper (the `--server` CLI does).",
     sync_to_thread=True, responses=error_responses(400, 401, 403, 404))
def aggregate(request: Req, aggregate_id: FromPath[UUID]) -> list[StoredEventOut]:
    from ledger.services.listing import aggregate_events

    bearer_actor(request)
    found = aggregate_events(_config(request), aggregate_id)
    if not found:
        raise ApiError(404, "not_found", f"no aggregate {aggregate_id}")
    return found


# -- actors, departments, items, pools ----------------------------------------------------


@get("/api/v1/actors", summary="Registered actors", tags=["directory"], sync_to_thread=True, responses=PRIVATE)
def actors(request: Req, offset: Offset = 0, limit: Limit = 100) -> Page[ActorInfo]:
    from ledger.services.actors import list_actors

    bearer_actor(request)
    return _page(list_actors(_config(request)), offset, limit)


@get("/api/v1/actors/{actor_id:str}", summary="One actor", tags=["directory"], sync_to_thread=True,
     responses=error_responses(401, 403, 404))
def actor(request: Req, actor_id: FromPath[str]) -> ActorInfo:
    from ledger.services.actors import find_actor

    bearer_actor(request)
    found = find_actor(_config(request), actor_id)
    if found is None:
        raise ApiError(404, "not_found", f"no actor {actor_id[:80]!r}")
    return found


@get("/api/v1/departments", summary="Departments", tags=["directory"], sync_to_thread=True, responses=PRIVATE)
def departments(request: Req, as_of: AsOf = None, offset: Offset = 0, limit: Limit = 100) -> Page[DepartmentRow]:
    from ledger.services import pools

    bearer_actor(request)
    return _page(pools.departments(_config(request), as_of), offset, limit)


@get("/api/v1/items", summary="The inspection item list (public)", tags=["directory"], sync_to_thread=True,
     responses=PUBLIC)
def items(request: Req, as_of: AsOf = None, offset: Offset = 0, limit: Limit = 100) -> Page[ItemRow]:
    from ledger.services import pools

    return _page(pools.items(_config(request), as_of), offset, limit)


@get("/api/v1/pool/entities", summary="The target pool, with the CLI's filters", tags=["directory"],
     sync_to_thread=True, responses=PRIVATE)
def pool_entities(
    request: Req,
    risk_class: Annotated[list[RiskClass] | None, QueryParameter(description="Repeat for several.")] = None,
    region: Annotated[str | None, QueryParameter(max_length=12, description="Region code prefix.")] = None,
    entity_type: Annotated[list[Literal["enterprise", "individual", "cooperative", "other"]] | None,
                           QueryParameter(name="type")] = None,
    industry: Annotated[str | None, QueryParameter(max_length=8, description="Industry code prefix.")] = None,
    department: Annotated[str | None, QueryParameter(max_length=64)] = None,
    status: Annotated[list[Literal["active", "deregistered", "revoked", "moved"]] | None, QueryParameter()] = None,
    as_of: AsOf = None, offset: Offset = 0, limit: Limit = 100,
) -> Page[EntityRow]:
    from ledger.services import pools

    bearer_actor(request)
    f = EntityFilter(risk_classes=tuple(risk_class or ()), region_prefix=region or None,
                     entity_types=tuple(entity_type or ()), industry_prefix=industry or None,
                     department=department or None, statuses=tuple(status or ()))
    return _page(pools.entities(_config(request), f, as_of), offset, limit)


@get("/api/v1/pool/inspectors", summary="The inspector pool, with the CLI's filters", tags=["directory"],
     sync_to_thread=True, responses=PRIVATE)
def pool_inspectors(
    request: Req,
    department: Annotated[str | None, QueryParameter(max_length=64)] = None,
    region: Annotated[str | None, QueryParameter(max_length=12)] = None,
    role: FromQuery[Literal["enforcement", "expert"] | None] = None,
    qualification: Annotated[str | None, QueryParameter(max_length=64)] = None,
    status: Annotated[list[str] | None, QueryParameter()] = None,
    as_of: AsOf = None, offset: Offset = 0, limit: Limit = 100,
) -> Page[InspectorRow]:
    from ledger.services import pools

    bearer_actor(request)
    f = InspectorFilter(department=department or None, region_prefix=region or None, role=role,
                        qualification=qualification or None, statuses=tuple(status or ()))
    return _page(pools.inspectors(_config(request), f, as_of), offset, limit)


# -- plans, tasks, draws -------------------------------------------------------------------


@get("/api/v1/plans", summary="Yearly plans (public)", tags=["draws"], sync_to_thread=True, responses=PUBLIC)
def plans(request: Req, offset: Offset = 0, limit: Limit = 100) -> Page[PlanRow]:
    from ledger.services import finding

    return _page(finding.plans(_config(request)), offset, limit)


@get("/api/v1/plans/{plan_id:str}", summary="One plan (public)", tags=["draws"], sync_to_thread=True,
     responses=error_responses(404))
def plan(request: Req, plan_id: FromPath[str]) -> PlanRow:
    from ledger.services import finding

    return _one([p for p in finding.plans(_config(request)) if p.plan_id == plan_id], "plan", plan_id)


@get("/api/v1/tasks", summary="Inspection tasks", tags=["draws"], sync_to_thread=True, responses=PRIVATE)
def tasks(request: Req, plan: Annotated[str | None, QueryParameter(max_length=64)] = None,
          task_state: Annotated[Literal["created", "committed", "drawn", "voided"] | None,
                                QueryParameter(name="state")] = None,
          offset: Offset = 0, limit: Limit = 100) -> Page[TaskRow]:
    from ledger.services import finding

    bearer_actor(request)
    return _page(finding.tasks(_config(request), plan_id=plan, state=task_state), offset, limit)


@get("/api/v1/tasks/{task_id:str}", summary="One task", tags=["draws"], sync_to_thread=True,
     responses=error_responses(401, 403, 404))
def task(request: Req, task_id: FromPath[str]) -> TaskRow:
    from ledger.services import finding

    bearer_actor(request)
    return _one([t for t in finding.tasks(_config(request)) if t.task_id == task_id], "task", task_id)


@get("/api/v1/draws", summary="Every draw attempt: commitments, runs, voids, abandonments (public)",
     tags=["draws"], sync_to_thread=True, responses=PUBLIC)
def attempts(request: Req, task: Annotated[str | None, QueryParameter(max_length=64)] = None,
             offset: Offset = 0, limit: Limit = 100) -> Page[DrawAttempt]:
    from ledger.services.draws import draw_attempts

    return _page(draw_attempts(_config(request), task), offset, limit)


@get("/api/v1/draws/{task_id:str}/bundle", summary="A draw's bundle (public bundle without a token)",
     tags=["draws"], sync_to_thread=True, media_type="application/json", responses=error_responses(401, 403, 404))
def bundle(request: Req, task_id: FromPath[str], public: FromQuery[bool] = True) -> Response[bytes]:
    from ledger.services.bundles import BundleError, export_bundle

    if not public:
        bearer_actor(request, roles=("auditor", "admin", "reviewer", "drawer"))
    try:
        data = export_bundle(_config(request), task_id, public=public)
    except BundleError as error:
        raise ApiError(404, "not_found", str(error)) from None
    return Response(data, media_type="application/json")


@get("/api/v1/draws/{task_id:str}/replay", summary="A task's draws recomputed from the ledger's events",
     tags=["draws"], sync_to_thread=True, responses=error_responses(401, 403, 404))
def replay(request: Req, task_id: FromPath[str]) -> list[DrawReplay]:
    from ledger.services.draws import replay as replay_task

    bearer_actor(request)
    found = replay_task(_config(request), task_id)
    if not found:
        raise ApiError(404, "not_found", f"task {task_id[:64]!r} has no draw to replay")
    return found


@get("/api/v1/vkey", summary="The verifier key of the log's checkpoints (public)", tags=["ledger"],
     sync_to_thread=True, media_type="text/plain; charset=utf-8", responses=PUBLIC)
def vkey(request: Req) -> str:
    from ledger.services.checkpoints import verifier_key

    return verifier_key(_config(request)) + "\n"


@get("/api/v1/draws/{task_id:str}/membership/{uscc:str}", summary="A firm's pool membership proof",
     tags=["draws"], sync_to_thread=True, media_type="application/json", responses=error_responses(401, 403, 404))
def membership(request: Req, task_id: FromPath[str], uscc: FromPath[str]) -> Response[bytes]:
    from ledger.services.bundles import BundleError, prove_membership

    bearer_actor(request)
    try:
        return Response(prove_membership(_config(request), task_id, uscc), media_type="application/json")
    except BundleError as error:
        raise ApiError(404, "not_found", str(error)) from None


@get("/api/v1/draws/{task_id:str}/outcome", summary="The outcome a standing commitment leads to",
     tags=["draws"], responses=error_responses(400, 401, 403, 409, 422))
async def outcome(request: Req, task_id: FromPath[str],
            signature: Annotated[list[str], QueryParameter(description="Each named round's signature (hex).")]) -> DrawOutcome:
    from ledger.api.commands import refusal_status
    from ledger.domain.commands import Refusal
    from ledger.services.draws import outcome_of_commitment

    await to_thread.run_sync(lambda: bearer_actor(request))  # the registry is read from the store
    try:  # it reads through the writer's aggregates
        return await on_writer(request.app, lambda service: outcome_of_commitment(service, task_id, list(signature)))
    except Refusal as refusal:
        raise ApiError(refusal_status(refusal.code), refusal.code, refusal.message) from None


# -- results and reports -------------------------------------------------------------------


@get("/api/v1/results/public", summary="Disclosed results, inspectors masked (public)", tags=["results"],
     sync_to_thread=True, responses=PUBLIC)
def results_public(request: Req, task: Annotated[str | None, QueryParameter(max_length=64)] = None,
                   offset: Offset = 0, limit: Limit = 100) -> Page[PublicResult]:
    from ledger.services.reports import public_results

    return _page(public_results(_config(request), task), offset, limit)


@get("/api/v1/results/{task_id:str}/{uscc:str}", summary="A result as the ledger holds it", tags=["results"],
     responses=error_responses(401, 403, 404))
async def result(request: Req, task_id: FromPath[str], uscc: FromPath[str]) -> ResultView:
    from ledger.services.results import current

    await to_thread.run_sync(lambda: bearer_actor(request))  # the registry is read from the store
    found = await on_writer(request.app, lambda service: current(service, task_id, uscc))  # the writer's aggregates
    if found is None:
        raise ApiError(404, "not_found", f"no result for {uscc[:40]!r} in task {task_id[:64]!r}")
    return found


@get("/api/v1/reports/trace", summary="Everything about one target of one task", tags=["reports"],
     sync_to_thread=True, responses=PRIVATE)
def report_trace(request: Req, task: Annotated[str, QueryParameter(max_length=64)],
                 target: Annotated[str, QueryParameter(max_length=40, description="The target's USCC.")]) -> list[TraceRow]:
    from ledger.services.reports import trace

    bearer_actor(request)
    return trace(_config(request), task, target)


@get("/api/v1/reports/actor/{actor_id:str}", summary="Everything one actor did", tags=["reports"],
     sync_to_thread=True, responses=PRIVATE)
def report_actor(request: Req, actor_id: FromPath[str], offset: Offset = 0, limit: Limit = 100) -> Page[TraceRow]:
    from ledger.services.reports import actor_report

    bearer_actor(request)
    return _page(actor_report(_config(request), actor_id), offset, limit)


@get("/api/v1/reports/refused", summary="Refused commands", tags=["reports"], sync_to_thread=True,
     responses=PRIVATE)
def report_refused(request: Req, actor: Annotated[str | None, QueryParameter(max_length=120)] = None,
                   offset: Offset = 0, limit: Limit = 100) -> Page[RefusedRow]:
    from ledger.services.reports import refused

    bearer_actor(request)
    return _page(refused(_config(request), actor), offset, limit)


@get("/api/v1/reports/overdue", summary="Late or missing results and disclosures", tags=["reports"],
     sync_to_thread=True, responses=PRIVATE)
def report_overdue(request: Req, as_of: FromQuery[date | None] = None, offset: Offset = 0,
                   limit: Limit = 100) -> Page[OverdueRow]:
    from ledger.services.reports import overdue

    bearer_actor(request)
    return _page(overdue(_config(request), as_of), offset, limit)


@get("/api/v1/reports/conflicts", summary="Declared conflicts of interest", tags=["reports"],
     sync_to_thread=True, responses=PRIVATE)
def report_conflicts(request: Req, offset: Offset = 0, limit: Limit = 100) -> Page[ConflictRow]:
    from ledger.services.reports import conflicts

    bearer_actor(request)
    return _page(conflicts(_config(request)), offset, limit)


# -- proposals and settings ----------------------------------------------------------------


@get("/api/v1/proposals", summary="Guarded actions and their approvals", tags=["governance"],
     sync_to_thread=True, responses=PRIVATE)
def proposals(request: Req, offset: Offset = 0, limit: Limit = 100) -> Page[ProposalInfo]:
    from ledger.services.proposals import list_proposals

    bearer_actor(request)
    return _page(list_proposals(_config(request)), offset, limit)


@get("/api/v1/settings", summary="Settings in force", tags=["governance"], sync_to_thread=True,
     responses=PRIVATE)
def settings(request: Req) -> SettingsInForce:
    from ledger.services.settings import settings_in_force

    bearer_actor(request)
    return settings_in_force(_config(request))


ROUTES = [
    origin, status, log_entries, aggregate, checkpoint, inclusion, consistency, actors, actor, departments, items,
    pool_entities, pool_inspectors, plans, plan, tasks, task, attempts, bundle, replay, vkey, membership, outcome,
    results_public, result, report_trace, report_actor, report_refused, report_overdue, report_conflicts,
    proposals, settings,
]
