"""OpenMetadata's Lineage API: read the graph, add, read, patch and delete edges, export CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import jsonpatch
import orjson
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from headwater.api.auth import Editor, Principal, Viewer
from headwater.api.connection_guard import guard_assets
from headwater.api.deps import actor, base_url, index_of, settings_of, store_of
from headwater.api.errors import ApiError, limit_exceeded
from headwater.api.om_json import entity_ref, type_from_path_segment
from headwater.api.routers.analysis import AS_OF_DOC, as_of_view
from headwater.graph.export import csv_lines
from headwater.graph.view import LineageView, build_lineage_view
from headwater.identity.fqn import FqnError, split
from headwater.model.assets import Asset
from headwater.model.lineage import ColumnLineage, LineageDetails, merge_details
from headwater.model.types import COLUMN_PARENT_TYPES, AssetType, LineageSource
from headwater.store import EdgeWrite, Store

router = APIRouter(prefix="/api/v1/lineage", tags=["OpenMetadata lineage"])


class EntityRefIn(BaseModel):
    """A reference in an AddLineageRequest: by id (OpenMetadata) or, as an extension, by FQN."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    type: str
    name: str | None = None
    fullyQualifiedName: str | None = None
    description: str | None = None
    displayName: str | None = None
    deleted: bool | None = None
    inherited: bool | None = None
    href: str | None = None


class EntitiesEdge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fromEntity: EntityRefIn
    toEntity: EntityRefIn
    description: str | None = None
    lineageDetails: LineageDetails | None = None


class AddLineageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edge: EntitiesEdge = Field(description="The edge to add; replaces the details of the same source")


# -- helpers ------------------------------------------------------------------------------------


def _resolve_ref(store: Store, ref: EntityRefIn | dict[str, Any], role: str) -> Asset:
    if isinstance(ref, dict):
        try:
            ref = EntityRefIn.model_validate(ref)
        except ValidationError as exc:
            raise ApiError(400, f"{role}: invalid entity reference ({exc.errors()[0]['msg']})") from None
    asset_type = type_from_path_segment(ref.type)
    asset = None
    if ref.id:
        asset = store.get_asset(ref.id)
    elif ref.fullyQualifiedName:
        asset = store.get_asset_by_fqn(asset_type, ref.fullyQualifiedName)
    else:
        raise ApiError(400, f"{role}: an entity reference needs `id` (or `fullyQualifiedName`)")
    if asset is None or asset.deleted or asset.type is not asset_type:
        raise ApiError(
            404, f"{role}: {asset_type.value} instance for {ref.id or ref.fullyQualifiedName} not found"
        )
    return asset


def _check_depth(name: str, value: int, maximum: int) -> None:
    if value < 0 or value > maximum:
        raise ApiError(
            400,
            f"{name} must be between 0 and {maximum} (got {value}); the maximum is set by HEADWATER_MAX_DEPTH",
        )


def _validate_columns(store: Store, src: Asset, dst: Asset, columns: list[ColumnLineage]) -> None:
    """Every column named must belong to its end of the edge (when that end has known columns)."""
    if not columns:
        return
    known: dict[int, set[str]] = {}

    def check(asset: Asset, column: str, role: str) -> None:
        if asset.type not in COLUMN_PARENT_TYPES:
            raise ApiError(
                400, f"{role} column {column!r}: {asset.type.value} has no columns for column-level lineage"
            )
        if not column.startswith(asset.fqn + "."):
            raise ApiError(400, f"invalid column name {column!r}: it must start with {asset.fqn!r}.")
        if asset.pk not in known:
            known[asset.pk] = store.column_fqns_of(asset.pk)
        if known[asset.pk] and column not in known[asset.pk]:
            raise ApiError(400, f"invalid column name {column!r}: {asset.fqn} has no such column")

    for cl in columns:
        for col in cl.fromColumns:
            check(src, col, "from")
        if cl.toColumn:
            check(dst, cl.toColumn, "to")


def _resolve_pipeline(store: Store, details: LineageDetails) -> int | None:
    if not details.pipeline:
        return None
    ref = details.pipeline
    pipe = _resolve_ref(store, {k: v for k, v in ref.items() if k in EntityRefIn.model_fields}, "pipeline")
    if pipe.type not in (AssetType.PIPELINE, AssetType.STORED_PROCEDURE, AssetType.PROCESS):
        raise ApiError(400, f"pipeline must be a pipeline or storedProcedure, not {pipe.type.value}")
    details.pipeline = {"id": pipe.id, "type": pipe.type.value}
    return pipe.pk


def lineage_json(
    store: Store, view: LineageView, base: str, *, with_truncated: bool = True
) -> dict[str, Any]:
    """OpenMetadata's EntityLineage for a view; edges carry bare ids, pipelines full references.

    `truncated` is headwater's own key: it is left out when `with_truncated` is false and nothing
    was cut, because the SDK's EntityLineage model forbids keys it does not know.
    """
    assets = view.all_assets()
    pipeline_ids: set[str] = set()
    merged: dict[tuple[int, int], dict[str, Any]] = {}
    for edge in [*view.upstream, *view.downstream]:
        pair = (edge.from_pk, edge.to_pk)
        if pair not in merged:
            merged[pair] = view.merged_details(edge)
            pipe = merged[pair].get("pipeline")
            if pipe and pipe.get("id"):
                pipeline_ids.add(str(pipe["id"]))
    pipelines = store.get_assets_by_ids(pipeline_ids) if pipeline_ids else {}
    for details in merged.values():
        pipe = details.get("pipeline")
        if pipe and str(pipe.get("id")) in pipelines:
            details["pipeline"] = entity_ref(pipelines[str(pipe["id"])], base)

    def edge_json(edge: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fromEntity": assets[edge.from_pk].id,
            "toEntity": assets[edge.to_pk].id,
            "lineageDetails": merged[(edge.from_pk, edge.to_pk)],
        }
        if edge.edge_description:
            out["description"] = edge.edge_description
        return out

    out: dict[str, Any] = {
        "entity": entity_ref(view.root, base),
        "nodes": [entity_ref(a, base) for pk, a in sorted(view.nodes.items()) if pk != view.root.pk],
        "upstreamEdges": [edge_json(e) for e in view.upstream if e.from_pk in assets and e.to_pk in assets],
        "downstreamEdges": [
            edge_json(e) for e in view.downstream if e.from_pk in assets and e.to_pk in assets
        ],
    }
    if with_truncated or view.truncated:
        out["truncated"] = view.truncated
    return out


def _lineage_response(store: Store, view: LineageView, request: Request, node_limit: int | None) -> Response:
    """The lineage answer, with `X-Headwater-Truncated`; the `truncated` key only for callers that
    used headwater's `nodeLimit`, or when the node limit did cut the graph."""
    body = lineage_json(store, view, base_url(request), with_truncated=node_limit is not None)
    # orjson: several times faster than json.dumps on answers of thousands of nodes and edges
    return Response(
        orjson.dumps(body),
        media_type="application/json",
        headers={"X-Headwater-Truncated": "true" if view.truncated else "false"},
    )


def _read_view(
    request: Request,
    root: Asset,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int | None,
    include_deleted: bool,
    parse_details: bool = True,
) -> LineageView:
    settings = settings_of(request)
    _check_depth("upstreamDepth", upstream_depth, settings.max_depth)
    _check_depth("downstreamDepth", downstream_depth, settings.max_depth)
    limit = settings.node_limit if node_limit is None else node_limit
    if limit < 1 or limit > settings.node_limit:
        raise ApiError(400, f"nodeLimit must be between 1 and {settings.node_limit}")
    return build_lineage_view(
        store_of(request),
        index_of(request),
        root,
        upstream_depth=upstream_depth,
        downstream_depth=downstream_depth,
        node_limit=limit,
        include_deleted=include_deleted,
        parse_details=parse_details,
    )


def _root_by_id(store: Store, entity: str, entity_id: str, include_deleted: bool = False) -> Asset:
    asset_type = type_from_path_segment(entity)
    asset = store.get_asset(entity_id)
    if asset is None or asset.type is not asset_type or (asset.deleted and not include_deleted):
        raise ApiError(404, f"{asset_type.value} instance for {entity_id} not found")
    return asset


def _root_by_fqn(store: Store, entity: str, fqn: str, include_deleted: bool = False) -> Asset:
    asset_type = type_from_path_segment(entity)
    try:
        split(fqn)
    except FqnError as exc:
        raise ApiError(400, f"Malformed FQN: {exc}") from None
    asset = store.get_asset_by_fqn(asset_type, fqn)
    if asset is None or (asset.deleted and not include_deleted):
        raise ApiError(404, f"{asset_type.value} instance for {fqn} not found")
    return asset


# -- endpoints ----------------------------------------------------------------------------------


@router.get(
    "/export", summary="Export lineage as CSV (OpenMetadata's 13 columns)", response_class=StreamingResponse
)
def export_csv(
    request: Request,
    _: Viewer,
    fqn: str = Query(..., description="FQN of the root entity"),
    type: str = Query("table", description="entity type of the root"),
    upstreamDepth: int = 1,
    downstreamDepth: int = 1,
    includeDeleted: bool = False,
    nodeLimit: int | None = None,
    asOf: str | None = Query(None, description=AS_OF_DOC),
) -> StreamingResponse:
    store = store_of(request)
    if asOf is not None:  # issue 9: the graph as it stood at asOf
        root = _root_by_fqn(store, type, fqn, True)
        view = as_of_view(request, root, asOf, upstreamDepth, downstreamDepth, nodeLimit, includeDeleted)
    else:
        root = _root_by_fqn(store, type, fqn, includeDeleted)
        view = _read_view(request, root, upstreamDepth, downstreamDepth, nodeLimit, includeDeleted)
    rows = len({(e.from_pk, e.to_pk) for e in [*view.upstream, *view.downstream]})
    max_rows = settings_of(request).max_export_rows
    if rows > max_rows:  # refused before the first byte, not cut off mid-stream
        raise limit_exceeded(
            "rows in this CSV export (lower upstreamDepth, downstreamDepth or nodeLimit)",
            rows,
            max_rows,
            "HEADWATER_MAX_EXPORT_ROWS",
        )
    pipe_ids: set[str] = set()
    for edge in [*view.upstream, *view.downstream]:
        pipe = merge_details(edge.details).get("pipeline")
        if pipe and pipe.get("id"):
            pipe_ids.add(str(pipe["id"]))
    pipelines = store.get_assets_by_ids(pipe_ids) if pipe_ids else {}
    return StreamingResponse(csv_lines(view, pipelines), media_type="text/plain; charset=utf-8")


@router.get("/getLineageEdge/{from_id}/{to_id}", summary="Read one edge's lineage details")
def get_lineage_edge(request: Request, from_id: str, to_id: str, _: Viewer) -> dict[str, Any]:
    store = store_of(request)
    src, dst = store.get_asset(from_id), store.get_asset(to_id)
    edge = store.get_edge(src.pk, dst.pk) if src and dst else None
    if edge is None:
        raise ApiError(404, f"Lineage edge not found between {from_id} and {to_id}")
    return {
        "edge": merge_details(edge.details),
        "details": [d.model_dump(mode="json", exclude_none=True) for d in edge.details],
    }


@router.get("/{entity}/name/{fqn:path}", summary="Lineage of an entity by FQN")
def get_lineage_by_name(
    request: Request,
    entity: str,
    fqn: str,
    _: Viewer,
    upstreamDepth: int = 1,
    downstreamDepth: int = 1,
    nodeLimit: int | None = None,
    includeDeleted: bool = False,
    asOf: str | None = Query(None, description=AS_OF_DOC),
) -> Response:
    store = store_of(request)
    # as of a past time the root may have been deleted since: look it up including deleted
    root = _root_by_fqn(store, entity, fqn, includeDeleted or asOf is not None)
    return _lineage_answer(request, root, upstreamDepth, downstreamDepth, nodeLimit, includeDeleted, asOf)


@router.get("/{entity}/{entity_id}", summary="Lineage of an entity by id")
def get_lineage_by_id(
    request: Request,
    entity: str,
    entity_id: str,
    _: Viewer,
    upstreamDepth: int = 1,
    downstreamDepth: int = 1,
    nodeLimit: int | None = None,
    includeDeleted: bool = False,
    asOf: str | None = Query(None, description=AS_OF_DOC),
) -> Response:
    store = store_of(request)
    root = _root_by_id(store, entity, entity_id, includeDeleted or asOf is not None)
    return _lineage_answer(request, root, upstreamDepth, downstreamDepth, nodeLimit, includeDeleted, asOf)


def _lineage_answer(
    request: Request,
    root: Asset,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int | None,
    include_deleted: bool,
    as_of: str | None,
) -> Response:
    """The lineage read shared by the by-id and by-name routes: current, or as of a past time."""
    if as_of is not None:  # issue 9: the graph as it stood at asOf
        view = as_of_view(request, root, as_of, upstream_depth, downstream_depth, node_limit, include_deleted)
    else:
        view = _read_view(
            request, root, upstream_depth, downstream_depth, node_limit, include_deleted, parse_details=False
        )
    return _lineage_response(store_of(request), view, request, node_limit)


def add_edge(store: Store, edge: EntitiesEdge, who: str | None, principal: Principal | None = None) -> bool:
    """Validate and store one edge; returns whether the pair is new. With a principal, both ends
    must be assets it may change (per-connection admins)."""
    src = _resolve_ref(store, edge.fromEntity, "fromEntity")
    dst = _resolve_ref(store, edge.toEntity, "toEntity")
    if principal is not None:
        guard_assets(store, principal, [("fromEntity", src), ("toEntity", dst)])
    if src.pk == dst.pk:
        raise ApiError(400, "fromEntity and toEntity must differ: an entity cannot be its own lineage")
    details = edge.lineageDetails or LineageDetails()
    pipeline_pk = _resolve_pipeline(store, details)
    _validate_columns(store, src, dst, details.columnsLineage)
    return store.put_edges(
        [EdgeWrite(src.pk, dst.pk, details, description=edge.description, pipeline_pk=pipeline_pk)], who
    )[0]


@router.put("", summary="Add or replace an edge (AddLineageRequest)", status_code=200)
def put_lineage(request: Request, principal: Editor, body: AddLineageRequest) -> Response:
    add_edge(store_of(request), body.edge, actor(request), principal)
    return Response(status_code=200)


@router.patch("/{from_entity}/{from_id}/{to_entity}/{to_id}", summary="JSON-patch one edge's lineage details")
def patch_lineage(
    request: Request,
    from_entity: str,
    from_id: str,
    to_entity: str,
    to_id: str,
    principal: Editor,
    ops: list[dict[str, Any]] = Body(...),
) -> dict[str, Any]:
    store = store_of(request)
    src = _root_by_id(store, from_entity, from_id)
    dst = _root_by_id(store, to_entity, to_id)
    guard_assets(store, principal, [("fromEntity", src), ("toEntity", dst)])
    edge = store.get_edge(src.pk, dst.pk)
    if edge is None:
        raise ApiError(404, f"Lineage edge not found between {from_id} and {to_id}")
    current = merge_details(edge.details)
    current.pop("sources", None)
    try:
        patched = jsonpatch.apply_patch(current, ops)
        details = LineageDetails.model_validate(patched)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise ApiError(400, f"invalid JSON patch: {exc}") from None
    except ValidationError as exc:
        raise ApiError(400, f"patched lineageDetails are invalid: {exc.errors()[0]['msg']}") from None
    pipeline_pk = _resolve_pipeline(store, details)
    _validate_columns(store, src, dst, details.columnsLineage)
    others = [_narrowed_to(d, details) for d in edge.details if d.source != details.source]
    writes = [EdgeWrite(src.pk, dst.pk, d, pipeline_pk=_resolve_pipeline(store, d)) for d in others]
    writes.append(EdgeWrite(src.pk, dst.pk, details, pipeline_pk=pipeline_pk))
    store.put_edges(writes, actor(request))
    fresh = store.get_edge(src.pk, dst.pk)
    assert fresh is not None
    return merge_details(fresh.details)


def _narrowed_to(other: LineageDetails, patched: LineageDetails) -> LineageDetails:
    """Another source's details cut down so that the merged edge equals the patched document.

    A PATCH edits the merged view users see, but each source keeps its own details. The patched
    document is stored under its source; every other source keeps only the column mappings the
    patch kept, and loses SQL, pipeline or description where the patch set a different value or
    removed it. The other sources stay listed, so provenance survives the edit.
    """
    kept = {(c.toColumn, c.function, f) for c in patched.columnsLineage for f in c.fromColumns}
    columns = []
    for cl in other.columnsLineage:
        froms = [f for f in cl.fromColumns if (cl.toColumn, cl.function, f) in kept]
        if froms:
            columns.append(cl.model_copy(update={"fromColumns": froms}))
    update: dict[str, Any] = {"columnsLineage": columns}
    for key in ("sqlQuery", "pipeline", "description"):
        if getattr(other, key) != getattr(patched, key):
            update[key] = None
    return other.model_copy(update=update)


def _raw_segments(request: Request) -> list[str]:
    """Path segments after /api/v1/lineage/, split before percent-decoding (FQNs may hold '/')."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    tail = path.split("/api/v1/lineage/", 1)[1] if "/api/v1/lineage/" in path else ""
    return [unquote(seg) for seg in tail.split("/") if seg != ""]


@router.delete("/{rest:path}", summary="Delete edges: by ids, by FQNs, or all of one source into an entity")
def delete_lineage(request: Request, rest: str, principal: Editor) -> Response:
    """Three OpenMetadata shapes share this prefix:

    - `{fromEntity}/{fromId}/{toEntity}/{toId}`
    - `{fromEntity}/name/{fromFQN}/{toEntity}/name/{toFQN}`
    - `{entityType}/{entityId}/type/{lineageSource}` (and 2.0's `source/name/{type}/{fqn}/type/{source}`)
    """
    store = store_of(request)
    seg = _raw_segments(request)
    sources = {s.value for s in LineageSource}
    if len(seg) == 6 and seg[0] == "source" and seg[1] == "name" and seg[4] == "type":
        root = _root_by_fqn(store, seg[2], seg[3])
        _guard_delete_by_source(store, principal, root, seg[5])
        _delete_by_source(store, root, seg[5], sources)
        return Response(status_code=200)
    if len(seg) == 4 and seg[2] == "type":  # no entity type is called "type"
        root = _root_by_id(store, seg[0], seg[1])
        _guard_delete_by_source(store, principal, root, seg[3])
        _delete_by_source(store, root, seg[3], sources)
        return Response(status_code=200)
    if len(seg) == 6 and seg[1] == "name" and seg[4] == "name":
        src = _root_by_fqn(store, seg[0], seg[2], include_deleted=True)
        dst = _root_by_fqn(store, seg[3], seg[5], include_deleted=True)
    elif len(seg) == 4:
        src = _root_by_id(store, seg[0], seg[1], include_deleted=True)
        dst = _root_by_id(store, seg[2], seg[3], include_deleted=True)
    else:
        raise ApiError(
            400,
            "use DELETE /api/v1/lineage/{fromEntity}/{fromId}/{toEntity}/{toId}, "
            "/{fromEntity}/name/{fromFQN}/{toEntity}/name/{toFQN} or /{entity}/{id}/type/{source}",
        )
    guard_assets(store, principal, [("fromEntity", src), ("toEntity", dst)])
    if not store.delete_edge(src.pk, dst.pk):
        raise ApiError(404, "Lineage edge not found")
    return Response(status_code=200)


def _guard_delete_by_source(store: Store, principal: Principal, root: Asset, source: str) -> None:
    """Deleting by source changes every edge it removes, so both ends of each are asked about:
    the pipeline's edges for PipelineLineage, the edges into the entity otherwise."""
    if source == LineageSource.PIPELINE_LINEAGE.value:
        pairs = store.edges_by_pipeline([root.pk])
    else:
        pairs = [(pk, root.pk) for pk in store.upstream_pks_by_source(root.pk, source)]
    ends = store.get_assets_by_pks({pk for pair in pairs for pk in pair})
    guard_assets(store, principal, [("entity", root), *(("edge end", a) for a in ends.values())])


def _delete_by_source(store: Store, root: Asset, source: str, sources: set[str]) -> None:
    if source not in sources:
        raise ApiError(400, f"Unknown lineage source {source!r}; valid: {', '.join(sorted(sources))}")
    if source == LineageSource.PIPELINE_LINEAGE.value:
        store.delete_edges_by_pipeline(root.pk)
    else:
        store.delete_edges_into_by_source(root.pk, source)
