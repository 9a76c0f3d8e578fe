"""The transparency log over HTTP as C2SP tlog-tiles (prefix /log/).

    GET /log/checkpoint                   the latest signed checkpoint with its cosignatures
    GET /log/tile/<L>/<N>[.p/<W>]         hash tiles (public)
    GET /log/tile/entries/<N>[.p/<W>]     entry bundles (bearer token of an auditor or discipline actor)

Full tiles never change, so they are served immutable; a partial tile is
superseded by a wider one as the log grows, so it is cached briefly only.
Paths and bytes: services/tiles.py; docs/transparency-log.md section 8.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from ledger.api.auth import bearer_actor
from ledger.api.errors import ApiError, ErrorBody, error_responses, log
from ledger.services.checkpoints import served_checkpoint
from ledger.services.tiles import TileNotFound, TilePathError, parse_tile_path, read_tile
from ledger.store.tree import TreeError

FEED_ROLES = ("auditor", "discipline")
IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
SHORT = "public, max-age=10"
CHECKPOINT_CACHE = "no-cache, max-age=0"


def _error(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description)


@get("/log/checkpoint", summary="Latest signed checkpoint (C2SP tlog-checkpoint) with witness cosignatures",
     tags=["log"], media_type="text/plain; charset=utf-8", sync_to_thread=True,
     responses={**error_responses(), 404: _error("no checkpoint has been published yet")})
def checkpoint(request: Request[Any, Any, Any]) -> Response[str]:
    note = served_checkpoint(request.app.state.config)
    if note is None:
        raise ApiError(404, "not_found", "no checkpoint has been published yet (drledger log publish)")
    return Response(note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": CHECKPOINT_CACHE})


@get("/log/tile/{tail:path}", summary="A hash tile or entry bundle (C2SP tlog-tiles, tile height 8)",
     tags=["log"], media_type="application/octet-stream", sync_to_thread=True,
     responses={**error_responses(), 400: _error("not a tile path as the spec spells it"),
                401: _error("entry bundles need a bearer token"),
                403: _error("entry bundles need the auditor or discipline role"),
                404: _error("the tree has no such tile (yet)")})
def tile(request: Request[Any, Any, Any], tail: FromPath[str]) -> Response[bytes]:
    # The router drops a trailing slash from `tail`; the spec's paths have none, so read the raw path.
    raw = (request.scope.get("raw_path") or b"").decode("latin-1")
    tail = raw.partition("/log/tile/")[2] if "/log/tile/" in raw else tail
    try:
        wanted = parse_tile_path(tail)
    except TilePathError as error:
        raise ApiError(400, "invalid", f"path: {error}") from None
    if wanted.level is None:
        bearer_actor(request, roles=FEED_ROLES)
    try:
        data = read_tile(request.app.state.config, wanted)
    except TileNotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except TreeError:
        log.exception("tile %s cannot be served", tail)
        raise ApiError(500, "internal", "the stored tree is damaged; the operator was told") from None
    if wanted.full:
        cache = IMMUTABLE if wanted.level is not None else PRIVATE_IMMUTABLE
    else:
        cache = SHORT if wanted.level is not None else "private, max-age=10"
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})


ROUTES = [checkpoint, tile]
