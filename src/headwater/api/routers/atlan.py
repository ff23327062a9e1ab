"""Atlan's asset API, as pyatlan calls it: bulk upsert and delete, get by guid or qualifiedName,
the paged lineage list, and the `/api/service` users, groups, roles and credentials it looks up.

Point the SDK at headwater with `AtlanClient(base_url="http://127.0.0.1:8585", api_key=TOKEN)`.
Errors answer Atlas's `{"errorCode", "errorMessage"}`, which pyatlan turns into typed
exceptions. OpenLineage events on `/events/openlineage/{connector}/api/v1/lineage` are the
OpenLineage router's; this router adds the path only when that router does not serve it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from headwater.api.auth import Admin, Editor, Principal, Viewer
from headwater.api.deps import actor, index_of, settings_of, store_of
from headwater.atlan import directory
from headwater.atlan.admins import asset_connection, check_connection_admins
from headwater.atlan.entities import EntityIn, parse_bulk
from headwater.atlan.errors import AtlasError, bad_request, guid_not_found, unique_not_found
from headwater.atlan.lineage import LineageList
from headwater.atlan.links import processes_of_edges
from headwater.atlan.mutate import AtlanWriter
from headwater.atlan.openlineage import AtlanProjector
from headwater.atlan.qualified import connection_of
from headwater.atlan.render import entity, type_name
from headwater.atlan.types import PROCESS_TYPES, asset_type_for
from headwater.graph import GraphIndex
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.store import Store


class AtlasRoute(APIRoute):
    """Answers AtlasError in Atlas's JSON shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AtlasError as exc:
                return JSONResponse(status_code=exc.status, content=exc.body())

        return route


router = APIRouter(tags=["Atlan"], route_class=AtlasRoute)


def on_startup(app: FastAPI) -> None:
    """Follow OpenLineage events sent to Atlan's path and save the Atlan assets they mean."""
    projector = AtlanProjector(app.state.store)
    app.state.atlan_openlineage = projector
    projector.start()


def on_shutdown(app: FastAPI) -> None:
    projector: AtlanProjector | None = getattr(app.state, "atlan_openlineage", None)
    if projector is not None:
        projector.stop()


async def _json(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        raise bad_request("Empty request body: send a JSON object")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise bad_request(f"Invalid JSON in request body: {exc}") from None


# -- entities -----------------------------------------------------------------------------------


def _entity_connection(store: Store, e: EntityIn) -> str | None:
    value = e.attributes.get("connectionQualifiedName")
    if isinstance(value, str) and value:
        return value
    if e.qualified_name:
        if e.asset_type is AssetType.CONNECTION:
            return e.qualified_name
        found = connection_of(e.qualified_name)
        if found:
            return found
    if e.guid and not e.guid.startswith("-"):
        asset = store.get_asset(e.guid)
        if asset is not None:
            return asset_connection(asset)
    return None


def _check_scope(principal: Principal, connections: list[tuple[str, str | None]]) -> None:
    """A token scoped to one connection may change only that connection's assets."""
    if not principal.scope:
        return
    for label, connection in connections:
        if connection != principal.scope:
            raise AtlasError(
                403,
                "ATLAS-403-00-001",
                f"this token may only change assets of connection {principal.scope}; {label} belongs to "
                f"{connection or 'no connection'}",
            )


@router.post("/api/meta/entity/bulk/", summary="Create or update assets by qualifiedName (Atlan bulk)")
@router.post("/api/meta/entity/bulk", include_in_schema=False)
async def bulk_save(request: Request, principal: Editor) -> JSONResponse:
    entities = parse_bulk(await _json(request), settings_of(request).max_bulk_entities)
    store = store_of(request)
    if principal.scope or principal.role != "admin":
        touched = [(f"entities[{e.index}]", _entity_connection(store, e)) for e in entities]
        _check_scope(principal, touched)
        await run_in_threadpool(check_connection_admins, store, principal, touched)
    writer = AtlanWriter(store)
    result = await run_in_threadpool(writer.save, entities, actor(request))
    return JSONResponse(result)


@router.delete("/api/meta/entity/bulk/", summary="Delete assets by guid (deleteType PURGE, HARD or SOFT)")
@router.delete("/api/meta/entity/bulk", include_in_schema=False)
async def bulk_delete(
    request: Request,
    principal: Editor,
    guid: list[str] = Query(default_factory=list),
    deleteType: str = Query("SOFT"),
) -> JSONResponse:
    store = store_of(request)
    if principal.scope or principal.role != "admin":
        found = store.get_assets_by_ids(guid)
        touched = [(g, asset_connection(found[g]) if g in found else None) for g in guid]
        _check_scope(principal, touched)
        check_connection_admins(store, principal, touched)
    writer = AtlanWriter(store)
    result = await run_in_threadpool(writer.delete, guid, deleteType, actor(request))
    return JSONResponse(result)


@router.delete("/api/meta/entity/guid/{guid}", summary="Delete one asset by guid")
async def delete_one(
    request: Request, guid: str, principal: Editor, deleteType: str = Query("SOFT")
) -> JSONResponse:
    store = store_of(request)
    if principal.scope or principal.role != "admin":
        asset = store.get_asset(guid)
        touched = [(guid, asset_connection(asset) if asset else None)]
        _check_scope(principal, touched)
        check_connection_admins(store, principal, touched)
    writer = AtlanWriter(store)
    return JSONResponse(await run_in_threadpool(writer.delete, [guid], deleteType, actor(request)))


def _relationships(store: Store, index: GraphIndex, asset: Asset) -> dict[str, list[Asset]]:
    """inputToProcesses / outputFromProcesses of a dataset: the processes on its edges."""
    if asset.type in PROCESS_TYPES:
        return {}
    index.refresh()
    down = [(asset.pk, n) for n in index.downstream(asset.pk)]
    up = [(n, asset.pk) for n in index.upstream(asset.pk)]
    procs = processes_of_edges(store, down + up) if down or up else {}
    ids_in = list(dict.fromkeys(pid for pair in down for pid in procs.get(pair, [])))
    ids_out = list(dict.fromkeys(pid for pair in up for pid in procs.get(pair, [])))
    found = store.get_assets_by_ids(ids_in + ids_out)
    return {
        "inputToProcesses": [found[i] for i in ids_in if i in found and not found[i].deleted],
        "outputFromProcesses": [found[i] for i in ids_out if i in found and not found[i].deleted],
    }


def _entity_response(store: Store, index: GraphIndex, asset: Asset) -> dict[str, Any]:
    ref_ids: list[str] = []
    for value in asset.attributes.values():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, dict) and v.get("guid") and "typeName" in v:
                ref_ids.append(str(v["guid"]))
    related = store.get_assets_by_ids(ref_ids) if ref_ids else {}
    body = entity(asset, related=related, relationships=_relationships(store, index, asset))
    return {"entity": body, "referredEntities": {}}


@router.get("/api/meta/entity/guid/{guid}", summary="An asset by guid")
def get_by_guid(request: Request, guid: str, _: Viewer) -> JSONResponse:
    store = store_of(request)
    asset = store.get_asset(guid)
    if asset is None:
        raise guid_not_found(guid)
    return JSONResponse(_entity_response(store, index_of(request), asset))


@router.get("/api/meta/entity/uniqueAttribute/type/{typeName}", summary="An asset by type and qualifiedName")
def get_by_qualified_name(request: Request, typeName: str, _: Viewer) -> JSONResponse:
    qn = request.query_params.get("attr:qualifiedName")
    if not qn:
        raise bad_request("attr:qualifiedName is required", code="ATLAS-400-00-01D")
    store = store_of(request)
    asset = store.get_asset_by_fqn(asset_type_for(typeName), qn)
    if asset is None or type_name(asset) != typeName:
        raise unique_not_found(typeName, qn)
    return JSONResponse(_entity_response(store, index_of(request), asset))


# -- lineage ------------------------------------------------------------------------------------


@router.post("/api/meta/lineage/list", summary="Paged lineage list from one asset (Atlan)")
@router.post("/api/meta/lineage/list/", include_in_schema=False)
async def lineage_list(request: Request, _: Viewer) -> JSONResponse:
    body = await _json(request)
    if not isinstance(body, dict):
        raise bad_request("Send the lineage request as a JSON object", code="ATLAS-400-00-029")
    lister = LineageList(store_of(request), index_of(request))
    return JSONResponse(await run_in_threadpool(lister.run, body))


@router.get("/api/meta/types/typedefs/", include_in_schema=False)
@router.get("/api/meta/types/typedefs", include_in_schema=False)
def typedefs(_: Viewer) -> dict[str, Any]:
    """No tags or custom metadata are defined; the SDK loads this only when it meets them."""
    return {
        "enumDefs": [],
        "structDefs": [],
        "classificationDefs": [],
        "entityDefs": [],
        "relationshipDefs": [],
        "businessMetadataDefs": [],
    }


# -- users, groups, roles, credentials --------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """Atlan's paging of its user, group, role and token listings: a JSON filter, offset, limit, sort."""

    filter: str | None
    offset: int
    limit: int
    sort: str | None

    def page(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return directory.page(
            records, filter_json=self.filter, offset=self.offset, limit=self.limit, sort=self.sort
        )


def listing_params(default_limit: int) -> Callable[..., Listing]:
    """The query parameters of one listing endpoint (Atlan's default page size differs per endpoint)."""

    def params(
        filter: str | None = Query(None),
        offset: int = Query(0, ge=0),
        limit: int = Query(default_limit),
        sort: str | None = Query(None),
    ) -> Listing:
        return Listing(filter=filter, offset=offset, limit=limit, sort=sort)

    return params


@router.get("/api/service/roles", summary="Workspace roles (Atlan)")
def roles(
    _: Viewer,
    listing: Listing = Depends(listing_params(100)),
) -> dict[str, Any]:
    return listing.page(directory.role_records())


@router.get("/api/service/users", summary="Users (Atlan)")
def users(
    request: Request,
    _: Viewer,
    listing: Listing = Depends(listing_params(20)),
) -> dict[str, Any]:
    records = directory.users(store_of(request))
    return listing.page(records)


@router.post("/api/service/users", summary="Register users (Atlan; admin)")
def create_users(request: Request, _: Admin, body: Any = Body(None)) -> dict[str, Any]:
    return {"users": directory.add_users(store_of(request), body)}


@router.get("/api/service/v2/groups", summary="Groups (Atlan)")
@router.get("/api/service/groups", include_in_schema=False)
def groups(
    request: Request,
    _: Viewer,
    listing: Listing = Depends(listing_params(20)),
) -> dict[str, Any]:
    records = directory.groups(store_of(request))
    return listing.page(records)


@router.post("/api/service/groups", summary="Register a group (Atlan; admin)")
def create_group(request: Request, _: Admin, body: Any = Body(None)) -> dict[str, Any]:
    record = directory.add_group(store_of(request), body)
    return {"group": record["id"], "users": {}}


@router.get("/api/service/whoami", summary="The caller, as Atlan describes a user")
def whoami(request: Request, principal: Viewer) -> dict[str, Any]:
    del request
    return {
        "id": directory.stable_id("user", principal.username),
        "username": principal.username,
        "enabled": True,
        "roles": [directory.role_name_for(principal.role)],
    }


@router.get("/api/service/apikeys", summary="API tokens (Atlan)")
def api_tokens(
    request: Request,
    _: Admin,
    listing: Listing = Depends(listing_params(20)),
) -> dict[str, Any]:
    records = directory.api_tokens(store_of(request))
    return listing.page(records)


@router.post("/api/service/credentials", summary="Register a connection credential (Atlan; admin)")
def create_credential(
    request: Request, _: Admin, testCredential: bool = Query(False), body: Any = Body(None)
) -> dict[str, Any]:
    del testCredential  # nothing to test for event (OpenLineage) credentials
    return directory.add_credential(store_of(request), body)


@router.get("/api/service/credentials/{guid}", summary="A credential (Atlan)")
def get_credential(request: Request, guid: str, _: Admin) -> dict[str, Any]:
    record = directory.credential(store_of(request), guid)
    if record is None:
        raise AtlasError(404, "ATLAN-404-00-001", f"Credential {guid} not found")
    return record
