"""Shared request helpers: the app's store, graph index and settings, and the base URL for hrefs."""

from __future__ import annotations

from fastapi import Request

from headwater.config import Settings
from headwater.graph import GraphIndex
from headwater.store import Store


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def index_of(request: Request) -> GraphIndex:
    index: GraphIndex = request.app.state.index
    return index


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def actor(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    return principal.name if principal is not None else None
