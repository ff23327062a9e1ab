"""OpenMetadata's own Python SDK and `metadata` CLI against headwater, on SQLite and PostgreSQL.

Every script runs with `.venv-om`'s Python (see conftest.py) and prints what the SDK returned;
the lineage it wrote is then read back through headwater's HTTP API.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.store import Store
from tests.helpers import LiveServer, live_server
from tests.openmetadata_sdk.conftest import SdkRunner, run_script

pytestmark = pytest.mark.slow

SCHEMA = "pg_svc.shop.public"
DOTTED = 'pg_svc.shop."raw.v1"."events.2024"'
ENTITY_KEYS = [
    "databaseService",
    "database",
    "databaseSchema",
    "dottedSchema",
    "raw_orders",
    "orders",
    "report",
    "view",
    "dotted",
    "storedProcedure",
    "dashboardService",
    "chart",
    "dashboard",
    "dashboardDataModel",
    "pipelineService",
    "pipeline",
    "messagingService",
    "topic",
    "mlmodelService",
    "mlmodel",
    "storageService",
    "container",
    "searchService",
    "searchIndex",
]


def _edge(api: httpx.Client, from_id: str, to_id: str) -> dict[str, Any] | None:
    resp = api.get(f"/api/v1/lineage/getLineageEdge/{from_id}/{to_id}")
    if resp.status_code == 404:
        assert resp.json()["code"] == 404
        return None
    resp.raise_for_status()
    edge: dict[str, Any] = resp.json()["edge"]
    return edge


def _pairs(details: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (frm, cl["toColumn"]) for cl in details.get("columnsLineage", []) for frm in cl.get("fromColumns", [])
    }


def test_connect_version_and_auth(sdk: SdkRunner) -> None:
    res = sdk("sdk_connect.py", "--auth")
    assert res["connected"] is True and res["health"] is True
    assert res["server_version"].startswith("1.12.")
    assert res["bad_token"]["status"] == 401
    assert res["absent"] is True  # a 404 with `code` is "absent" to the SDK, not an error


def test_viewer_token_cannot_write(sdk: SdkRunner) -> None:
    res = sdk("sdk_connect.py", "--auth", role="viewer")
    assert res["write"]["status"] == 403


def test_version_mismatch_is_refused_and_configurable(om_python: Path, store: Store, tmp_path: Path) -> None:
    with live_server(store, tmp_path / "old", om_version="1.11.3") as srv:
        res = run_script(om_python, srv, "sdk_connect.py")
    assert res["connected"] is False
    assert "VersionMismatch" in res["connect_error"]
    with live_server(store, tmp_path / "new", om_version="1.12.0-SNAPSHOT") as srv:
        assert run_script(om_python, srv, "sdk_connect.py")["connected"] is True


def test_catalog_create_and_read_back(sdk: SdkRunner, api: httpx.Client) -> None:
    res = sdk("sdk_catalog.py")
    assert res["errors"] == {}, res["errors"]
    created = res["created"]
    for key in ENTITY_KEYS:
        assert created[key]["id"], key
        # the SDK parsed our JSON into its strict models, by name and by id
        assert res["by_name"][key] == created[key], key
        assert res["by_id"][key] == created[key], key
    assert created["dotted"]["fqn"] == DOTTED
    assert created["dottedSchema"]["fqn"] == 'pg_svc.shop."raw.v1"'
    assert created["topic"]["fqn"] == 'kafka."orders.events"'
    assert created["dashboardDataModel"]["fqn"] == "looker.model.orders_view"
    assert created["storedProcedure"]["fqn"] == f"{SCHEMA}.load_orders"
    assert res["dotted_columns"] == [f"{DOTTED}.id", f"{DOTTED}.customer"]
    assert res["orders_columns"] == [
        ["id", "INT", f"{SCHEMA}.orders.id"],
        ["amount", "VARCHAR", f"{SCHEMA}.orders.amount"],
        ["customer", "VARCHAR", f"{SCHEMA}.orders.customer"],
    ]
    assert (res["orders_service"], res["orders_database"], res["orders_schema"]) == (
        "pg_svc",
        "pg_svc.shop",
        SCHEMA,
    )
    assert res["missing"] == "None"
    assert res["listed_tables"] == sorted(
        [DOTTED, f"{SCHEMA}.orders", f"{SCHEMA}.orders_v", f"{SCHEMA}.raw_orders", f"{SCHEMA}.report"]
    )
    assert res["upsert"] == {"id": created["report"]["id"], "description": "daily report"}
    assert res["service_type"] == "Postgres"
    assert res["dashboard_charts"] == ["looker.revenue"]
    # the connection password came back masked
    svc = api.get("/api/v1/services/databaseServices/name/pg_svc").json()
    assert svc["connection"]["config"]["authType"]["password"] != "not-a-secret"


def test_lineage_mixin(sdk: SdkRunner, api: httpx.Client) -> None:
    res = sdk("sdk_lineage.py")
    assert res["errors"] == {}, res["errors"]
    ids = {k: v["id"] for k, v in res["ids"].items() if v}
    raw, orders, report, dotted = ids["raw_orders"], ids["orders"], ids["report"], ids["dotted"]
    col = f"{SCHEMA}.raw_orders"

    # add_lineage answers the from-entity's lineage: root FQN, bare ids on edges
    add1 = res["add1"]
    assert add1["entity"]["fullyQualifiedName"] == f"{SCHEMA}.raw_orders"
    assert add1["entity"]["id"] == raw
    assert [(e["fromEntity"], e["toEntity"]) for e in add1["downstreamEdges"]] == [(raw, orders)]
    assert _pairs(add1["downstreamEdges"][0]["lineageDetails"]) == {(f"{col}.id", f"{SCHEMA}.orders.id")}
    # check_patch merged the column lineage instead of replacing it
    merged = res["add2"]["downstreamEdges"][0]["lineageDetails"]
    assert _pairs(merged) == {
        (f"{col}.id", f"{SCHEMA}.orders.id"),
        (f"{col}.amount", f"{SCHEMA}.orders.amount"),
    }
    assert merged["sqlQuery"] == "insert into orders select id from raw_orders"
    assert _pairs(res["edge_after_patch"]["edge"]) == _pairs(merged)
    # the pipeline as lineageDetails.pipeline, returned as a full reference
    add3 = res["add3"]
    down = {(e["fromEntity"], e["toEntity"]): e["lineageDetails"] for e in add3["downstreamEdges"]}
    pipe = down[(orders, report)]["pipeline"]
    assert (pipe["id"], pipe["type"], pipe["fullyQualifiedName"]) == (
        ids["pipeline"],
        "pipeline",
        "airflow.etl",
    )
    assert down[(orders, report)]["source"] == "PipelineLineage"
    # dotted names with column lineage
    add4 = res["add4"]
    assert add4["entity"]["fullyQualifiedName"] == DOTTED
    assert _pairs(add4["downstreamEdges"][0]["lineageDetails"]) == {
        (f"{DOTTED}.customer", f"{SCHEMA}.orders.customer")
    }
    assert res["others"] == {k: "ok" for k in res["others"]} and len(res["others"]) == 7

    # reads by id and by name agree, up to depth 3 both ways
    for key in ("by_id", "by_name"):
        lin = res[key]
        assert lin["entity"]["id"] == orders
        up = {(e["fromEntity"], e["toEntity"]) for e in lin["upstreamEdges"]}
        down_pairs = {(e["fromEntity"], e["toEntity"]) for e in lin["downstreamEdges"]}
        assert up == {(raw, orders), (dotted, orders), (ids["topic"], raw), (ids["container"], raw)}
        assert down_pairs == {
            (orders, report),
            (orders, ids["mlmodel"]),
            (orders, ids["searchIndex"]),
            (report, ids["dashboardDataModel"]),
            (ids["dashboardDataModel"], ids["dashboard"]),
        }
        assert 'kafka."orders.events"' in lin["nodes"] and "looker.sales" in lin["nodes"]
    assert res["typed"] == 9  # the typed SDK layer parsed the answer as EntityLineage
    assert res["by_name_dotted"]["entity"]["fullyQualifiedName"] == DOTTED
    # a pipeline's lineage: the edges it powers
    pl = res["by_name_pipeline"]
    assert pl["entity"]["fullyQualifiedName"] == "airflow.etl"
    assert {(e["fromEntity"], e["toEntity"]) for e in pl["downstreamEdges"]} == {(orders, report)}
    dash = res["by_name_dashboard"]
    assert dash["downstreamEdges"] == []
    assert (ids["dashboardDataModel"], ids["dashboard"]) in {
        (e["fromEntity"], e["toEntity"]) for e in dash["upstreamEdges"]
    }
    assert res["missing"] is None and res["missing_edge"] is None

    # deletes: one edge; QueryLineage into orders; what the pipeline powers
    assert res["after_delete_edge"]["status"] == 404
    assert res["after_delete_source"]["status"] == 404
    assert res["after_delete_pipeline"]["status"] == 404
    assert res["sp_edge_kept"]["edge"]["pipeline"]["type"] == "storedProcedure"
    assert _edge(api, dotted, orders) is None
    assert _edge(api, raw, orders) is None
    assert _edge(api, orders, report) is None
    assert _edge(api, ids["topic"], raw) is not None
    lin = api.get(f"/api/v1/lineage/table/{orders}", params={"upstreamDepth": 1, "downstreamDepth": 1}).json()
    assert lin["upstreamEdges"] == []
    assert {(e["fromEntity"], e["toEntity"]) for e in lin["downstreamEdges"]} == {
        (orders, ids["mlmodel"]),
        (orders, ids["searchIndex"]),
    }


def test_add_lineage_by_query(sdk: SdkRunner, api: httpx.Client) -> None:
    res = sdk("sdk_by_query.py")
    assert res["errors"] == {}, res["errors"]
    edge = res["raw_orders->orders"]["edge"]
    src, dst = f"{SCHEMA}.raw_orders", f"{SCHEMA}.orders"
    assert edge["source"] == "QueryLineage"
    # the second query merged its column (check_patch) with the first one's
    assert _pairs(edge) == {(f"{src}.{c}", f"{dst}.{c}") for c in ("id", "amount", "customer")}
    ids = {k: v["id"] for k, v in res["ids"].items() if v}
    lin = api.get(f"/api/v1/lineage/table/name/{dst}", params={"upstreamDepth": 3}).json()
    assert [(e["fromEntity"], e["toEntity"]) for e in lin["upstreamEdges"]] == [
        (ids["raw_orders"], ids["orders"])
    ]


# -- the `metadata` CLI -------------------------------------------------------------------------

QUERY_LOG = [
    "insert into report (id, total) select id, amount from orders",
    "insert into orders (id, amount, customer) select id, amount, customer from raw_orders",
    "select * from orders",
]


def _workflow(server: LiveServer, log: Path) -> str:
    return f"""
source:
  type: query-log-lineage
  serviceName: pg_svc
  serviceConnection:
    config:
      type: Postgres
      username: postgres
      authType: {{password: ""}}
      hostPort: "127.0.0.1:5432"
      database: postgres
  sourceConfig:
    config:
      type: DatabaseLineage
      queryLogFilePath: {log}
      processViewLineage: true
      processQueryLineage: true
      processStoredProcedureLineage: false
sink: {{type: metadata-rest, config: {{}}}}
workflowConfig:
  loggerLevel: DEBUG
  openMetadataServerConfig:
    hostPort: {server.url}/api
    authProvider: openmetadata
    securityConfig: {{jwtToken: "{server.editor_token}"}}
"""


def _ingest(om_python: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(om_python.parent / "metadata"), "ingest", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_query_log_lineage(
    om_python: Path, sdk: SdkRunner, server: LiveServer, api: httpx.Client, tmp_path: Path
) -> None:
    catalog = sdk("sdk_catalog.py")
    assert catalog["errors"] == {}
    ids = {k: v["id"] for k, v in catalog["created"].items() if v}
    log = tmp_path / "queries.csv"
    rows = "".join(f'"{q}",shop,public\n' for q in QUERY_LOG)
    log.write_text("query_text,database_name,schema_name\n" + rows)
    config = tmp_path / "workflow.yaml"
    config.write_text(_workflow(server, log))

    run = _ingest(om_python, config)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-8000:]
    assert "Workflow Success %: 100.0" in out, out[-8000:]
    # the connection test really ran against PostgreSQL
    assert "name='CheckAccess', mandatory=True, passed=True" in out

    # query lineage from the log, with columns
    raw_orders = _edge(api, ids["raw_orders"], ids["orders"])
    assert raw_orders is not None and raw_orders["source"] == "QueryLineage"
    assert _pairs(raw_orders) == {
        (f"{SCHEMA}.raw_orders.{c}", f"{SCHEMA}.orders.{c}") for c in ("id", "amount", "customer")
    }
    report = _edge(api, ids["orders"], ids["report"])
    assert report is not None
    assert _pairs(report) == {
        (f"{SCHEMA}.orders.id", f"{SCHEMA}.report.id"),
        (f"{SCHEMA}.orders.amount", f"{SCHEMA}.report.total"),
    }
    # view lineage from the view's schemaDefinition, found through the search index
    view = _edge(api, ids["orders"], ids["view"])
    assert view is not None and view["source"] == "ViewLineage"
    # a plain SELECT gives nothing; nothing else was added
    lin = api.get(
        f"/api/v1/lineage/table/name/{SCHEMA}.orders", params={"upstreamDepth": 3, "downstreamDepth": 3}
    )
    pairs = {
        (e["fromEntity"], e["toEntity"]) for e in lin.json()["upstreamEdges"] + lin.json()["downstreamEdges"]
    }
    assert pairs == {
        (ids["raw_orders"], ids["orders"]),
        (ids["orders"], ids["report"]),
        (ids["orders"], ids["view"]),
    }

    # the processed queries were saved (PUT queries/bulk) with md5 checksums
    queries = api.get("/api/v1/queries", params={"service": "pg_svc", "limit": 100}).json()["data"]
    by_checksum = {q["checksum"]: q for q in queries}
    for text in QUERY_LOG[:2]:
        checksum = hashlib.md5(text.encode()).hexdigest()
        assert by_checksum[checksum]["processedLineage"] is True
        assert by_checksum[checksum]["service"]["name"] == "pg_svc"
    hits = api.get(
        "/api/v1/search/query",
        params={
            "q": "",
            "index": "query_search_index",
            "query_filter": json.dumps(
                {
                    "query": {
                        "bool": {
                            "must": [
                                {"term": {"processedLineage": True}},
                                {"term": {"service.name.keyword": "pg_svc"}},
                            ]
                        }
                    }
                }
            ),
        },
    ).json()["hits"]["hits"]
    assert {hashlib.md5(t.encode()).hexdigest() for t in QUERY_LOG[:2]} <= {
        h["_source"]["checksum"] for h in hits
    }

    # the view was flagged processedLineage (PATCH tables/name/{fqn}), so the view search skips it
    assert api.get(f"/api/v1/tables/{ids['view']}").json()["processedLineage"] is True

    # a second run skips processed queries (query_search_index) and processed views: nothing is
    # written again, so edges and saved queries keep their update times
    params = {"fqn": f"{SCHEMA}.orders", "upstreamDepth": 3}
    before = api.get("/api/v1/lineage/export", params=params).text
    stamps = {
        pair: (_edge(api, *pair) or {}).get("updatedAt")
        for pair in ((ids["raw_orders"], ids["orders"]), (ids["orders"], ids["view"]))
    }
    time.sleep(0.01)
    again = _ingest(om_python, config)
    assert again.returncode == 0, (again.stdout + again.stderr)[-8000:]
    after = api.get("/api/v1/lineage/export", params=params).text
    assert after.splitlines()[1:] and sorted(after.splitlines()) == sorted(before.splitlines())
    assert {pair: (_edge(api, *pair) or {}).get("updatedAt") for pair in stamps} == stamps
    requeried = api.get("/api/v1/queries", params={"service": "pg_svc", "limit": 100}).json()["data"]
    assert {q["checksum"]: q["version"] for q in requeried} == {q["checksum"]: q["version"] for q in queries}
