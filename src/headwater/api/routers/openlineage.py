"""OpenLineage over HTTP: the client's default path, OpenMetadata's and Atlan's paths, and
Marquez's read API over the same graph.

A 2xx on any ingest path means the events are in the durable raw log; translation into
lineage follows within milliseconds in the background and survives a crash in between.
Invalid events get a 400 naming the failing field and are kept nowhere.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from headwater.api.auth import Editor, Viewer
from headwater.api.deps import settings_of, store_of
from headwater.api.errors import ApiError, error_response, limit_exceeded
from headwater.openlineage.events import AcceptedEvent, EventValidationError, accept_event, accept_json
from headwater.openlineage.marquez import MarquezReader, NotFound
from headwater.openlineage.service import IngestService

router = APIRouter(tags=["OpenLineage"])
# The ingest endpoints, matched before every other router (see app.create_app): producers
# call them thousands of times a second, and route matching is a linear scan.
priority_router = APIRouter(tags=["OpenLineage"])


# --------------------------------------------------------------------------- lifecycle


def ingest_service(app: FastAPI) -> IngestService:
    """The app's ingest service, created on first use (tests may skip the lifespan)."""
    svc: IngestService | None = getattr(app.state, "openlineage", None)
    if svc is None:
        svc = IngestService(app.state.store, max_translate_wait=app.state.settings.translate_max_wait)
        app.state.openlineage = svc
    return svc


def on_startup(app: FastAPI) -> None:
    """Start group commit and background translation; resume translating leftovers."""
    ingest_service(app).start()
    try:
        from headwater.openlineage.services import ConsumerManager

        manager = ConsumerManager(app.state.store, ingest_service(app))
        app.state.openlineage_consumers = manager
        manager.start()
    except ImportError:  # pragma: no cover - services module optional during development
        pass


def on_shutdown(app: FastAPI) -> None:
    manager = getattr(app.state, "openlineage_consumers", None)
    if manager is not None:
        manager.stop()
    svc: IngestService | None = getattr(app.state, "openlineage", None)
    if svc is not None:
        svc.stop()


# --------------------------------------------------------------------------- body handling


async def _json_body(request: Request) -> Any:
    """The request body as JSON, gunzipped when sent with ``Content-Encoding: gzip``."""
    return _loads(await _body_bytes(request))


async def _body_bytes(request: Request) -> bytes:
    """The request body, gunzipped when sent with ``Content-Encoding: gzip``."""
    body = await request.body()
    limit = settings_of(request).max_body_bytes
    encoding = request.headers.get("content-encoding", "").lower().strip()
    if encoding in ("gzip", "x-gzip", "deflate") or body[:2] == b"\x1f\x8b":
        try:
            if encoding == "deflate":
                d = zlib.decompressobj()
                body = d.decompress(body, limit + 1)
            else:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = d.decompress(body, limit + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise ApiError(400, f"Body is not valid {encoding or 'gzip'} data: {exc}") from None
        if len(body) > limit:
            raise ApiError(413, f"Decompressed body exceeds {limit} bytes (HEADWATER_MAX_BODY_BYTES)")
    if not body.strip():
        raise ApiError(400, "Empty body: send one OpenLineage event as JSON")
    return body


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"Invalid JSON in request body: {exc}") from None


async def _one_event(request: Request) -> AcceptedEvent | Any:
    """One event from the body, accepted (core fields checked) without decoding all of it;
    a body that is not one plausible event is decoded and returned as is (a batch sent to a
    single-event path) or raises what :func:`accept_event` says is wrong."""
    data = await _body_bytes(request)
    ev = accept_json(data)
    if ev is not None:
        return ev
    body = _loads(data)
    if isinstance(body, list):
        return body
    return accept_event(body, data)


def _invalid(exc: EventValidationError) -> JSONResponse:
    return error_response(400, f"Invalid OpenLineage event: {exc.field}: {exc.message}", field=exc.field)


async def _store(request: Request, events: list[AcceptedEvent], transport: str) -> int:
    return await ingest_service(request.app).store_async(events, transport)


def _edge_count(ev: AcceptedEvent) -> int:
    ins, outs = (set(x) for x in ev.io_names())
    return len([1 for i in ins for o in outs if i != o])


def _batch_items(body: Any, *, om: bool) -> list[Any]:
    if om:
        if not isinstance(body, dict) or not isinstance(body.get("events"), list) or not body["events"]:
            raise ApiError(400, 'Body must be {"events": [OpenLineage events…]} with at least one event')
        items: list[Any] = body["events"]
        return items
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        items = body["events"]
        return items
    if not isinstance(body, list):
        raise ApiError(400, "Body must be a JSON array of OpenLineage events")
    return body


def _validate_all(items: list[Any]) -> tuple[list[AcceptedEvent], list[dict[str, Any]]]:
    good: list[AcceptedEvent] = []
    failed: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        try:
            good.append(accept_event(item))
        except EventValidationError as exc:
            failed.append(
                {"index": i, "reason": f"{exc.field}: {exc.message}", "field": exc.field, "retriable": False}
            )
    return good, failed


# --------------------------------------------------------------------------- fast lane


class IngestFastLane:
    """``POST /api/v1/lineage`` (the client's default path) in plain ASGI, in front of
    FastAPI's middleware stack (the app's front door, see :class:`HeadwaterApp`).

    A producer sends thousands of events a second there; FastAPI's middleware, routing,
    dependency injection and request objects cost more per request than accepting the event
    does. Only the plain case is answered here: a bearer token verified recently (the token
    cache) whose role may write and that is not scoped, an uncompressed body within the size
    limit that is one event passing the core checks, and no ``Origin`` header (CORS is the
    stack's business). Its answer carries the security headers the stack adds to every
    answer. Everything else (other paths, gzip, batches, invalid events, unknown tokens,
    store errors) goes on through the stack to the FastAPI endpoint below with the body
    replayed, which answers exactly as before.
    """

    def __init__(self, fastapi_app: Any, response_headers: list[tuple[bytes, bytes]]) -> None:
        self.fastapi_app = fastapi_app
        self.app = fastapi_app.behind_front_door  # what the lane does not answer
        self.response_headers = [(b"content-length", b"0"), *response_headers]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/v1/lineage" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = self.fastapi_app.state
        limit = state.settings.max_body_bytes
        token = None
        plain = state.settings.auth
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, rest = value.partition(b" ")
                token = rest.strip().decode("latin-1") if scheme.lower() == b"bearer" else None
            elif key == b"content-encoding" or key == b"origin":
                plain = False
            elif key == b"content-length" and not (value.isdigit() and int(value) <= limit):
                plain = False  # the stack answers 413 without reading the body
        principal = state.tokens.cached(token) if plain and token else None
        if principal is None or not principal.allows("editor") or principal.scope:
            await self.app(scope, receive, send)
            return
        chunks = []
        size = 0
        more = True
        while more and size <= limit:  # beyond: the endpoint's answer
            message = await receive()
            if message["type"] != "http.request":
                return  # client gone
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            ev = None if more or size > limit else accept_json(body)
        except EventValidationError:
            ev = None
        if ev is not None:
            try:
                await ingest_service(self.fastapi_app).store_async([ev], "http")
            except Exception:
                ev = None  # the endpoint tries again and reports the error its own way
            else:
                await send(
                    {"type": "http.response.start", "status": 201, "headers": list(self.response_headers)}
                )
                await send({"type": "http.response.body", "body": b""})
                return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)


def front_door(app: Any) -> IngestFastLane:
    """The ingest fast lane in front of ``app`` (a :class:`HeadwaterApp`)."""
    from headwater.api.app import SECURITY_HEADERS

    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
    return IngestFastLane(app, headers)


# --------------------------------------------------------------------------- ingest endpoints


@priority_router.post(
    "/api/v1/lineage", status_code=201, summary="Ingest one OpenLineage event (client default path)"
)
async def post_lineage(request: Request, _: Editor) -> Response:
    try:
        ev = await _one_event(request)
    except EventValidationError as exc:
        return _invalid(exc)
    if isinstance(ev, list):  # lenient: a batch sent to the single-event path
        return await post_lineage_batch_items(request, ev)
    await _store(request, [ev], "http")
    return Response(status_code=201)


def _check_batch_size(request: Request, items: list[Any]) -> None:
    limit = settings_of(request).max_batch_events
    if len(items) > limit:
        raise limit_exceeded("events in one batch", len(items), limit, "HEADWATER_MAX_BATCH_EVENTS")


async def post_lineage_batch_items(request: Request, items: list[Any]) -> JSONResponse:
    _check_batch_size(request, items)
    good, failed = _validate_all(items)
    if good:
        await _store(request, good, "http")
    summary = {
        "received": len(items),
        "successful": len(good),
        "failed": len(failed),
        "retriable": 0,
        "non_retriable": len(failed),
    }
    status = "success" if not failed else ("partial_success" if good else "failure")
    content = {"status": status, "summary": summary, "failed_events": failed}
    if items and not good:
        message = f"No valid event in the batch; first error: {failed[0]['reason']}"
        return JSONResponse(status_code=400, content={"code": 400, "message": message, **content})
    return JSONResponse(status_code=200, content=content)


@priority_router.post("/api/v1/lineage/batch", summary="Ingest a JSON array of OpenLineage events")
async def post_lineage_batch(request: Request, _: Editor) -> JSONResponse:
    body = await _json_body(request)
    return await post_lineage_batch_items(request, _batch_items(body, om=False))


@priority_router.post(
    "/api/v1/openlineage/lineage", summary="Ingest one OpenLineage event (OpenMetadata's path)"
)
async def post_om_lineage(request: Request, _: Editor) -> JSONResponse:
    try:
        ev = await _one_event(request)
        if isinstance(ev, list):
            ev = accept_event(ev)  # "event must be a JSON object"
    except EventValidationError as exc:
        return _invalid(exc)
    await _store(request, [ev], "http:openmetadata")
    n = _edge_count(ev)
    return JSONResponse(
        {
            "status": "success",
            "message": f"Stored; {n} lineage edge(s) from this event",
            "lineageEdgesCreated": n,
        }
    )


@priority_router.post(
    "/api/v1/openlineage/lineage/batch", summary="Ingest {events: [...]} (OpenMetadata's batch path)"
)
async def post_om_lineage_batch(request: Request, _: Editor) -> JSONResponse:
    items = _batch_items(await _json_body(request), om=True)
    _check_batch_size(request, items)
    good, failed = _validate_all(items)
    if good:
        await _store(request, good, "http:openmetadata")
    edges = sum(_edge_count(e) for e in good)
    status = "success" if not failed else ("partial_success" if good else "failure")
    content = {
        "status": status,
        "message": f"Stored {len(good)} event(s); {edges} lineage edge(s)",
        "lineageEdgesCreated": edges,
        "summary": {"received": len(items), "successful": len(good), "failed": len(failed), "skipped": 0},
        "failedEvents": [{"index": f["index"], "reason": f["reason"], "retriable": False} for f in failed],
    }
    if not good:
        return JSONResponse(status_code=400, content={"code": 400, **content})
    return JSONResponse(content)


@priority_router.post(
    "/events/openlineage/{connector}/api/v1/lineage",
    status_code=202,
    summary="Ingest one OpenLineage event (Atlan's path; the job namespace names the connection)",
)
@priority_router.post(
    "/events/openlineage/{connector}/api/v1/lineages", status_code=202, include_in_schema=False
)
async def post_atlan_lineage(request: Request, connector: str, _: Editor) -> Response:
    try:
        body = await _one_event(request)
    except EventValidationError as exc:
        return _invalid(exc)
    items = body if isinstance(body, list) else [body]
    events: list[AcceptedEvent] = []
    for i, item in enumerate(items):
        try:
            events.append(item if isinstance(item, AcceptedEvent) else accept_event(item))
        except EventValidationError as exc:
            if isinstance(body, list):
                exc = EventValidationError(f"[{i}].{exc.field}", exc.message)
            return _invalid(exc)
    await _store(request, events, f"http:atlan:{connector}")
    return Response(status_code=202)


# --------------------------------------------------------------------------- helpers for tests/ops


@router.post("/api/v1/openlineage/flush", summary="Wait until every stored event is translated (editor)")
async def flush(request: Request, _: Editor, timeout: float = Query(30.0, le=300)) -> dict[str, Any]:
    svc = ingest_service(request.app)
    done = await asyncio.to_thread(svc.wait_idle, timeout)
    return {"translated": done, "pending": await asyncio.to_thread(svc.pending)}


@router.get("/api/v1/openlineage/status", summary="Raw events stored and awaiting translation")
def status(request: Request, _: Viewer) -> dict[str, Any]:
    svc = ingest_service(request.app)
    store = store_of(request)
    return {"pending": svc.pending(), "running": svc.running, "rawEvents": store.count("raw_events")}


# --------------------------------------------------------------------------- Marquez read API


def _reader(request: Request) -> MarquezReader:
    return MarquezReader(store_of(request))


def _marquez(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


@router.get(
    "/api/v1/lineage", summary="Marquez lineage graph around a node (nodeId=dataset:ns:name|job:ns:name)"
)
def marquez_lineage(
    request: Request,
    _: Viewer,
    nodeId: str = Query(..., description="dataset:{namespace}:{name} or job:{namespace}:{name}"),
    depth: int = Query(20, ge=0, le=100),
) -> dict[str, Any]:
    return _marquez(lambda: _reader(request).lineage(nodeId, depth))


@router.get("/api/v1/column-lineage", summary="Marquez column lineage (nodeId=dataset:… or datasetField:…)")
def marquez_column_lineage(
    request: Request,
    _: Viewer,
    nodeId: str = Query(...),
    depth: int = Query(20, ge=0, le=100),
    withDownstream: bool = False,
) -> dict[str, Any]:
    return _marquez(lambda: _reader(request).column_lineage(nodeId, depth, withDownstream))


@router.get("/api/v1/namespaces", summary="Marquez namespaces (job and dataset namespaces)")
def marquez_namespaces(
    request: Request, _: Viewer, limit: int = Query(100, ge=1, le=10000), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    return _reader(request).namespaces(limit, offset)


def _raw_segments(request: Request, prefix: str) -> list[str]:
    """Path segments after ``prefix``, each URL-decoded on its own (names contain ``/``)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    rest = path[len(prefix) :].strip("/")
    return [unquote(p) for p in rest.split("/")] if rest else []


@router.get("/api/v1/namespaces/{rest:path}", summary="Marquez namespace, its jobs, datasets and runs")
def marquez_namespace_tree(
    request: Request,
    rest: str,
    _: Viewer,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0),
    lastRunStates: list[str] = Query(default=[]),
) -> dict[str, Any]:
    reader = _reader(request)
    parts = _raw_segments(request, "/api/v1/namespaces")
    if len(parts) == 1:
        return _marquez(lambda: reader.namespace(parts[0]))
    if len(parts) == 2 and parts[1] == "jobs":
        return reader.jobs(parts[0], limit, offset, lastRunStates)
    if len(parts) == 3 and parts[1] == "jobs":
        return _marquez(lambda: reader.job(parts[0], parts[2]))
    if len(parts) == 4 and parts[1] == "jobs" and parts[3] == "runs":
        return _marquez(lambda: reader.runs(parts[0], parts[2], limit, offset))
    if len(parts) == 2 and parts[1] == "datasets":
        return reader.datasets(parts[0], limit, offset)
    if len(parts) == 3 and parts[1] == "datasets":
        return _marquez(lambda: reader.dataset(parts[0], parts[2]))
    if len(parts) == 4 and parts[3] == "versions" and parts[1] in ("jobs", "datasets"):
        versions = reader.job_versions if parts[1] == "jobs" else reader.dataset_versions
        return _marquez(lambda: versions(parts[0], parts[2], limit, offset))
    if len(parts) == 5 and parts[3] == "versions" and parts[1] in ("jobs", "datasets"):
        version = reader.job_version if parts[1] == "jobs" else reader.dataset_version
        return _marquez(lambda: version(parts[0], parts[2], parts[4]))
    raise ApiError(
        404,
        "No such Marquez resource; see spec §4 "
        "(namespaces/{ns}/jobs|datasets[/{name}[/runs|/versions[/{version}]]])",
    )


@router.get("/api/v1/jobs", summary="Marquez: every job")
def marquez_jobs(
    request: Request,
    _: Viewer,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0),
    lastRunStates: list[str] = Query(default=[]),
) -> dict[str, Any]:
    return _reader(request).jobs(None, limit, offset, lastRunStates)


@router.get("/api/v1/jobs/runs/{run_id}", summary="Marquez: one run with its state history")
def marquez_run(request: Request, run_id: str, _: Viewer) -> dict[str, Any]:
    return _marquez(lambda: _reader(request).run(run_id))


@router.get("/api/v1/jobs/runs/{run_id}/facets", summary="Marquez: a run's facets")
def marquez_run_facets(request: Request, run_id: str, _: Viewer, type: str = "run") -> dict[str, Any]:
    run = _marquez(lambda: _reader(request).run(run_id))
    return {"runId": run_id, "facets": run["facets"] if type == "run" else {}}


@router.get("/api/v1/events/lineage", summary="Marquez: raw RunEvents, newest first")
def marquez_events(
    request: Request,
    _: Viewer,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0),
    sortDirection: str = "desc",
) -> dict[str, Any]:
    return _reader(request).events(limit, offset, sortDirection.lower() != "asc")


@router.get("/api/v1/search", summary="Marquez: jobs and datasets whose name contains q")
def marquez_search(
    request: Request,
    _: Viewer,
    q: str = Query(..., description="text the job or dataset name contains (any case)"),
    filter: str | None = Query(None, description="DATASET or JOB"),
    sort: str = Query("UPDATE_AT", description="NAME or UPDATE_AT (newest first)"),
    limit: int = Query(10, ge=0, le=10000),
    namespace: str | None = None,
    before: str | None = Query(None, description="updated before this day, YYYY-MM-DD"),
    after: str | None = Query(None, description="updated on or after this day, YYYY-MM-DD"),
) -> dict[str, Any]:
    return _marquez(lambda: _reader(request).search(q, filter, sort, limit, namespace, before, after))


@router.get(
    "/api/v1/stats/{kind}",
    summary="Marquez: lineage-events, jobs, datasets or sources per hour (DAY) or per day (WEEK)",
)
def marquez_stats(
    request: Request,
    kind: str,
    _: Viewer,
    period: str = Query("DAY", description="DAY (24 hourly intervals) or WEEK (7 daily ones)"),
    timezone: str = Query("UTC", description="IANA time zone the intervals are aligned to"),
) -> Any:
    try:
        return _reader(request).stats(kind, period, timezone)
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


@router.get("/api/v1/openlineage/usage", summary="Per dataset and day: how many runs read and wrote it")
def usage(
    request: Request,
    _: Viewer,
    nodeId: str = Query(..., description="dataset:{namespace}:{name}"),
    days: int = 30,
) -> dict[str, Any]:
    return _marquez(lambda: _reader(request).usage(nodeId, days))


# --------------------------------------------------------------------------- pipeline services


def _service_json(request: Request, asset: Any) -> dict[str, Any]:
    from headwater.api.deps import base_url
    from headwater.api.om_json import entity_json
    from headwater.openlineage.services import options_of

    doc = entity_json(store_of(request), asset, base_url(request))
    doc["ingestion"] = options_of(asset).model_dump()
    manager = getattr(request.app.state, "openlineage_consumers", None)
    doc["ingestionStatus"] = manager.status(asset.name) if manager is not None else None
    return doc


def _get_service(request: Request, name: str) -> Any:
    from headwater.openlineage.services import get_service

    try:
        return get_service(store_of(request), name)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from None


@router.get("/api/v1/openlineage/services", summary="OpenLineage pipeline services (secrets masked)")
def list_services(request: Request, _: Viewer) -> dict[str, Any]:
    from headwater.openlineage.services import openlineage_services

    data = [_service_json(request, a) for a in openlineage_services(store_of(request))]
    return {"data": data, "paging": {"total": len(data)}}


@router.get("/api/v1/openlineage/services/{name}", summary="One OpenLineage pipeline service")
def get_service_route(request: Request, name: str, _: Viewer) -> dict[str, Any]:
    return _service_json(request, _get_service(request, name))


@router.put(
    "/api/v1/openlineage/services/{name}/ingestion", summary="Schedule and options of a service's consumer"
)
def put_ingestion(request: Request, name: str, _: Editor, body: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    from headwater.openlineage.services import IngestionOptions, set_options

    _get_service(request, name)
    try:
        opts = IngestionOptions.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ApiError(400, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    if opts.schedule.strip().lower() not in ("continuous", "manual") and opts.interval_seconds() is None:
        raise ApiError(
            400, "schedule: use continuous, manual, a number of seconds, @hourly, @daily or @weekly"
        )
    return _service_json(request, set_options(store_of(request), name, opts))


@router.post(
    "/api/v1/openlineage/services/{name}/testConnection", summary="Test a service's broker connection"
)
async def test_service(request: Request, name: str, _: Editor) -> dict[str, Any]:
    from headwater.openlineage.services import test_service_connection

    asset = _get_service(request, name)
    return await asyncio.to_thread(test_service_connection, asset)


@router.post("/api/v1/openlineage/services/{name}/run", summary="Run a service's consumer once, until idle")
async def run_service(request: Request, name: str, _: Editor) -> dict[str, Any]:
    from headwater.openlineage.services import run_once

    _get_service(request, name)
    stats = await asyncio.to_thread(run_once, store_of(request), ingest_service(request.app), name)
    return stats.to_dict()
