"""Bearer-token auth with roles viewer < editor < admin.

Tokens are JWTs signed (HS256) with a key kept in the store's settings, so several servers on one
database accept each other's tokens; each carries a `jti` recorded in the store, so a token can be
revoked, and an optional expiry. A token may name a user and groups (signed claims): Atlan-style
connections that list admins (``adminUsers``, ``adminGroups``, ``adminRoles``) let only those change
their assets (see headwater.atlan.admins).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request

from headwater.api.errors import ApiError
from headwater.store import Store, now_ms

ROLES = ("viewer", "editor", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}
_CACHE_SECONDS = 2.0
# Routes that check a scoped token's connection themselves, asset by asset.
SCOPED_WRITE_PREFIXES = ("/api/meta/entity/",)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    jti: str | None = None
    scope: str | None = None
    user: str | None = None
    groups: tuple[str, ...] = ()

    def allows(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]

    @property
    def username(self) -> str:
        """The user the token acts for: its ``--user``, else its name."""
        return self.user or self.name


ANONYMOUS_ADMIN = Principal(name="anonymous", role="admin")


class TokenService:
    """Creates, verifies and revokes tokens."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._key = store.get_or_create_setting("jwt_secret", lambda: secrets.token_urlsafe(48))
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(
        self,
        role: str,
        name: str = "token",
        expires_in_seconds: int | None = None,
        scope: str | None = None,
        *,
        user: str | None = None,
        groups: list[str] | None = None,
    ) -> str:
        if role not in _RANK:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        jti = uuid.uuid4().hex
        now = int(time.time())
        claims: dict[str, object] = {"jti": jti, "sub": name, "role": role, "iat": now, "iss": "headwater"}
        expires_at = None
        if expires_in_seconds is not None:
            claims["exp"] = now + expires_in_seconds
            expires_at = (now + expires_in_seconds) * 1000
        if scope:
            claims["scope"] = scope
        if user:
            claims["user"] = user
        if groups:
            claims["groups"] = list(dict.fromkeys(groups))
        self.store.add_token(jti, name, role, expires_at, scope)
        return jwt.encode(claims, self._key, algorithm="HS256")

    def cached(self, token: str) -> Principal | None:
        """The principal of a recently verified token, without touching the store."""
        cached = self._cache.get(token)
        if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        return None

    def verify(self, token: str) -> Principal:
        cached = self.cached(token)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], options={"require": ["jti"]})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "Token expired; create a new one with `headwater token create`") from None
        except jwt.PyJWTError:
            raise ApiError(
                401, "Invalid token; send `Authorization: Bearer <token>` with a headwater token"
            ) from None
        record = self.store.get_token(str(claims["jti"]))
        if record is None or record["revoked_at"] is not None:
            raise ApiError(401, "Token revoked or unknown")
        if record["expires_at"] is not None and record["expires_at"] < now_ms():
            raise ApiError(401, "Token expired; create a new one with `headwater token create`")
        groups = claims.get("groups")
        principal = Principal(
            name=record["name"],
            role=record["role"],
            jti=record["jti"],
            scope=record["scope"],
            user=str(claims["user"]) if claims.get("user") else None,
            groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (time.monotonic(), principal)
        return principal

    def revoke(self, jti: str) -> bool:
        with self._lock:
            self._cache.clear()
        return self.store.revoke_token(jti)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Missing bearer token: send `Authorization: Bearer <token>`")
    return token.strip()


def _principal(request: Request) -> Principal:
    state = request.app.state
    if not state.settings.auth:
        return ANONYMOUS_ADMIN
    principal: Principal = state.tokens.verify(_bearer(request))
    return principal


async def _principal_async(request: Request) -> Principal:
    """As :func:`_principal`, answered on the event loop when the token was verified
    recently; only a store look-up goes to a worker thread."""
    state = request.app.state
    if not state.settings.auth:
        return ANONYMOUS_ADMIN
    token = _bearer(request)
    cached: Principal | None = state.tokens.cached(token)
    if cached is not None:
        return cached
    principal: Principal = await asyncio.to_thread(state.tokens.verify, token)
    return principal


def require(role: str):  # type: ignore[no-untyped-def]
    """A FastAPI dependency that admits callers with at least `role`."""

    async def dependency(request: Request) -> Principal:
        # async: a sync dependency costs a thread-pool hop on every request
        principal = await _principal_async(request)
        if not principal.allows(role):
            raise ApiError(403, f"Role {principal.role!r} may not do this; it needs {role!r}")
        if principal.scope and role != "viewer" and not request.url.path.startswith(SCOPED_WRITE_PREFIXES):
            raise ApiError(
                403,
                f"This token is scoped to connection {principal.scope}: it may only change that connection's "
                "assets through the Atlan API (/api/meta/...)",
            )
        request.state.principal = principal
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require("viewer"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Admin = Annotated[Principal, Depends(require("admin"))]
