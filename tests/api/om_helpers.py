"""Builders for the OpenMetadata HTTP tests: a small catalog and edges, through the API itself."""

from __future__ import annotations

from typing import Any

import httpx

SERVICE = "svc"
DB = "db"
SCHEMA = "sch"
SCHEMA_FQN = f"{SERVICE}.{DB}.{SCHEMA}"


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code in (200, 201), f"{resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def make_schema(api: httpx.Client, service: str = SERVICE, db: str = DB, schema: str = SCHEMA) -> None:
    ok(api.put("/api/v1/services/databaseServices", json={"name": service, "serviceType": "Postgres"}))
    ok(api.put("/api/v1/databases", json={"name": db, "service": service}))
    ok(api.put("/api/v1/databaseSchemas", json={"name": schema, "database": f"{service}.{db}"}))


def make_table(
    api: httpx.Client, name: str, columns: tuple[str, ...] = ("id", "v"), schema_fqn: str = SCHEMA_FQN
) -> dict[str, Any]:
    body = {
        "name": name,
        "databaseSchema": schema_fqn,
        "columns": [{"name": c, "dataType": "INT"} for c in columns],
    }
    table: dict[str, Any] = ok(api.put("/api/v1/tables", json=body))
    return table


def make_tables(api: httpx.Client, *names: str) -> dict[str, dict[str, Any]]:
    make_schema(api)
    return {n: make_table(api, n) for n in names}


def make_pipeline(api: httpx.Client, name: str = "etl", service: str = "airflow") -> dict[str, Any]:
    ok(api.put("/api/v1/services/pipelineServices", json={"name": service, "serviceType": "Airflow"}))
    pipe: dict[str, Any] = ok(api.put("/api/v1/pipelines", json={"name": name, "service": service}))
    return pipe


def edge_body(src: dict[str, Any], dst: dict[str, Any], **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "edge": {
            "fromEntity": {"id": src["id"], "type": src.get("entityType", "table")},
            "toEntity": {"id": dst["id"], "type": dst.get("entityType", "table")},
        }
    }
    if details:
        body["edge"]["lineageDetails"] = details
    return body


def put_edge(api: httpx.Client, src: dict[str, Any], dst: dict[str, Any], **details: Any) -> httpx.Response:
    resp = api.put("/api/v1/lineage", json=edge_body(src, dst, **details))
    assert resp.status_code == 200, resp.text
    assert resp.content == b""
    return resp


def cols(src: dict[str, Any], dst: dict[str, Any], *pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"fromColumns": [f"{src['fullyQualifiedName']}.{a}"], "toColumn": f"{dst['fullyQualifiedName']}.{b}"}
        for a, b in pairs
    ]


def lineage(api: httpx.Client, entity: dict[str, Any], type_: str = "table", **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(api.get(f"/api/v1/lineage/{type_}/{entity['id']}", params=params))
    return result


def edge_pairs(lin: dict[str, Any], key: str) -> set[tuple[str, str]]:
    return {(e["fromEntity"], e["toEntity"]) for e in lin[key]}


def get_edge(api: httpx.Client, src: dict[str, Any], dst: dict[str, Any]) -> dict[str, Any] | None:
    resp = api.get(f"/api/v1/lineage/getLineageEdge/{src['id']}/{dst['id']}")
    if resp.status_code == 404:
        assert resp.json()["code"] == 404
        return None
    edge: dict[str, Any] = ok(resp)["edge"]
    return edge


def column_pairs(details: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f, c["toColumn"]) for c in details.get("columnsLineage", []) for f in c.get("fromColumns", [])}


def snapshot(api: httpx.Client) -> dict[str, Any]:
    """Everything an API error must leave unchanged: tables and every edge touching them."""
    tables = ok(api.get("/api/v1/tables", params={"limit": 1000, "include": "all"}))["data"]
    edges = {}
    for t in tables:
        if t["deleted"]:
            continue
        lin = ok(
            api.get(f"/api/v1/lineage/table/{t['id']}", params={"upstreamDepth": 1, "downstreamDepth": 1})
        )
        for e in lin["upstreamEdges"] + lin["downstreamEdges"]:
            d = dict(e["lineageDetails"])
            edges[(e["fromEntity"], e["toEntity"])] = d
    return {
        "tables": sorted((t["fullyQualifiedName"], t["deleted"], t.get("description")) for t in tables),
        "edges": edges,
    }
