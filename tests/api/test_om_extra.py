"""Workflow-support endpoints: queries and their search index, test-connection steps, usage."""

from __future__ import annotations

import hashlib
import json

import httpx

from tests.api.om_helpers import make_schema, ok
from tests.helpers import LiveServer


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_queries_bulk_upsert_and_processed_index(api: httpx.Client) -> None:
    make_schema(api)
    ok(api.put("/api/v1/services/databaseServices", json={"name": "other", "serviceType": "Mysql"}))
    q1, q2 = "insert into b select * from a", "insert into c select * from b"
    resp = api.put(
        "/api/v1/queries/bulk",
        params={"async": "false"},
        json=[
            {"query": q1, "processedLineage": True, "service": "svc"},
            {"query": q2, "service": "svc"},
            {"query": q1, "processedLineage": True, "service": "other"},
            {"query": "select 1", "service": "nosuch"},
        ],
    )
    result = ok(resp)
    assert result["numberOfRowsProcessed"] == 4
    assert (result["numberOfRowsPassed"], result["numberOfRowsFailed"]) == (3, 1)
    assert result["status"] == "partialSuccess"
    assert "nosuch" in result["failedRequest"][0]["message"]
    # upsert by checksum: the second PUT of q2 marks it processed, same id
    first = ok(api.get(f"/api/v1/queries/name/svc.{_md5(q2)}"))
    assert first["checksum"] == _md5(q2) and first.get("processedLineage") is None
    again = ok(api.put("/api/v1/queries", json={"query": q2, "service": "svc", "processedLineage": True}))
    assert again["id"] == first["id"] and again["processedLineage"] is True
    assert ok(api.get(f"/api/v1/queries/{first['id']}"))["query"] == q2
    listed = ok(api.get("/api/v1/queries", params={"service": "svc", "limit": 10}))
    assert sorted(q["checksum"] for q in listed["data"]) == sorted([_md5(q1), _md5(q2)])
    assert all(q["service"]["name"] == "svc" for q in listed["data"])
    # what the lineage workflow asks: processed checksums of one service
    flt = {
        "query": {
            "bool": {
                "must": [{"term": {"processedLineage": True}}, {"term": {"service.name.keyword": "other"}}]
            }
        }
    }
    hits = ok(
        api.get(
            "/api/v1/search/query",
            params={
                "q": "",
                "index": "query_search_index",
                "include_source_fields": ["checksum", "processedLineage"],
                "query_filter": json.dumps(flt),
            },
        )
    )["hits"]["hits"]
    assert [h["_source"] for h in hits] == [{"checksum": _md5(q1), "processedLineage": True}]
    resp = api.put("/api/v1/queries", json={"service": "svc"})
    assert resp.status_code == 400 and "query" in resp.json()["message"]
    assert api.get("/api/v1/queries/name/svc.nope").status_code == 404


def test_test_connection_definitions(api: httpx.Client) -> None:
    d = ok(api.get("/api/v1/services/testConnectionDefinitions/name/Postgres.testConnectionDefinition"))
    assert d["name"] == "Postgres.testConnectionDefinition"
    names = [s["name"] for s in d["steps"]]
    assert names[0] == "CheckAccess" and {"GetSchemas", "GetTables", "GetViews", "GetQueries"} <= set(names)
    assert all({"name", "description", "mandatory"} <= set(s) for s in d["steps"])
    resp = api.get("/api/v1/services/testConnectionDefinitions/name/Nope.testConnectionDefinition")
    assert resp.status_code == 404 and "Postgres.testConnectionDefinition" in resp.json()["message"]


def test_usage_percentile_and_roles(server: LiveServer, api: httpx.Client) -> None:
    assert ok(api.post("/api/v1/usage/compute.percentile/table/2026-01-01"))["computed"] is False
    with server.client("viewer") as viewer:
        assert viewer.post("/api/v1/usage/compute.percentile/table/2026-01-01").status_code == 403
        resp = viewer.put("/api/v1/queries/bulk", json=[])
        assert resp.status_code == 403
