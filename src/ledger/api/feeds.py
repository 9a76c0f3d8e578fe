"""Feeds over HTTP (services/feeds.py says what they hold).

    GET /api/v1/feeds/ledger?since=N&limit=M      JSON page of whole signed transactions
                                                  (bearer token: auditor or discipline)
    GET /api/v1/feeds/disclosed?since=N&limit=M   NDJSON, public: disclosed results

Consumers: docs/auditors.md (the mirror) and docs/publicity-feed.md (国家企业信用信息公示系统).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from ledger.api.auth import bearer_actor
from ledger.api.errors import ApiError, ErrorBody, error_responses
from ledger.services.feeds import DEFAULT_LIMIT, MAX_LIMIT, FeedError, LedgerPage, disclosed_since, ledger_page

FEED_ROLES = ("auditor", "discipline")
NDJSON = "application/x-ndjson"

Since = Annotated[int, Parameter(ge=0, description="the last position already read (0: from the start)")]
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="at most this many events (or lines)")]


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    what = {400: "a parameter is invalid (detail names it)", 401: "no valid bearer token",
            403: "the token's actor is neither auditor nor discipline"}
    return {**error_responses(), **{code: ResponseSpec(data_container=ErrorBody, description=what[code]) for code in codes}}


@get("/api/v1/feeds/ledger", summary="The full ledger after a position, in whole signed transactions",
     tags=["feeds"], sync_to_thread=True, responses=_errors(400, 401, 403))
def ledger_feed(request: Request[Any, Any, Any], since: Since = 0, limit: Limit = DEFAULT_LIMIT) -> LedgerPage:
    bearer_actor(request, roles=FEED_ROLES)
    try:
        return ledger_page(request.app.state.config, since, limit)
    except FeedError as error:
        raise ApiError(400, "invalid", str(error)) from None


@get("/api/v1/feeds/disclosed", summary="Disclosed results after a position (NDJSON, public)",
     tags=["feeds"], media_type=NDJSON, sync_to_thread=True, responses=_errors(400))
def disclosed_feed(request: Request[Any, Any, Any], since: Since = 0, limit: Limit = DEFAULT_LIMIT) -> Response[bytes]:
    try:
        lines = disclosed_since(request.app.state.config, since, limit)
    except FeedError as error:
        raise ApiError(400, "invalid", str(error)) from None
    body = b"".join(msgspec.json.encode(line) + b"\n" for line in lines)
    return Response(body, media_type=NDJSON, headers={"Cache-Control": "no-cache"})


ROUTES = [ledger_feed, disclosed_feed]
