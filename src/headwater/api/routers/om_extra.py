"""The rest of what OpenMetadata's `metadata ingest` calls around a lineage workflow.

- `queries`: OpenMetadata's Query entities, as far as lineage needs them. The lineage workflow
  saves each query it turned into lineage with `processedLineage: true` (`PUT /v1/queries/bulk`),
  and on the next run skips the queries whose checksum (md5 of the text) the
  `query_search_index` reports as processed. Kept in the `saved_queries` table
  (`headwater.store.saved_queries`), one row per service and checksum.
- `services/testConnectionDefinitions/name/{T}.testConnectionDefinition`: the steps the SDK runs
  to test a source connection before a workflow starts.
- `usage/compute.percentile/{entity}/{date}`: called at the close of some workflows; headwater
  keeps no usage statistics, so it is acknowledged and does nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from headwater.api.auth import Editor, Viewer
from headwater.api.deps import actor, base_url, store_of
from headwater.api.errors import ApiError
from headwater.api.om_json import entity_ref
from headwater.api.routers import om_search
from headwater.model.types import AssetType
from headwater.store import Store, now_ms, saved_queries

router = APIRouter(prefix="/api/v1", tags=["OpenMetadata workflow support"])

QUERY_INDEX = "query_search_index"
_NS = uuid.UUID("5f1f0d0e-8a43-4c55-9a4c-8f1d2b0c7e11")

# -- queries ------------------------------------------------------------------------------------


def query_checksum(text: str) -> str:
    """OpenMetadata's Query checksum: md5 of the raw query text."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _service_ref(store: Store, service: str, base: str) -> dict[str, Any]:
    asset = store.get_asset_by_fqn(AssetType.DATABASE_SERVICE, service)
    if asset is None or asset.deleted:
        raise ApiError(404, f"databaseService instance for {service} not found")
    return entity_ref(asset, base)


def _query_json(record: dict[str, Any], service_ref: dict[str, Any], base: str) -> dict[str, Any]:
    doc = {k: v for k, v in record.items() if not k.startswith("_")}
    doc["service"] = service_ref
    doc["href"] = f"{base}/api/v1/queries/{record['id']}"
    return doc


_QUERY_FIELDS = {
    "displayName",
    "description",
    "duration",
    "query_type",
    "exclude_usage",
    "queryDate",
    "usedBy",
    "dialect",
    "processedLineage",
}


def upsert_query(store: Store, body: Any, who: str | None, base: str) -> tuple[dict[str, Any], bool]:
    """Create or update one Query from a CreateQueryRequest; returns (entity JSON, created)."""
    if not isinstance(body, dict):
        raise ApiError(400, "a query create request must be a JSON object")
    text = body.get("query")
    service = body.get("service")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "`query` is required: the SQL text")
    if isinstance(service, dict):
        service = service.get("fullyQualifiedName") or service.get("name")
    if not isinstance(service, str) or not service:
        raise ApiError(400, "`service` is required: the name of the database service")
    ref = _service_ref(store, service, base)
    checksum = query_checksum(text)

    def change(record: dict[str, Any] | None) -> dict[str, Any]:
        if record is None:
            record = {
                "id": str(uuid.uuid5(_NS, f"{service}\x00{checksum}")),
                "name": str(body.get("name") or checksum),
                "fullyQualifiedName": f"{service}.{checksum}",
                "checksum": checksum,
                "query": text,
                "version": 0.1,
                "deleted": False,
            }
        else:
            record["version"] = round(float(record.get("version", 0.1)) + 0.1, 1)
        for field in _QUERY_FIELDS:
            if field in body and body[field] is not None:
                record[field] = body[field]
        record["updatedAt"] = now_ms()
        record["updatedBy"] = who or "admin"
        return record

    record, created = saved_queries.upsert_query(store, service, checksum, change)
    return _query_json(record, ref, base), created


def _all_queries(request: Request, service: str | None = None) -> list[dict[str, Any]]:
    store = store_of(request)
    base = base_url(request)
    refs: dict[str, dict[str, Any] | None] = {}
    out: list[dict[str, Any]] = []
    for svc, record in saved_queries.list_queries(store, service):
        if svc not in refs:
            asset = store.get_asset_by_fqn(AssetType.DATABASE_SERVICE, svc)
            refs[svc] = entity_ref(asset, base) if asset is not None and not asset.deleted else None
        ref = refs[svc]
        if ref is None:  # the service is gone: so are its queries, as in OpenMetadata
            continue
        doc = _query_json(record, ref, base)
        doc["entityType"] = "query"
        out.append(doc)
    return out


om_search.EXTRA_INDEXES[QUERY_INDEX] = _all_queries


@router.put("/queries/bulk", summary="Create or update many queries (OpenMetadata BulkOperationResult)")
def put_queries_bulk(
    request: Request,
    _: Editor,
    body: list[Any] = Body(...),
    async_: bool = Query(False, alias="async"),
) -> dict[str, Any]:
    store = store_of(request)
    base = base_url(request)
    who = actor(request)
    passed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item in body:
        try:
            doc, _created = upsert_query(store, item, who, base)
        except ApiError as exc:
            failed.append({"request": item, "message": exc.message, "status": exc.status})
        else:
            passed.append({"request": doc["fullyQualifiedName"], "status": 200})
    return {
        "dryRun": False,
        "status": "success" if not failed else ("failure" if not passed else "partialSuccess"),
        "numberOfRowsProcessed": len(body),
        "numberOfRowsPassed": len(passed),
        "numberOfRowsFailed": len(failed),
        "successRequest": passed,
        "failedRequest": failed,
    }


@router.put("/queries", summary="Create or update a query (CreateQueryRequest)")
def put_query(request: Request, _: Editor, body: dict[str, Any] = Body(...)) -> JSONResponse:
    doc, created = upsert_query(store_of(request), body, actor(request), base_url(request))
    return JSONResponse(doc, status_code=201 if created else 200)


@router.post("/queries", summary="Create a query (CreateQueryRequest)")
def post_query(request: Request, _: Editor, body: dict[str, Any] = Body(...)) -> JSONResponse:
    doc, created = upsert_query(store_of(request), body, actor(request), base_url(request))
    if not created:
        raise ApiError(409, f"Entity already exists: query {doc['fullyQualifiedName']}")
    return JSONResponse(doc, status_code=201)


@router.get("/queries", summary="List queries, optionally of one database service")
def list_queries(
    request: Request,
    _: Viewer,
    service: str | None = None,
    limit: int = Query(10, ge=0, le=1_000_000),
    after: str | None = None,
) -> dict[str, Any]:
    docs = sorted(_all_queries(request, service), key=lambda d: d["fullyQualifiedName"])
    if after:
        docs = [d for d in docs if d["fullyQualifiedName"] > after]
    page = docs[:limit]
    paging: dict[str, Any] = {"total": len(docs)}
    if len(docs) > limit and page:
        paging["after"] = page[-1]["fullyQualifiedName"]
    return {"data": [{k: v for k, v in d.items() if k != "entityType"} for d in page], "paging": paging}


def _find_query(request: Request, *, query_id: str | None = None, fqn: str | None = None) -> dict[str, Any]:
    store = store_of(request)
    found = saved_queries.find_query(store, query_id=query_id, fqn=fqn)
    if found is not None:
        service, record = found
        asset = store.get_asset_by_fqn(AssetType.DATABASE_SERVICE, service)
        if asset is not None and not asset.deleted:
            return _query_json(record, entity_ref(asset, base_url(request)), base_url(request))
    raise ApiError(404, f"query instance for {query_id or fqn} not found")


@router.get("/queries/name/{fqn:path}", summary="Get a query by FQN (service.checksum)")
def get_query_by_name(request: Request, fqn: str, _: Viewer) -> dict[str, Any]:
    return _find_query(request, fqn=fqn)


@router.get("/queries/{query_id}", summary="Get a query by id")
def get_query(request: Request, query_id: str, _: Viewer) -> dict[str, Any]:
    return _find_query(request, query_id=query_id)


# -- test connection definitions ----------------------------------------------------------------


def _step(name: str, description: str, mandatory: bool, short_circuit: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "errorMessage": f"Failed to {description[0].lower()}{description[1:]}",
        "mandatory": mandatory,
        "shortCircuit": short_circuit,
    }


# The SDK maps each step name to one of its own test functions, so a definition may only name
# steps the connector's test code knows. These are the steps of every SQLAlchemy database
# connector (`test_connection_db_common`); connectors with other steps are listed by name.
_SQL_STEPS = [
    _step("CheckAccess", "Check that the database can be reached with the given credentials", True, True),
    _step("GetSchemas", "List the schemas of the database", True),
    _step("GetTables", "List the tables of a schema", True),
    _step("GetViews", "List the views of a schema", False),
]
_DEFINITIONS: dict[str, list[dict[str, Any]]] = {
    "Postgres": [
        _SQL_STEPS[0],
        _step("GetDatabases", "List the databases of the server", False),
        *_SQL_STEPS[1:],
        _step("GetTags", "List the policy tags", False),
        _step("GetQueries", "Read the query history (pg_stat_statements)", False),
    ],
    "OpenLineage": [_step("CheckBrokerConnectivity", "Check that the broker and topic can be reached", True)],
}
for _t in (
    "Mysql", "MariaDB", "Redshift", "Snowflake", "Mssql", "Oracle", "Trino", "Presto", "Hive", "Clickhouse",
    "SQLite", "Greenplum", "Vertica", "Db2", "SingleStore", "Doris", "StarRocks", "Exasol", "Teradata",
):  # fmt: skip
    _DEFINITIONS.setdefault(_t, _SQL_STEPS)


@router.get(
    "/services/testConnectionDefinitions/name/{fqn:path}",
    summary="Test-connection steps of a connector (`{ServiceType}.testConnectionDefinition`)",
)
def get_test_connection_definition(fqn: str, _: Viewer) -> dict[str, Any]:
    service_type = fqn.removesuffix(".testConnectionDefinition")
    steps = _DEFINITIONS.get(service_type)
    if steps is None:
        raise ApiError(
            404,
            f"testConnectionDefinition instance for {fqn} not found; known: "
            + ", ".join(f"{t}.testConnectionDefinition" for t in sorted(_DEFINITIONS)),
        )
    name = f"{service_type}.testConnectionDefinition"
    return {
        "id": str(uuid.uuid5(_NS, name)),
        "name": name,
        "fullyQualifiedName": name,
        "displayName": f"{service_type} Test Connection",
        "steps": steps,
        "version": 0.1,
        "updatedAt": 0,
        "updatedBy": "admin",
        "deleted": False,
    }


# -- usage --------------------------------------------------------------------------------------


@router.post(
    "/usage/compute.percentile/{entity}/{date}",
    summary="Acknowledge a usage-percentile request (headwater keeps no usage statistics)",
)
def compute_percentile(entity: str, date: str, _: Editor) -> dict[str, Any]:
    return {"entity": entity, "date": date, "computed": False}
