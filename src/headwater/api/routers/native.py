"""Headwater's own endpoints: asset search and details for the UI, tokens for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from headwater.api.auth import ROLES, Admin, Viewer
from headwater.api.deps import base_url, store_of
from headwater.api.errors import ApiError
from headwater.api.om_json import columns_json, entity_ref, href
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.secrets import mask

router = APIRouter(prefix="/api/v1/headwater", tags=["headwater"])


def asset_summary(asset: Asset, base: str) -> dict[str, Any]:
    owners = asset.attributes.get("owners") or []
    owner = None
    if isinstance(owners, list) and owners and isinstance(owners[0], dict):
        owner = owners[0].get("name") or owners[0].get("fullyQualifiedName")
    return {
        "id": asset.id,
        "type": asset.type.value,
        "name": asset.name,
        "fullyQualifiedName": asset.fqn,
        "displayName": asset.display_name,
        "description": asset.description,
        "deleted": asset.deleted,
        "partial": asset.partial,
        "owner": owner,
        "href": href(base, asset),
    }


@router.get("/assets", summary="Search assets by name or FQN substring")
def search_assets(
    request: Request,
    _: Viewer,
    q: str | None = None,
    type: str | None = Query(None, description="asset type, or a comma-separated list"),
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    includeDeleted: bool = False,
) -> dict[str, Any]:
    store = store_of(request)
    types = [t.strip() for t in type.split(",")] if type else None
    if types:
        valid = {t.value for t in AssetType}
        bad = [t for t in types if t not in valid]
        if bad:
            raise ApiError(400, f"Unknown asset type(s) {', '.join(bad)}; valid: {', '.join(sorted(valid))}")
    else:
        types = [t.value for t in AssetType if t is not AssetType.COLUMN]
    items, total = store.list_assets(
        types=types, q=q, include_deleted=includeDeleted, limit=limit, offset=offset
    )
    base = base_url(request)
    return {"data": [asset_summary(a, base) for a in items], "total": total}


@router.get("/assets/{asset_id}", summary="One asset with its columns and attributes")
def get_asset(request: Request, asset_id: str, _: Viewer) -> dict[str, Any]:
    store = store_of(request)
    asset = store.get_asset(asset_id)
    if asset is None:
        raise ApiError(404, f"asset {asset_id} not found")
    base = base_url(request)
    parent = store.get_asset_by_pk(asset.parent_pk) if asset.parent_pk else None
    out = asset_summary(asset, base)
    out.update(
        {
            "columns": columns_json(store, asset),
            "attributes": mask(asset.attributes),
            "tags": asset.attributes.get("tags", []),
            "parent": entity_ref(parent, base) if parent else None,
            "createdAt": asset.created_at,
            "updatedAt": asset.updated_at,
        }
    )
    return out


@router.get("/tokens", summary="List tokens (admin)")
def list_tokens(request: Request, _: Admin) -> dict[str, Any]:
    return {"data": [{k: v for k, v in t.items()} for t in store_of(request).list_tokens()]}


@router.post("/tokens", summary="Create a token (admin); the token is shown once")
def create_token(request: Request, _: Admin, body: dict[str, Any] = Body(...)) -> JSONResponse:
    role = body.get("role")
    if role not in ROLES:
        raise ApiError(400, f"role must be one of {', '.join(ROLES)}")
    expires = body.get("expiresInSeconds")
    if expires is not None and (not isinstance(expires, int) or expires <= 0):
        raise ApiError(400, "expiresInSeconds must be a positive integer")
    token = request.app.state.tokens.create(
        role, str(body.get("name") or "token"), expires, body.get("scope")
    )
    return JSONResponse(status_code=201, content={"token": token, "role": role})


@router.delete("/tokens/{jti}", summary="Revoke a token (admin)")
def revoke_token(request: Request, jti: str, _: Admin) -> dict[str, Any]:
    if not request.app.state.tokens.revoke(jti):
        raise ApiError(404, f"token {jti} not found or already revoked")
    return {"revoked": jti}
