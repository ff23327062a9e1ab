"""Version and health: what OpenMetadata's SDK calls when it connects (no auth needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from headwater import __version__
from headwater.api.deps import settings_of, store_of

router = APIRouter(tags=["system"])


@router.get("/api/v1/system/version", summary="Server version (OpenMetadata-compatible)")
def version(request: Request) -> dict[str, Any]:
    return {
        "version": settings_of(request).om_version,
        "revision": f"headwater-{__version__}",
        "timestamp": 0,
        "headwater": __version__,
    }


@router.get("/healthz", summary="Liveness and store reachability")
def health(request: Request) -> dict[str, Any]:
    store = store_of(request)
    return {"status": "ok", "store": store.dialect, "lineageLogSeq": store.max_log_seq()}
