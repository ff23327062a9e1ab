"""Entity CRUD on every OpenMetadata collection: upsert by FQN, paging, search, delete, restore."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.om_helpers import edge_pairs, get_edge, lineage, make_tables, ok, put_edge

SERVICES = {
    "databaseServices": "Postgres",
    "messagingServices": "Kafka",
    "dashboardServices": "Looker",
    "pipelineServices": "Airflow",
    "storageServices": "S3",
    "mlmodelServices": "Mlflow",
    "searchServices": "ElasticSearch",
    "apiServices": "Rest",
}


def _parents(api: httpx.Client) -> None:
    for path, kind in SERVICES.items():
        ok(api.put(f"/api/v1/services/{path}", json={"name": f"p_{path}", "serviceType": kind}))
    ok(api.put("/api/v1/databases", json={"name": "db", "service": "p_databaseServices"}))
    ok(api.put("/api/v1/databaseSchemas", json={"name": "sch", "database": "p_databaseServices.db"}))
    ok(api.put("/api/v1/apiCollections", json={"name": "coll", "service": "p_apiServices"}))


COLS = [{"name": "id", "dataType": "INT"}, {"name": "v", "dataType": "VARCHAR"}]
# collection path -> (create body without name, FQN prefix, search index)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "databases": ({"service": "p_databaseServices"}, "p_databaseServices.", "database_search_index"),
    "databaseSchemas": (
        {"database": "p_databaseServices.db"},
        "p_databaseServices.db.",
        "database_schema_search_index",
    ),
    "tables": (
        {"databaseSchema": "p_databaseServices.db.sch", "columns": COLS},
        "p_databaseServices.db.sch.",
        "table_search_index",
    ),
    "storedProcedures": (
        {"databaseSchema": "p_databaseServices.db.sch", "storedProcedureCode": {"code": "select 1"}},
        "p_databaseServices.db.sch.",
        "stored_procedure_search_index",
    ),
    "dashboards": ({"service": "p_dashboardServices"}, "p_dashboardServices.", "dashboard_search_index"),
    "charts": ({"service": "p_dashboardServices"}, "p_dashboardServices.", "chart_search_index"),
    "dashboard/datamodels": (
        {"service": "p_dashboardServices", "dataModelType": "LookMlView", "columns": COLS},
        "p_dashboardServices.model.",
        "dashboard_data_model_search_index",
    ),
    "pipelines": ({"service": "p_pipelineServices"}, "p_pipelineServices.", "pipeline_search_index"),
    "topics": (
        {
            "service": "p_messagingServices",
            "partitions": 1,
            "messageSchema": {"schemaType": "JSON", "schemaFields": [{"name": "id", "dataType": "INT"}]},
        },
        "p_messagingServices.",
        "topic_search_index",
    ),
    "mlmodels": (
        {"service": "p_mlmodelServices", "algorithm": "xgb", "mlFeatures": [{"name": "f"}]},
        "p_mlmodelServices.",
        "mlmodel_search_index",
    ),
    "containers": (
        {"service": "p_storageServices", "dataModel": {"isPartitioned": False, "columns": COLS}},
        "p_storageServices.",
        "container_search_index",
    ),
    "searchIndexes": (
        {"service": "p_searchServices", "fields": [{"name": "id", "dataType": "KEYWORD"}]},
        "p_searchServices.",
        "search_entity_search_index",
    ),
    "apiCollections": ({"service": "p_apiServices"}, "p_apiServices.", "api_collection_search_index"),
    "apiEndpoints": (
        {"apiCollection": "p_apiServices.coll"},
        "p_apiServices.coll.",
        "api_endpoint_search_index",
    ),
    "metrics": ({}, "", "metric_search_index"),
    **{f"services/{p}": ({"serviceType": k}, "", p[0].lower() + "") for p, k in SERVICES.items()},
}


def _index_of(path: str, given: str) -> str | None:
    if path.startswith("services/"):
        return None  # checked through fieldQuery below instead
    return given


@pytest.mark.parametrize("path", list(CASES))
def test_crud(api: httpx.Client, path: str) -> None:
    _parents(api)
    extra, prefix, index = CASES[path]
    url = f"/api/v1/{path}"
    created = []
    for name in ("alpha", "beta", "gamma.dotted"):
        resp = api.put(url, json={"name": name, **extra})
        assert resp.status_code == 201, resp.text
        created.append(resp.json())
    quoted = f'{prefix}"gamma.dotted"'
    assert [c["fullyQualifiedName"] for c in created] == [f"{prefix}alpha", f"{prefix}beta", quoted]
    first = created[0]
    # upsert by FQN: same id, new description, 200
    resp = api.put(url, json={"name": "alpha", "description": "changed", **extra})
    assert resp.status_code == 200
    assert resp.json()["id"] == first["id"] and resp.json()["description"] == "changed"
    # read by name (dotted, percent-encoded or not) and by id
    assert ok(api.get(f"{url}/name/{prefix}alpha"))["id"] == first["id"]
    assert ok(api.get(f"{url}/name/{quoted}"))["name"] == "gamma.dotted"
    assert ok(api.get(f"{url}/name/{quoted.replace(chr(34), '%22')}"))["id"] == created[2]["id"]
    assert ok(api.get(f"{url}/{first['id']}"))["fullyQualifiedName"] == f"{prefix}alpha"
    # list with paging
    page1 = ok(api.get(url, params={"limit": 2}))
    assert page1["paging"]["total"] >= 3 and len(page1["data"]) == 2
    page2 = ok(api.get(url, params={"limit": 2, "after": page1["paging"]["after"]}))
    names = [d["name"] for d in page1["data"] + page2["data"]]
    assert {"alpha", "beta", "gamma.dotted"} <= set(names) and len(names) == len(set(names))
    # name filter through search
    if not path.startswith("services/"):
        hits = ok(api.get("/api/v1/search/query", params={"q": "beta", "index": index}))["hits"]["hits"]
        assert [h["_source"]["fullyQualifiedName"] for h in hits] == [f"{prefix}beta"]
        hits = ok(
            api.get(
                "/api/v1/search/fieldQuery",
                params={"fieldName": "fullyQualifiedName", "fieldValue": f'{prefix}"gamma*', "index": index},
            )
        )["hits"]["hits"]
        assert [h["_source"]["name"] for h in hits] == ["gamma.dotted"]
    # soft delete, hidden, restore
    resp = api.delete(f"{url}/{created[1]['id']}")
    assert resp.status_code == 200 and resp.json()["deleted"] is True
    assert api.get(f"{url}/{created[1]['id']}").status_code == 404
    assert ok(api.get(f"{url}/{created[1]['id']}", params={"include": "deleted"}))["deleted"] is True
    listed = [d["name"] for d in ok(api.get(url, params={"limit": 100}))["data"]]
    assert "beta" not in listed
    assert "beta" in [d["name"] for d in ok(api.get(url, params={"limit": 100, "include": "all"}))["data"]]
    restored = ok(api.put(f"{url}/restore", json={"id": created[1]["id"]}))
    assert restored["deleted"] is False
    # hard delete by name: gone for good
    resp = api.delete(f"{url}/name/{quoted}", params={"hardDelete": "true"})
    assert resp.status_code == 200
    assert api.get(f"{url}/{created[2]['id']}", params={"include": "all"}).status_code == 404
    resp = api.get(f"{url}/name/{quoted}")
    assert resp.status_code == 404 and resp.json()["code"] == 404


def test_services_found_by_field_query(api: httpx.Client) -> None:
    _parents(api)
    hits = ok(
        api.get(
            "/api/v1/search/fieldQuery",
            params={
                "fieldName": "fullyQualifiedName",
                "fieldValue": "p_databaseServices",
                "index": "database_service_search_index",
            },
        )
    )["hits"]["hits"]
    assert [h["_source"]["name"] for h in hits] == ["p_databaseServices"]


def test_non_empty_parent_needs_recursive(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b")
    put_edge(api, t["a"], t["b"])
    db = ok(api.get("/api/v1/databases/name/svc.db"))
    resp = api.delete(f"/api/v1/databases/{db['id']}")
    assert resp.status_code == 400 and "recursive" in resp.json()["message"]
    assert ok(api.get("/api/v1/tables/name/svc.db.sch.a"))["deleted"] is False
    ok(api.delete(f"/api/v1/databases/{db['id']}", params={"recursive": "true"}))
    assert api.get("/api/v1/tables/name/svc.db.sch.a").status_code == 404
    assert ok(api.get("/api/v1/tables/name/svc.db.sch.a", params={"include": "deleted"}))["deleted"] is True


def test_hard_delete_removes_lineage(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b", "c")
    put_edge(api, t["a"], t["b"])
    put_edge(api, t["b"], t["c"])
    ok(api.delete(f"/api/v1/tables/{t['b']['id']}", params={"hardDelete": "true"}))
    assert get_edge(api, t["a"], t["b"]) is None
    lin = lineage(api, t["a"], downstreamDepth=3, includeDeleted="true")
    assert edge_pairs(lin, "downstreamEdges") == set()


def test_table_columns_and_patch(api: httpx.Client) -> None:
    t = make_tables(api, "a")
    table = ok(api.get("/api/v1/tables/name/svc.db.sch.a"))
    assert [(c["name"], c["dataType"], c["fullyQualifiedName"]) for c in table["columns"]] == [
        ("id", "INT", "svc.db.sch.a.id"),
        ("v", "INT", "svc.db.sch.a.v"),
    ]
    assert table["databaseSchema"]["fullyQualifiedName"] == "svc.db.sch"
    assert table["service"]["name"] == "svc"
    patched = api.patch(
        f"/api/v1/tables/{t['a']['id']}",
        json=[{"op": "add", "path": "/description", "value": "patched"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert ok(patched)["description"] == "patched"
    resp = api.patch(f"/api/v1/tables/{t['a']['id']}", json=[{"op": "replace", "path": "/id", "value": "x"}])
    assert resp.status_code == 400 and "id" in resp.json()["message"]
