"""Analysis on the lineage graph: impact, root cause, metadata propagation, lineage as of a time, diff.

Every time parameter takes epoch milliseconds (as OpenMetadata writes times) or ISO-8601
(`2026-11-22T09:00:00Z`; no offset means UTC).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import StreamingResponse

from headwater.analysis.asof import AsOfError, NotThenError, build_as_of_view, parse_instant
from headwater.analysis.diff import DiffError, lineage_diff, run_diff
from headwater.analysis.impact import impact_csv, impact_of_asset, impact_of_column
from headwater.analysis.propagation import PropagationWatcher, RulesError, load_rules, origins, save_rules
from headwater.analysis.root_cause import root_cause
from headwater.analysis.snapshots import SnapshotKeeper
from headwater.api.auth import Editor, Viewer
from headwater.api.deps import base_url, index_of, settings_of, store_of
from headwater.api.errors import ApiError, limit_exceeded
from headwater.api.om_json import type_from_path_segment
from headwater.graph.view import LineageView
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.store import Store

router = APIRouter(prefix="/api/v1/analysis", tags=["Analysis"])

AS_OF_DOC = (
    "Read the graph as it stood at this instant: epoch milliseconds or ISO-8601 (no offset = UTC). "
    "Edges, column mappings and deletions after it are undone."
)


# -- shared helpers (also used by the OpenMetadata lineage routes for `asOf`) ---------------------


def instant(value: str | None, name: str = "asOf") -> int | None:
    try:
        return parse_instant(value)
    except AsOfError as exc:
        raise ApiError(400, f"{name}: {exc}") from None


def as_of_view(
    request: Request,
    root: Asset,
    as_of: str,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int | None,
    include_deleted: bool,
) -> LineageView:
    """The lineage view of `root` as of `as_of`, with the same limits as a current read.

    `root` may be deleted now: what matters is whether it was at `as_of`.
    """
    at = instant(as_of)
    assert at is not None
    settings = settings_of(request)
    for name, value in (("upstreamDepth", upstream_depth), ("downstreamDepth", downstream_depth)):
        if value < 0 or value > settings.max_depth:
            raise ApiError(400, f"{name} must be between 0 and {settings.max_depth} (got {value})")
    limit = settings.node_limit if node_limit is None else node_limit
    if limit < 1 or limit > settings.node_limit:
        raise ApiError(400, f"nodeLimit must be between 1 and {settings.node_limit}")
    try:
        return build_as_of_view(
            store_of(request),
            index_of(request),
            root,
            at,
            upstream_depth=upstream_depth,
            downstream_depth=downstream_depth,
            node_limit=limit,
            include_deleted=include_deleted,
        )
    except NotThenError as exc:
        raise ApiError(404, str(exc)) from None


def _root(store: Store, entity_type: str, fqn: str | None, entity_id: str | None, deleted_ok: bool) -> Asset:
    asset_type = type_from_path_segment(entity_type)
    if entity_id:
        asset = store.get_asset(entity_id)
    elif fqn:
        asset = store.get_asset_by_fqn(asset_type, fqn)
    else:
        raise ApiError(400, "give `fqn` (or `id`) of the entity")
    if asset is None or asset.type is not asset_type or (asset.deleted and not deleted_ok):
        raise ApiError(404, f"{asset_type.value} instance for {entity_id or fqn} not found")
    return asset


def _holder_of_column(store: Store, column: Asset) -> Asset:
    cur = column
    while cur.type is AssetType.COLUMN:
        parent = store.get_asset_by_pk(cur.parent_pk) if cur.parent_pk is not None else None
        if parent is None:
            raise ApiError(404, f"column {column.fqn} has no parent asset")
        cur = parent
    return cur


def _depth(request: Request, value: int | None, default: int) -> int:
    maximum = settings_of(request).max_depth
    depth = default if value is None else value
    if depth < 1 or depth > maximum:
        raise ApiError(400, f"maxDepth must be between 1 and {maximum} (got {depth})")
    return min(depth, maximum)


# -- impact ---------------------------------------------------------------------------------------


@router.get("/impact", summary="Impact analysis: everything downstream of an asset or a column")
def impact(
    request: Request,
    _: Viewer,
    fqn: str | None = Query(None, description="FQN of the asset (or of the column with entityType=column)"),
    id: str | None = Query(None, description="id of the asset instead of its FQN"),
    entityType: str = Query("table", description="type of the asset: table, column, topic, ..."),
    column: str | None = Query(
        None, description="a column of the asset (its FQN or its name): analyse that column instead"
    ),
    maxDepth: int | None = Query(None, description="hops to follow downstream (default: the server maximum)"),
    assetTypes: str | None = Query(
        None, description="comma-separated asset types to keep (for columns: the type of their asset)"
    ),
    limit: int = Query(100, ge=1, le=10_000, description="page size"),
    offset: int = Query(0, ge=0, description="rows to skip"),
    format: str = Query("json", description="json, or csv for the whole result as CSV"),
    includeDeleted: bool = False,
    asOf: str | None = Query(None, description=AS_OF_DOC),
) -> Any:
    """What breaks if this asset or column is dropped or changed.

    Rows: every downstream asset (or column) with `depth`, the shortest `path` from the root
    (FQNs), `type`, `owners` (of the asset, or of the column's asset) and, for columns, `hop`
    (`direct` copy or `transformation`, with the mapping's `function`) and `pathKind` (direct only
    when every hop on the path is a copy). Sorted by depth then FQN; `total` counts all rows,
    `data` is the page `offset`..`offset+limit`. `format=csv` returns every row as CSV. With
    `asOf`, the answer on the graph and column mappings as they stood then.
    """
    store, index = store_of(request), index_of(request)
    at = instant(asOf)
    depth = _depth(request, maxDepth, settings_of(request).max_depth)
    types = [t.strip() for t in (assetTypes or "").split(",") if t.strip()] or None
    node_limit = max(settings_of(request).node_limit, 100_000)
    if entityType == AssetType.COLUMN.value or column:
        if column and entityType != AssetType.COLUMN.value:
            holder = _root(store, entityType, fqn, id, includeDeleted or at is not None)
            column_fqn = column if column.startswith(holder.fqn + ".") else f"{holder.fqn}.{column}"
        else:
            col = _root(store, AssetType.COLUMN.value, fqn, id, includeDeleted or at is not None)
            holder = _holder_of_column(store, col)
            column_fqn = col.fqn
        result = impact_of_column(
            store,
            index,
            holder,
            column_fqn,
            max_depth=depth,
            types=types,
            node_limit=node_limit,
            include_deleted=includeDeleted,
            at=at,
        )
    else:
        root = _root(store, entityType, fqn, id, includeDeleted or at is not None)
        result = impact_of_asset(
            store,
            index,
            root,
            max_depth=depth,
            types=types,
            node_limit=node_limit,
            include_deleted=includeDeleted,
            at=at,
        )
    if format == "csv":
        max_rows = settings_of(request).max_export_rows
        if len(result.rows) > max_rows:
            raise limit_exceeded(
                "rows in this CSV export (lower maxDepth or filter assetTypes)",
                len(result.rows),
                max_rows,
                "HEADWATER_MAX_EXPORT_ROWS",
            )
        return StreamingResponse(impact_csv(result.rows), media_type="text/csv; charset=utf-8")
    if format != "json":
        raise ApiError(400, "format must be json or csv")
    root_asset = result.root
    return {
        "entity": {"id": root_asset.id, "type": root_asset.type.value, "fullyQualifiedName": root_asset.fqn},
        "column": result.column,
        "maxDepth": depth,
        "total": len(result.rows),
        "offset": offset,
        "limit": limit,
        "truncated": result.truncated,
        "asOf": at,
        "data": result.page(offset, limit),
    }


# -- root cause -------------------------------------------------------------------------------------


@router.get("/rootCause", summary="Root cause analysis: everything upstream, most likely culprits first")
def root_cause_endpoint(
    request: Request,
    _: Viewer,
    fqn: str | None = Query(None, description="FQN of the asset"),
    id: str | None = Query(None, description="id of the asset instead of its FQN"),
    entityType: str = Query("table", description="type of the asset"),
    maxDepth: int | None = Query(None, description="hops to follow upstream (default: the server maximum)"),
    changedWithinHours: float = Query(168, gt=0, description="an edge changed this recently is suspect"),
    asOf: str | None = Query(None, description=AS_OF_DOC),
) -> dict[str, Any]:
    """Upstream assets of an entity, each with the edges leading toward it, the pipelines powering
    them and the jobs writing it with their latest run (state, start, end, error, lateness).

    `items` are ordered most suspicious first: a failed or aborted latest run, then a late run (no
    start for twice the job's usual interval, or running twice its usual duration), then an edge
    changed within `changedWithinHours`, then a run still going; ties by depth, then the most
    recent event. `pipelines` lists every job found with its latest run, same order.

    With `asOf`, the analysis as headwater knew things then: the graph and edge details as of that
    instant, run states received by then, lateness and the change window judged at that instant.
    """
    store = store_of(request)
    at = instant(asOf)
    root = _root(store, entityType, fqn, id, at is not None)
    depth = _depth(request, maxDepth, settings_of(request).max_depth)
    try:
        return root_cause(
            store,
            index_of(request),
            root,
            max_depth=depth,
            node_limit=settings_of(request).node_limit,
            changed_within_ms=int(changedWithinHours * 3600 * 1000),
            at=at,
        )
    except NotThenError as exc:
        raise ApiError(404, str(exc)) from None


# -- lineage as of a time, and diff -------------------------------------------------------------------


@router.get("/lineage", summary="Lineage of an entity as it stood at a past instant")
def lineage_as_of(
    request: Request,
    _: Viewer,
    asOf: str = Query(..., description=AS_OF_DOC),
    fqn: str | None = Query(None, description="FQN of the entity"),
    id: str | None = Query(None, description="id of the entity instead of its FQN"),
    entityType: str = Query("table", description="type of the entity"),
    upstreamDepth: int = 1,
    downstreamDepth: int = 1,
    nodeLimit: int | None = None,
    includeDeleted: bool = False,
) -> dict[str, Any]:
    """OpenMetadata's EntityLineage as of `asOf` (same as `GET /api/v1/lineage/{type}/name/{fqn}?asOf=`),
    plus `asOf` (ms). Assets deleted since show `deleted: false`; an entity created after `asOf`
    (or deleted then) is a 404."""
    from headwater.api.routers.om_lineage import lineage_json

    store = store_of(request)
    root = _root(store, entityType, fqn, id, True)
    view = as_of_view(request, root, asOf, upstreamDepth, downstreamDepth, nodeLimit, includeDeleted)
    out = lineage_json(store, view, base_url(request))
    out["asOf"] = instant(asOf)
    return out


@router.get("/diff", summary="What lineage changed between two instants or two runs of a pipeline")
def diff(
    request: Request,
    _: Viewer,
    from_: str | None = Query(None, alias="from", description="start instant (ms or ISO-8601)"),
    to: str | None = Query(None, description="end instant (default: now)"),
    pipeline: str | None = Query(None, description="FQN of a pipeline: only edges it powers"),
    pipelineType: str = Query("pipeline", description="type of that asset (pipeline, process, ...)"),
    runA: str | None = Query(None, description="a run id: diff between the instants of runA and runB"),
    runB: str | None = Query(None, description="the other run id"),
) -> dict[str, Any]:
    """Edges `added`, `removed` and `changed` (fields that differ, before and after) and column
    mappings `added`, `removed` and `changed` (per target column) between `from` and `to`, plus
    assets deleted, restored or purged in between. With `runA` and `runB` (runs of one pipeline),
    the window is between the two runs and only edges that pipeline powers, or that go from the
    runs' inputs to their outputs, count."""
    store = store_of(request)
    pipe = None
    if pipeline:
        pipe = _root(store, pipelineType, pipeline, None, True)
    try:
        if runA or runB:
            if not (runA and runB):
                raise ApiError(400, "give both runA and runB")
            return run_diff(store, runA, runB, pipeline=pipe)
        since = instant(from_, "from")
        if since is None:
            raise ApiError(400, "give `from` (or runA and runB)")
        until = instant(to, "to")
        from headwater.store import now_ms

        return lineage_diff(store, since, until if until is not None else now_ms(), pipeline=pipe)
    except DiffError as exc:
        raise ApiError(404 if "not found" in str(exc) else 400, str(exc)) from None


# -- metadata propagation ------------------------------------------------------------------------------


def _watcher(request: Request) -> PropagationWatcher:
    watcher: PropagationWatcher | None = getattr(request.app.state, "propagation", None)
    if watcher is None:
        watcher = PropagationWatcher(store_of(request), index_of(request))
        request.app.state.propagation = watcher
    return watcher


@router.get("/propagation/rules", summary="Read the metadata propagation rules")
def get_rules(request: Request, _: Viewer) -> dict[str, Any]:
    """The rules: which tags (tagFQN patterns), descriptions and owners flow downstream, through
    which hop kinds (`direct`, `transformation`), how deep, whether column tags also label their
    tables (`toTables`), and `stopAt` (FQNs of assets that opt out; an asset can also opt out with
    `attributes.propagation = false`)."""
    return load_rules(store_of(request)).json()


@router.put("/propagation/rules", summary="Replace the metadata propagation rules (and recompute)")
def put_rules(request: Request, _: Editor, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Example: `{"rules": [{"name": "pii", "metadata": "tags", "tags": ["PII.*"], "through":
    ["direct"], "maxDepth": 3, "toTables": true}], "stopAt": ["svc.db.sch.public_table"]}`.
    Propagated metadata is recomputed at once; the result is in `propagation`."""
    try:
        rules = save_rules(store_of(request), body)
    except RulesError as exc:
        raise ApiError(400, str(exc)) from None
    result = _watcher(request).run_now()
    return {**rules.json(), "propagation": result}


@router.post("/propagation/run", summary="Recompute propagated metadata now")
def run_propagation(request: Request, _: Editor) -> dict[str, Any]:
    """Recompute (it also happens by itself shortly after any lineage change). Returns how many
    assets should carry propagated metadata and how many changed."""
    return _watcher(request).run_now()


@router.get("/propagation/status", summary="The last propagation recompute")
def propagation_status(request: Request, _: Viewer) -> dict[str, Any]:
    """The lineage log position and counts of the last recompute."""
    return dict(_watcher(request).last)


@router.get("/propagation/origins", summary="Where an asset's propagated metadata came from")
def propagation_origins(
    request: Request,
    _: Viewer,
    fqn: str | None = Query(None, description="FQN of the asset (a column: entityType=column)"),
    id: str | None = Query(None, description="id of the asset instead of its FQN"),
    entityType: str = Query("table", description="type of the asset"),
) -> dict[str, Any]:
    """`tags` (tagFQN -> origin), `description` ({value, origin}) and `owners` ({ids, origin}) that
    were propagated to this asset; each origin is {id, type, fullyQualifiedName, rule, depth}.
    (OpenMetadata's TagLabel allows no extra keys, so entity reads show only `labelType:
    Propagated` and a `reason`.)"""
    asset = _root(store_of(request), entityType, fqn, id, True)
    return {
        "entity": {"id": asset.id, "type": asset.type.value, "fullyQualifiedName": asset.fqn},
        **origins(asset),
    }


def on_startup(app: FastAPI) -> None:
    watcher = PropagationWatcher(app.state.store, app.state.index)
    app.state.propagation = watcher
    watcher.start()
    keeper = SnapshotKeeper(app.state.store)  # checkpoints for as-of reads far back
    app.state.snapshots = keeper
    keeper.start()


def on_shutdown(app: FastAPI) -> None:
    keeper: SnapshotKeeper | None = getattr(app.state, "snapshots", None)
    if keeper is not None:
        keeper.stop()
    watcher: PropagationWatcher | None = getattr(app.state, "propagation", None)
    if watcher is not None:
        watcher.stop()
