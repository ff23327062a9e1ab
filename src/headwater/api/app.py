"""The FastAPI application: one router per API dialect over one store and one graph index."""

from __future__ import annotations

import gc
import importlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater import __version__
from headwater.api.auth import TokenService
from headwater.api.errors import error_response, install_error_handlers
from headwater.api.routers import native, om_entities, om_lineage, om_search, system
from headwater.config import Settings
from headwater.graph import GraphIndex
from headwater.secrets import SecretBox
from headwater.store import Store

log = logging.getLogger("headwater")

# Routers of other packages, included when present. Each may define `router`, and optionally
# `on_startup(app)` / `on_shutdown(app)` for background work such as consumers and schedules.
OPTIONAL_MODULES = (
    "headwater.api.routers.openlineage",
    "headwater.api.routers.atlan",
    "headwater.api.routers.ingestion",
    "headwater.api.routers.analysis",
    "headwater.api.routers.om_extra",
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'"
    ),
}
_DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


class HeadwaterApp(FastAPI):
    """FastAPI with an optional front door: an ASGI callable that sees each request before
    FastAPI's middleware stack (error handling, telemetry, body limits, security headers) and
    hands what it does not answer itself on to :meth:`behind_front_door`. The OpenLineage
    ingest fast lane is one: producers send thousands of events a second, and that stack cost
    each of them about as much as storing the event. A front door must do for its own answers
    what the stack would have done (security headers, limits)."""

    front_door: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front_door is None:
            await super().__call__(scope, receive, send)
        else:
            await self.front_door(scope, receive, send)

    async def behind_front_door(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


class LimitsAndHeaders:
    """Reject bodies over the size limit and add security headers to every response.

    Plain ASGI rather than ``@app.middleware``: Starlette's BaseHTTPMiddleware spawns a task
    group and streams per request, which cost more than the whole no-op request did.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", ())))
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                message["headers"] = headers.raw
            await send(message)

        # the API docs pages load scripts the CSP forbids: they go without the headers
        reply: Send = send if scope["path"].startswith(_DOCS_PATHS) else send_with_headers
        for key, value in scope["headers"]:
            if key == b"content-length":
                if value.isdigit() and int(value) > self.max_body_bytes:
                    response = error_response(
                        413,
                        f"Request body too large ({value.decode()} bytes); the limit is "
                        f"{self.max_body_bytes} (HEADWATER_MAX_BODY_BYTES)",
                    )
                    await response(scope, receive, reply)
                    return
                break
        await self.app(scope, receive, reply)


def _optional_modules() -> list[ModuleType]:
    found = []
    for name in OPTIONAL_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def open_store(settings: Settings) -> Store:
    settings.ensure_data_dir()
    return Store(settings.database_url, secrets=SecretBox.for_data_dir(settings.data_dir))


def ensure_admin_token(settings: Settings, tokens: TokenService) -> Path | None:
    """On first start (no token exists yet) create an admin token in the data directory."""
    if tokens.store.list_tokens():
        return None
    token = tokens.create("admin", name="first-admin")
    path = settings.data_dir / "admin-token"
    settings.ensure_data_dir()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return path


_heap_frozen = threading.Event()


def _freeze_heap() -> None:
    """Move what start-up made (modules, schemas, the graph index) out of the garbage collector's
    reach: a full collection during a lineage answer of thousands of nodes would otherwise walk
    all of it again, and that took about as long as building the answer. Once per process: frozen
    objects that later form unreachable cycles are never collected, so apps created again and
    again in one process (tests) must not each freeze theirs."""
    if _heap_frozen.is_set():
        return
    _heap_frozen.set()
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, store: Store | None = None) -> HeadwaterApp:
    settings = settings or Settings()
    store = store or open_store(settings)
    modules = _optional_modules()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # load the lineage graph while the server starts taking requests: the first lineage reads
        # wait for it (exact answers, seconds at millions of edges) instead of each paying for it
        app.state.index.build_in_background(then=_freeze_heap)
        for mod in modules:
            if hasattr(mod, "on_startup"):
                mod.on_startup(app)
        try:
            yield
        finally:
            for mod in reversed(modules):
                if hasattr(mod, "on_shutdown"):
                    mod.on_shutdown(app)

    app = HeadwaterApp(
        title="headwater",
        version=__version__,
        description=(
            "Self-hostable data lineage: catalog, lineage graph, and OpenMetadata-, Atlan- and "
            "OpenLineage-compatible APIs. Authenticate with `Authorization: Bearer <token>`."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.index = GraphIndex(store)
    app.state.tokens = TokenService(store)
    install_error_handlers(app)

    for mod in modules:  # in front of the whole middleware stack (see HeadwaterApp)
        if hasattr(mod, "front_door"):
            app.front_door = mod.front_door(app)
    app.add_middleware(LimitsAndHeaders, max_body_bytes=settings.max_body_bytes)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )

    for mod in modules:  # hot ingest paths first: matching walks ~300 routes in order
        if hasattr(mod, "priority_router"):
            app.include_router(mod.priority_router)
    app.include_router(system.router)
    app.include_router(om_lineage.router)
    app.include_router(om_entities.router)
    app.include_router(om_search.router)
    app.include_router(native.router)
    for mod in modules:
        if hasattr(mod, "router"):
            app.include_router(mod.router)
    try:
        from headwater.web import mount_web
    except ImportError:
        pass
    else:
        mount_web(app)
    return app
