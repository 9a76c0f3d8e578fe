"""The one error body every API answer uses: {"code", "message", "detail"}.

`code` is stable (clients key on it; refusals keep the domain's refusal
codes), `message` is Chinese for the people reading it, `detail` says which
field or object and why, in English. No exception reaches a client as a
traceback: anything unexpected is logged server-side and answered as
`internal` without its text.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

log = logging.getLogger("drledger.api")


class ErrorBody(msgspec.Struct, kw_only=True):
    code: str
    message: str
    detail: Any = None


MESSAGES: dict[str, str] = {
    "invalid": "请求内容无效",
    "not_found": "未找到",
    "unauthorized": "需要有效的访问令牌",
    "forbidden": "无权执行此操作",
    "conflict": "与账本当前状态冲突",
    "too_large": "请求体过大",
    "rate_limited": "请求过于频繁，请稍后再试",
    "method_not_allowed": "不支持该请求方法",
    "internal": "服务器内部错误",
    "unavailable": "账本暂不可用",
}


class ApiError(Exception):
    """Raise from a handler: answered as `status` with the error body."""

    def __init__(self, status: int, code: str, detail: Any = None, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.headers = headers
        self.status = status
        self.code = code
        self.detail = detail
        self.message = message or MESSAGES.get(code, MESSAGES["invalid"])


def error_response(status: int, code: str, detail: Any = None, message: str | None = None,
                   headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    body = ErrorBody(code=code, message=message or MESSAGES.get(code, MESSAGES["invalid"]), detail=detail)
    return Response(body, status_code=status, headers=headers)


def _api_error(_: Request, exc: ApiError) -> Response[ErrorBody]:
    return error_response(exc.status, exc.code, exc.detail, exc.message, exc.headers)


_HTTP_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited"}


def _http_error(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code if exc.status_code < 500 else 500
    code = _HTTP_CODES.get(status, "internal" if status >= 500 else "invalid")
    detail: Any = exc.detail if status < 500 else None
    if isinstance(exc, ValidationException) and exc.extra:
        detail = exc.extra  # names the invalid field(s)
    if isinstance(exc, NotFoundException):
        detail = exc.detail
    if status == 413:
        limit = request.app.request_max_body_size
        detail = (f"the request body is larger than this server accepts ({limit} bytes, DRLEDGER_MAX_BODY);"
                  " split an import into several files")
    return error_response(status, code, detail)


def _unavailable(request: Request, exc: Exception) -> Response[ErrorBody]:
    """The store cannot be reached or holds no ledger: the operator's problem, said plainly."""
    log.error("store unavailable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "unavailable", "the ledger's store is not available; try again later")


def _unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal")


def _store_errors() -> dict[Any, Any]:
    import psycopg
    from eventsourcing.persistence import OperationalError

    from ledger.services.setup import SetupError
    from ledger.store.reader import StoreUnavailable

    return {StoreUnavailable: _unavailable, SetupError: _unavailable, OperationalError: _unavailable,
            psycopg.OperationalError: _unavailable}


def _query_error(_: Request, exc: Exception) -> Response[ErrorBody]:
    """services/queries.py QueryError: a question the ledger cannot answer (a position past the head,
    an unknown task), named as the CLI names it; an unknown object is 404, the rest 400."""
    text = str(exc).removeprefix("--")
    return error_response(404 if text.startswith("unknown") else 400, "not_found" if text.startswith("unknown")
                          else "invalid", text)


def _query_errors() -> dict[Any, Any]:
    from ledger.services.queries import QueryError

    return {QueryError: _query_error}


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    **_query_errors(),
    HTTPException: _http_error,
    **_store_errors(),
    Exception: _unexpected,
}


_STATUS_TEXT = {400: "Bad request: the named field is invalid", 401: "No valid bearer token or signature",
                403: "The actor may not do this", 404: "No such object", 409: "Conflicts with the ledger's state",
                413: "The request body is too large", 422: "A field is invalid (named in detail)",
                503: "The ledger's store is not available",
                429: "Too many requests: slow down", 500: "Internal error (no details)"}


def error_responses(*statuses: int, extra: dict[int, tuple[Any, str]] | None = None) -> dict[int, Any]:
    """OpenAPI `responses=` for a handler: each status answered with the error body (and `extra` bodies)."""
    from litestar.openapi.datastructures import ResponseSpec

    specs: dict[int, Any] = {s: ResponseSpec(data_container=ErrorBody, description=_STATUS_TEXT.get(s, "Error"))
                             for s in (*statuses, 400, 429, 500, 503)}
    for status, (container, description) in (extra or {}).items():
        specs[status] = ResponseSpec(data_container=container, description=description)
    return specs
