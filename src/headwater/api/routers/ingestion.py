"""Ingestion pipelines (OpenMetadata-shaped ``/api/v1/services/ingestionPipelines``) and the
endpoints the workflow's REST sink writes through (``/api/v1/ingestion/...``).

``on_startup`` starts the in-process scheduler (``HEADWATER_SCHEDULER=false`` turns it off).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from fastapi import APIRouter, Body, FastAPI, Query, Request

from headwater.api.auth import Editor, Viewer
from headwater.api.deps import actor, store_of
from headwater.api.errors import ApiError
from headwater.ingest.config import ConfigError
from headwater.ingest.pipelines import PipelineScheduler, PipelineStore, run_json
from headwater.ingest.sink import table_from_json, views_of, writer_from_options
from headwater.ingest.writer import ParsedQuery, TableIndex
from headwater.store import ConflictError, Store

log = logging.getLogger("headwater.ingest")

BASE = "/api/v1/services/ingestionPipelines"
router = APIRouter(tags=["Ingestion pipelines"])


def _pipelines(request: Request) -> PipelineStore:
    sched: PipelineScheduler | None = getattr(request.app.state, "scheduler", None)
    if sched is not None:
        return sched.pipelines
    return PipelineStore(store_of(request))


def _scheduler(request: Request) -> PipelineScheduler:
    sched: PipelineScheduler | None = getattr(request.app.state, "scheduler", None)
    if sched is None:
        raise ApiError(503, "the scheduler is not running on this server (HEADWATER_SCHEDULER=false)")
    return sched


def _sync(request: Request) -> None:
    sched: PipelineScheduler | None = getattr(request.app.state, "scheduler", None)
    if sched is not None:
        sched.sync()


def _json(ps: PipelineStore, pid: str) -> dict[str, Any]:
    p = ps.get(pid)
    last = ps.last_run(p.id)
    return p.to_json(run_json(last) if last is not None else None)


@router.get(BASE, summary="List ingestion pipelines")
def list_pipelines(
    request: Request,
    _: Viewer,
    service: str | None = Query(None, description="Only the pipelines of this service"),
    fields: str | None = Query(None, description="pipelineStatuses adds the last run"),
) -> dict[str, Any]:
    ps = _pipelines(request)
    items = []
    for p in ps.all(service):
        last = ps.last_run(p.id) if fields and "pipelineStatuses" in fields else None
        items.append(p.to_json(run_json(last) if last is not None else None))
    return {"data": items, "paging": {"total": len(items)}}


@router.post(BASE, summary="Create an ingestion pipeline", status_code=201)
def create_pipeline(request: Request, who: Editor, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    ps = _pipelines(request)
    try:
        p, _ = ps.create_or_update(body, actor(request), create_only=True)
    except ConflictError:
        raise
    _sync(request)
    return p.to_json()


@router.put(BASE, summary="Create or update an ingestion pipeline")
def put_pipeline(request: Request, who: Editor, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    ps = _pipelines(request)
    p, _ = ps.create_or_update(body, actor(request))
    _sync(request)
    return p.to_json()


@router.post(BASE + "/deploy/{pid}", summary="Deploy a pipeline (its schedule starts)")
def deploy_pipeline(request: Request, pid: str, who: Editor) -> dict[str, Any]:
    ps = _pipelines(request)
    p = ps.get(pid)
    ps.set_flags(p.id, actor(request), deployed=True)
    _sync(request)
    return _json(ps, p.id)


@router.post(BASE + "/trigger/{pid}", summary="Run a pipeline now")
def trigger_pipeline(request: Request, pid: str, who: Editor) -> dict[str, Any]:
    sched = _scheduler(request)
    p = sched.pipelines.get(pid)
    run_id = sched.trigger(p.id)
    return {"code": 200, "message": f"run {run_id} of {p.fqn} started", "runId": run_id, "pipelineId": p.id}


@router.post(BASE + "/toggleIngestion/{pid}", summary="Enable or disable (pause) a pipeline's schedule")
def toggle_pipeline(request: Request, pid: str, who: Editor) -> dict[str, Any]:
    ps = _pipelines(request)
    p = ps.get(pid)
    ps.set_flags(p.id, actor(request), enabled=not p.enabled)
    _sync(request)
    return _json(ps, p.id)


@router.get(BASE + "/logs/{pid}/{run_id}", summary="The log of a run ('last' for the latest)")
def run_logs(request: Request, pid: str, run_id: str, _: Viewer) -> dict[str, Any]:
    ps = _pipelines(request)
    p = ps.get(pid)
    row = ps.last_run(p.id) if run_id == "last" else ps.run(p.id, run_id)
    if row is None:
        raise ApiError(404, f"pipeline {p.fqn} has not run yet")
    text = row.logs or ""
    return {"ingestion_task": text, "lineage_task": text, "runId": row.run_id, "total": "1"}


@router.get(BASE + "/name/{fqn}", summary="An ingestion pipeline by FQN")
def get_pipeline_by_name(request: Request, fqn: str, _: Viewer) -> dict[str, Any]:
    return _json(_pipelines(request), fqn)


@router.get(BASE + "/{fqn}/pipelineStatus", summary="Runs of a pipeline (newest first)")
def pipeline_statuses(
    request: Request,
    fqn: str,
    _: Viewer,
    startTs: int | None = Query(None),
    endTs: int | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    ps = _pipelines(request)
    p = ps.get(fqn)
    rows = ps.runs(p.id, startTs, endTs, limit)
    return {"data": [run_json(r) for r in rows], "paging": {"total": len(rows)}}


@router.get(BASE + "/{fqn}/pipelineStatus/{run_id}", summary="One run of a pipeline")
def pipeline_status(request: Request, fqn: str, run_id: str, _: Viewer) -> dict[str, Any]:
    ps = _pipelines(request)
    p = ps.get(fqn)
    return run_json(ps.run(p.id, run_id))


@router.get(BASE + "/{ref}", summary="An ingestion pipeline by id (or FQN)")
def get_pipeline(request: Request, ref: str, _: Viewer) -> dict[str, Any]:
    return _json(_pipelines(request), ref)


@router.delete(BASE + "/{pid}", summary="Delete a pipeline and its runs")
def delete_pipeline(request: Request, pid: str, who: Editor) -> dict[str, Any]:
    ps = _pipelines(request)
    p = ps.get(pid)
    ps.delete(p.id)
    _sync(request)
    return p.to_json()


# -- the REST sink's endpoints ------------------------------------------------------------------


# The service's table index, reused by the sink's batches while the catalog has no new asset.
_INDEXES: dict[tuple[int, str], tuple[int, float, TableIndex]] = {}
_INDEX_TTL = 60.0
_INDEX_LOCK = threading.Lock()


def _table_index(store: Store, service: str) -> TableIndex:
    key = (id(store), service)
    max_pk = store.max_asset_pk()
    with _INDEX_LOCK:
        hit = _INDEXES.get(key)
        if hit is not None and hit[0] == max_pk and time.monotonic() - hit[1] < _INDEX_TTL:
            return hit[2]
    index = TableIndex(store, service)
    with _INDEX_LOCK:
        if len(_INDEXES) > 64:
            _INDEXES.clear()
        _INDEXES[key] = (max_pk, time.monotonic(), index)
    return index


def _writer(request: Request, body: dict[str, Any], *, cached_index: bool = False) -> Any:
    if not body.get("service"):
        raise ApiError(400, "service: name the database service")
    store = store_of(request)
    index = _table_index(store, str(body["service"])) if cached_index else None
    try:
        return writer_from_options(store, body, actor(request) or "ingestion", index)
    except ConfigError as exc:
        raise ApiError(400, str(exc)) from None


@router.post(
    "/api/v1/ingestion/metadata", tags=["Ingestion sink"], summary="Upsert a service's tables and views"
)
def sink_metadata(request: Request, who: Editor, body: dict[str, Any] = Body(...)) -> dict[str, int]:
    writer = _writer(request, body)
    try:
        tables = [table_from_json(t) for t in body.get("tables") or []]
    except (KeyError, TypeError) as exc:
        raise ApiError(400, f"tables: each needs database, schema and name ({exc})") from None
    result: dict[str, int] = writer.write_metadata(tables)
    return result


@router.post("/api/v1/ingestion/lineage", tags=["Ingestion sink"], summary="Resolve and write parsed queries")
def sink_lineage(request: Request, who: Editor, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    writer = _writer(request, body, cached_index=True)
    try:
        queries = [ParsedQuery.from_json(q) for q in body.get("queries") or []]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ApiError(400, f"queries: each needs sql, sources and targets ({exc})") from None
    writer.ensure_service()
    writer.add(queries)
    out: dict[str, Any] = writer.flush().to_json()
    return out


@router.get(
    "/api/v1/ingestion/views", tags=["Ingestion sink"], summary="Views of a service with their definitions"
)
def sink_views(request: Request, _: Viewer, service: str = Query(...)) -> dict[str, Any]:
    from dataclasses import asdict

    return {"data": [asdict(v) for v in views_of(store_of(request), service)]}


# -- lifecycle ----------------------------------------------------------------------------------


def on_startup(app: FastAPI) -> None:
    if os.environ.get("HEADWATER_SCHEDULER", "true").lower() in ("0", "false", "no", "off"):
        return
    sched = PipelineScheduler(app.state.store)
    sched.start()
    app.state.scheduler = sched


def on_shutdown(app: FastAPI) -> None:
    sched: PipelineScheduler | None = getattr(app.state, "scheduler", None)
    if sched is not None:
        sched.shutdown()
        app.state.scheduler = None
