"""Bearer tokens an actor signs with its own key: no shared secret on the server.

A token is a JWT signed with `EdDSA` (the actor's Ed25519 key): `sub` is the
actor, `aud` the ledger origin, `iat`/`exp` at most 15 minutes apart. The
server checks it against the actor registry (key in force, not revoked), so a
rotated or revoked key stops working at once.

    token = make_token(signer, "JX-0001", origin)       # on the actor's machine
    actor = bearer_actor(request, roles=("auditor",))   # in a handler
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Request

from ledger.api.errors import ApiError
from ledger.integrity.keys import Signer
from ledger.services.actors import ActorInfo, actor_with_key

MAX_LIFETIME = 15 * 60  # seconds
LEEWAY = 30  # seconds of clock skew accepted on iat/exp


def make_token(signer: Signer, actor_id: str, origin: str, *, ttl: int = 10 * 60, now: float | None = None) -> str:
    """A bearer token for `actor_id`, valid `ttl` seconds (at most 15 minutes)."""
    if not 0 < ttl <= MAX_LIFETIME:
        raise ValueError(f"a token lives 1..{MAX_LIFETIME} seconds, not {ttl}")
    issued = int(now if now is not None else time.time())
    claims = {"sub": actor_id, "aud": origin, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, signer.private_key, algorithm="EdDSA")


def _unverified_subject(token: str) -> str:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ApiError(401, "unauthorized", "the bearer token is not a readable JWT") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise ApiError(401, "unauthorized", "the token names no actor (sub)")
    return subject


def check_token(token: str, config: Any, origin: str, *, now: float | None = None) -> ActorInfo:
    """The actor a token was signed by, once key, audience, lifetime and registry check out."""
    subject = _unverified_subject(token)
    found = actor_with_key(config, subject)
    if found is None:
        raise ApiError(401, "unauthorized", f"unknown actor {subject[:80]!r}")
    actor, public_key = found
    if actor.revoked or public_key is None:
        raise ApiError(401, "unauthorized", f"actor {subject!r} is revoked")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "EdDSA":
            raise ApiError(401, "unauthorized", "the token must be signed with EdDSA")
        claims = jwt.decode(
            token, Ed25519PublicKey.from_public_bytes(public_key), algorithms=["EdDSA"], audience=origin,
            leeway=LEEWAY, options={"require": ["sub", "aud", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "unauthorized", "the token has expired") from None
    except jwt.InvalidAudienceError:
        raise ApiError(401, "unauthorized", f"the token is not for this ledger (aud must be {origin!r})") from None
    except jwt.PyJWTError as error:
        raise ApiError(401, "unauthorized", f"the token does not verify with {subject!r}'s key in force: {error}") from None
    issued, expires = claims["iat"], claims["exp"]
    if not isinstance(issued, int) or not isinstance(expires, int) or expires - issued > MAX_LIFETIME:
        raise ApiError(401, "unauthorized", f"a token lives at most {MAX_LIFETIME // 60} minutes")
    current = now if now is not None else time.time()
    if issued > current + LEEWAY:
        raise ApiError(401, "unauthorized", "the token is issued in the future")
    return actor


def bearer_actor(request: Request[Any, Any, Any], *, roles: tuple[str, ...] = ()) -> ActorInfo:
    """The authenticated actor of a request (401 without a valid token; 403 without one of `roles`)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send `Authorization: Bearer <token>` (drledger token --help)")
    state = request.app.state
    origin = state.get("origin")
    if origin is None:
        from ledger.services.ledger import ledger_origin

        origin = state.origin = ledger_origin(state.config)
    actor = check_token(token.strip(), state.config, origin)
    if roles and not set(roles) & set(actor.roles):
        raise ApiError(403, "forbidden", f"actor {actor.actor_id!r} lacks the role {' or '.join(roles)}")
    return actor
