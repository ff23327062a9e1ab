"""Helpers for the analysis tests: build catalogs and lineage histories through the public API."""

from __future__ import annotations

import time
from typing import Any

import httpx

SVC, DB, SCH = "svc", "svc.db", "svc.db.s"
PII = {"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}
TIER = {"tagFQN": "Tier.Tier1", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return (
        r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None
    )


def schema(api: httpx.Client) -> None:
    for path, body in (
        ("/api/v1/services/databaseServices", {"name": SVC, "serviceType": "Postgres"}),
        ("/api/v1/databases", {"name": "db", "service": SVC}),
        ("/api/v1/databaseSchemas", {"name": "s", "database": DB}),
    ):
        r = api.put(path, json=body)
        assert r.status_code in (200, 201), r.text


def table(api: httpx.Client, name: str, columns: list[Any], **extra: Any) -> dict[str, Any]:
    cols = [c if isinstance(c, dict) else {"name": c, "dataType": "VARCHAR"} for c in columns]
    r = api.put("/api/v1/tables", json={"name": name, "databaseSchema": SCH, "columns": cols, **extra})
    assert r.status_code in (200, 201), r.text
    data: dict[str, Any] = r.json()
    return data


def fqn(name: str) -> str:
    return f"{SCH}.{name}"


def col(table_name: str, column: str) -> str:
    return f"{SCH}.{table_name}.{column}"


def edge(
    api: httpx.Client,
    src: str,
    dst: str,
    columns: list[tuple[list[str], str, str | None]] | None = None,
    *,
    src_type: str = "table",
    dst_type: str = "table",
    pipeline: dict[str, Any] | None = None,
    source: str | None = None,
    sql: str | None = None,
) -> None:
    """PUT /api/v1/lineage with FQN references; columns as ([from names], to name, function)."""
    details: dict[str, Any] = {}
    if columns is not None:
        details["columnsLineage"] = [
            {
                "fromColumns": [f"{src}.{c}" for c in froms],
                "toColumn": f"{dst}.{to}",
                **({"function": fn} if fn else {}),
            }
            for froms, to, fn in columns
        ]
    if pipeline is not None:
        details["pipeline"] = pipeline
    if source is not None:
        details["source"] = source
    if sql is not None:
        details["sqlQuery"] = sql
    body = {
        "edge": {
            "fromEntity": {"type": src_type, "fullyQualifiedName": src},
            "toEntity": {"type": dst_type, "fullyQualifiedName": dst},
            "lineageDetails": details,
        }
    }
    ok(api.put("/api/v1/lineage", json=body))


def asset_id(api: httpx.Client, collection: str, fqn_: str) -> str:
    data = ok(api.get(f"/api/v1/{collection}/name/{fqn_}", params={"include": "all"}))
    return str(data["id"])


def tick() -> int:
    """An instant strictly between the change just made and the next one (store times are ms)."""
    time.sleep(0.005)
    at = int(time.time() * 1000)
    time.sleep(0.005)
    return at


def graph_edges(lineage: dict[str, Any]) -> set[tuple[str, str]]:
    """(from FQN, to FQN) of every edge in an OpenMetadata EntityLineage."""
    names = {n["id"]: n["fullyQualifiedName"] for n in lineage["nodes"]}
    names[lineage["entity"]["id"]] = lineage["entity"]["fullyQualifiedName"]
    return {
        (names[e["fromEntity"]], names[e["toEntity"]])
        for e in lineage["upstreamEdges"] + lineage["downstreamEdges"]
    }


def column_maps(lineage: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    """(from column, to column, function) of every column mapping in an EntityLineage."""
    out: set[tuple[str, str, str | None]] = set()
    for e in lineage["upstreamEdges"] + lineage["downstreamEdges"]:
        for cl in e["lineageDetails"].get("columnsLineage", []):
            for f in cl["fromColumns"]:
                out.add((f, cl["toColumn"], cl.get("function")))
    return out
