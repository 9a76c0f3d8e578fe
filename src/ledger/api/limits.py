"""Per-caller rate limits and the access log (one structured line per request, no secrets).

Rate limits are token buckets kept per worker process, keyed by the caller:
the actor a bearer token names, the actor a submitted command claims, or the
client address for anonymous reads. Set `DRLEDGER_RATE` (requests per
second, default 50; 0 turns limits off) and `DRLEDGER_BURST` (default 100).
An exhausted bucket answers 429 with the error body and `Retry-After`.

The access log (logger `drledger.access`) writes one JSON object per
request: method, path (never the query string's values or the body), status,
duration, client address and the caller's key. The Authorization header and
the body never reach it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import ApiError

access_log = logging.getLogger("drledger.access")


@dataclass
class RateLimiter:
    rate: float  # tokens per second (0: no limit)
    burst: float
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_env(cls) -> RateLimiter:
        rate = float(os.environ.get("DRLEDGER_RATE", "50"))
        return cls(rate=rate, burst=float(os.environ.get("DRLEDGER_BURST", str(max(rate * 2, 1)))))

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed; else the seconds until a token is back."""
        if self.rate <= 0:
            return 0.0
        moment = time.monotonic() if now is None else now
        with self.lock:
            tokens, at = self.buckets.get(key, (self.burst, moment))
            tokens = min(self.burst, tokens + (moment - at) * self.rate)
            if tokens < 1:
                self.buckets[key] = (tokens, moment)
                return (1 - tokens) / self.rate
            self.buckets[key] = (tokens - 1, moment)
            if len(self.buckets) > 100_000:  # forget idle callers rather than grow without bound
                self.buckets.clear()
            return 0.0


def _limiter(request: Request[Any, Any, Any]) -> RateLimiter:
    state = request.app.state
    found = state.get("rate_limiter")
    if found is None:
        found = state.rate_limiter = RateLimiter.from_env()
    return found  # type: ignore[no-any-return]


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


def caller_key(scope: Scope) -> str:
    """The bearer token's subject (unverified: it only picks the bucket) or the client address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                try:
                    subject = jwt.decode(token.strip(), options={"verify_signature": False}).get("sub")
                except jwt.PyJWTError:
                    subject = None
                if isinstance(subject, str) and subject:
                    return f"actor:{subject[:120]}"
    return f"ip:{client_address(scope)}"


def limit(request: Request[Any, Any, Any], key: str) -> None:
    """Take one request from `key`'s bucket (429 when it is empty)."""
    request.scope.setdefault("state", {})["caller"] = key
    wait = _limiter(request).take(key)
    if wait > 0:
        raise ApiError(429, "rate_limited", f"too many requests from {key}; retry in {wait:.1f} s",
                       headers={"Retry-After": str(max(1, round(wait)))})


async def before_request(request: Request[Any, Any, Any]) -> None:
    """Reads are limited by caller here; a command is limited by its claimed actor (api/commands.py)."""
    if request.method != "POST":
        limit(request, caller_key(request.scope))


def access_log_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                state = scope.get("state") or {}
                access_log.info(json.dumps({
                    "method": scope.get("method"), "path": scope.get("path"), "status": status[0],
                    "ms": round((time.perf_counter() - started) * 1000, 2), "client": client_address(scope),
                    "caller": state.get("caller") or caller_key(scope),
                }, ensure_ascii=False))

    return middleware
