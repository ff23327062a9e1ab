"""OpenMetadata entity endpoints for every collection: create/update, read, list, patch, delete.

The same handlers serve every collection in `om_json.COLLECTIONS`; OpenMetadata's SDK uses them
to find entities by name and id and to create the ones lineage refers to.
"""

from __future__ import annotations

import base64
from typing import Any

import jsonpatch
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from headwater.api.auth import Editor, Principal, Viewer
from headwater.api.connection_guard import guard_assets, guard_connections, input_connection
from headwater.api.deps import actor, base_url, store_of
from headwater.api.errors import ApiError
from headwater.api.om_json import (
    COLLECTIONS,
    Collection,
    _columns_from_json,
    _get_path,
    create_request_to_input,
    entity_json,
)
from headwater.model.assets import Asset, AssetInput
from headwater.store import Store

router = APIRouter(prefix="/api/v1", tags=["OpenMetadata entities"])

_INCLUDE = ("non-deleted", "deleted", "all")
_READONLY = {
    "id",
    "fullyQualifiedName",
    "href",
    "version",
    "updatedAt",
    "updatedBy",
    "deleted",
    "service",
    "database",
    "databaseSchema",
    "serviceType",
    "changeDescription",
    "apiCollection",
    "parent",
}


def _load(
    store: Store,
    coll: Collection,
    *,
    asset_id: str | None = None,
    fqn: str | None = None,
    include: str = "non-deleted",
) -> Asset:
    if include not in _INCLUDE:
        raise ApiError(400, f"include must be one of {', '.join(_INCLUDE)}")
    asset = store.get_asset(asset_id) if asset_id else store.get_asset_by_fqn(coll.type, fqn or "")
    if asset is not None and asset.type is not coll.type:
        asset = None
    if (
        asset is None
        or (asset.deleted and include == "non-deleted")
        or (not asset.deleted and include == "deleted")
    ):
        raise ApiError(404, f"{coll.type.value} instance for {asset_id or fqn} not found")
    return asset


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except Exception:
        raise ApiError(400, f"invalid paging cursor {cursor!r}") from None


def _guard_input(store: Store, principal: Principal, item: AssetInput) -> None:
    """Per-connection admins: the asset as stored (if it is) and as it would be."""
    if principal.role == "admin":
        return
    existing = store.get_asset_by_fqn(item.type, item.fqn)
    guard_assets(store, principal, [(item.fqn, existing)])
    guard_connections(store, principal, [(item.fqn, input_connection(item))])


def _register(coll: Collection) -> None:
    path = f"/{coll.path}"
    name = coll.type.value

    @router.get(path, name=f"list_{name}", summary=f"List {name} entities")
    def list_entities(
        request: Request,
        _: Viewer,
        limit: int = Query(10, ge=0, le=1000000),
        after: str | None = None,
        before: str | None = None,
        fields: str | None = None,
        include: str = "non-deleted",
        service: str | None = None,
        database: str | None = None,
        databaseSchema: str | None = None,
    ) -> dict[str, Any]:
        store = store_of(request)
        prefix = next((p for p in (databaseSchema, database, service) if p), None)
        after_pk = _decode_cursor(after) if after else None
        if include not in _INCLUDE:
            raise ApiError(400, f"include must be one of {', '.join(_INCLUDE)}")
        items, total = store.list_assets(
            types=[coll.type.value],
            fqn_prefix=f"{prefix}." if prefix else None,
            include_deleted=include == "all",
            deleted_only=include == "deleted",
            limit=limit,
            after_pk=after_pk,
        )
        base = base_url(request)
        paging: dict[str, Any] = {"total": total}
        if len(items) == limit and items:
            paging["after"] = _encode_cursor(items[-1].pk)
        if after_pk is not None:
            paging["before"] = _encode_cursor(items[0].pk) if items else after
        return {"data": [entity_json(store, a, base) for a in items], "paging": paging}

    @router.get(path + "/name/{fqn:path}", name=f"get_{name}_by_name", summary=f"Get a {name} by FQN")
    def get_by_name(
        request: Request, fqn: str, _: Viewer, fields: str | None = None, include: str = "non-deleted"
    ) -> dict[str, Any]:
        store = store_of(request)
        return entity_json(store, _load(store, coll, fqn=fqn, include=include), base_url(request))

    @router.get(path + "/{entity_id}", name=f"get_{name}", summary=f"Get a {name} by id")
    def get_by_id(
        request: Request, entity_id: str, _: Viewer, fields: str | None = None, include: str = "non-deleted"
    ) -> dict[str, Any]:
        store = store_of(request)
        return entity_json(store, _load(store, coll, asset_id=entity_id, include=include), base_url(request))

    @router.put(path, name=f"create_or_update_{name}", summary=f"Create or update a {name}")
    def create_or_update(
        request: Request, principal: Editor, body: dict[str, Any] = Body(...)
    ) -> JSONResponse:
        store = store_of(request)
        item = create_request_to_input(store, coll, body)
        _guard_input(store, principal, item)
        asset, created = store.upsert_asset(item, actor(request))
        return JSONResponse(
            status_code=201 if created else 200, content=entity_json(store, asset, base_url(request))
        )

    @router.post(path, name=f"create_{name}", summary=f"Create a {name}")
    def create(request: Request, principal: Editor, body: dict[str, Any] = Body(...)) -> JSONResponse:
        store = store_of(request)
        item = create_request_to_input(store, coll, body)
        _guard_input(store, principal, item)
        if store.get_asset_by_fqn(coll.type, item.fqn) is not None:
            raise ApiError(409, f"Entity already exists: {coll.type.value} {item.fqn}")
        asset, _created = store.upsert_asset(item, actor(request))
        return JSONResponse(status_code=201, content=entity_json(store, asset, base_url(request)))

    def _patch(
        request: Request, principal: Principal, asset: Asset, ops: list[dict[str, Any]]
    ) -> dict[str, Any]:
        store = store_of(request)
        guard_assets(store, principal, [(asset.fqn, asset)])
        base = base_url(request)
        current = entity_json(store, asset, base)
        try:
            patched = jsonpatch.apply_patch(current, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ApiError(400, f"invalid JSON patch: {exc}") from None
        if not isinstance(patched, dict):
            raise ApiError(400, "a JSON patch must leave an object")
        for key in _READONLY:
            if (
                key in patched
                and patched.get(key) != current.get(key)
                and key not in ("updatedAt", "updatedBy")
            ):
                raise ApiError(400, f"`{key}` cannot be changed by PATCH")
        attrs = dict(asset.attributes)
        for key, value in patched.items():
            if key in _READONLY or key in ("name", "displayName", "description"):
                continue
            if coll.columns_path and key == coll.columns_path[0]:
                continue
            attrs[key] = value
        for key in list(attrs):
            if key not in patched and not key.startswith("_"):
                attrs.pop(key)
        moved_to = attrs.get("connectionQualifiedName")
        if moved_to != asset.attributes.get("connectionQualifiedName") and isinstance(moved_to, str):
            guard_connections(store, principal, [(asset.fqn, moved_to)])
        columns = None
        if coll.columns_path is not None:
            raw = _get_path(patched, coll.columns_path)
            if raw is not None and raw != _get_path(current, coll.columns_path):
                columns = _columns_from_json(raw, ".".join(coll.columns_path))
        store.update_asset_fields(
            asset.pk,
            actor(request),
            name=patched.get("name", asset.name),
            display_name=patched.get("displayName"),
            description=patched.get("description"),
            attributes=attrs,
        )
        if columns is not None:
            store.upsert_asset(
                AssetInput(type=asset.type, fqn=asset.fqn, name=asset.name, columns=columns, attributes={}),
                actor(request),
            )
        fresh = store.get_asset_by_pk(asset.pk)
        assert fresh is not None
        return entity_json(store, fresh, base)

    @router.patch(
        path + "/name/{fqn:path}", name=f"patch_{name}_by_name", summary=f"JSON-patch a {name} by FQN"
    )
    def patch_by_name(
        request: Request, fqn: str, principal: Editor, ops: list[dict[str, Any]] = Body(...)
    ) -> dict[str, Any]:
        return _patch(request, principal, _load(store_of(request), coll, fqn=fqn), ops)

    @router.patch(path + "/{entity_id}", name=f"patch_{name}", summary=f"JSON-patch a {name} by id")
    def patch_by_id(
        request: Request, entity_id: str, principal: Editor, ops: list[dict[str, Any]] = Body(...)
    ) -> dict[str, Any]:
        return _patch(request, principal, _load(store_of(request), coll, asset_id=entity_id), ops)

    def _delete(
        request: Request, principal: Principal, asset: Asset, hard_delete: bool, recursive: bool
    ) -> dict[str, Any]:
        store = store_of(request)
        guard_assets(store, principal, [(asset.fqn, asset)])
        if not recursive and store.has_non_column_children(asset.pk):
            raise ApiError(
                400, f"Entity {asset.fqn} is not empty; delete with recursive=true to delete its children too"
            )
        doc = entity_json(store, asset, base_url(request))
        if hard_delete:
            store.hard_delete_asset(asset.pk)
        else:
            store.soft_delete_asset(asset.pk, actor(request))
            doc["deleted"] = True
        return doc

    @router.delete(
        path + "/name/{fqn:path}", name=f"delete_{name}_by_name", summary=f"Delete a {name} by FQN"
    )
    def delete_by_name(
        request: Request, fqn: str, principal: Editor, hardDelete: bool = False, recursive: bool = False
    ) -> dict[str, Any]:
        store = store_of(request)
        return _delete(request, principal, _load(store, coll, fqn=fqn, include="all"), hardDelete, recursive)

    @router.delete(path + "/{entity_id}", name=f"delete_{name}", summary=f"Delete a {name} by id")
    def delete_by_id(
        request: Request, entity_id: str, principal: Editor, hardDelete: bool = False, recursive: bool = False
    ) -> dict[str, Any]:
        store = store_of(request)
        return _delete(
            request, principal, _load(store, coll, asset_id=entity_id, include="all"), hardDelete, recursive
        )

    @router.put(path + "/restore", name=f"restore_{name}", summary=f"Restore a soft-deleted {name}")
    def restore(request: Request, principal: Editor, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        store = store_of(request)
        asset = _load(store, coll, asset_id=str(body.get("id", "")), include="deleted")
        guard_assets(store, principal, [(asset.fqn, asset)])
        store.restore_asset(asset.pk, actor(request))
        fresh = store.get_asset_by_pk(asset.pk)
        assert fresh is not None
        return entity_json(store, fresh, base_url(request))


for _coll in COLLECTIONS:
    _register(_coll)
