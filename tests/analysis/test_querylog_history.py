"""A history written by query-log ingestion runs (the `headwater ingest` workflow through the REST
sink), read back as of instants between the runs and as a diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.analysis.an_helpers import SVC, col, fqn, graph_edges, ok, schema, table, tick
from tests.helpers import LiveServer
from tests.ingest.conftest import run_ingest, write_workflow

RAW, STG, MART = fqn("raw"), fqn("stg"), fqn("mart")
HEADER = "query_text,database_name,schema_name,user_name,start_time,end_time,duration,aborted\n"


def ingest(server: LiveServer, tmp_path: Path, name: str, queries: list[str]) -> None:
    log = tmp_path / f"{name}.csv"
    log.write_text(HEADER + "".join(f'"{q}",db,s,etl,,,,false\n' for q in queries))
    wf = write_workflow(
        tmp_path / f"{name}.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log)},
        connection={"type": "Postgres"},
        server=server.url,
        token=server.editor_token,
    )
    res = run_ingest("-c", str(wf), "--json")
    assert res.exit_code == 0, res.output


def test_query_log_runs_as_of_and_diff(server: LiveServer, api: httpx.Client, tmp_path: Path) -> None:
    schema(api)
    table(api, "raw", ["id", "email"])
    table(api, "stg", ["id", "email_hash"])
    table(api, "mart", ["id"])
    t0 = tick()
    ingest(server, tmp_path, "day1", ["insert into s.stg (id, email_hash) select id, email from s.raw"])
    t1 = tick()
    ingest(
        server,
        tmp_path,
        "day2",
        ["insert into s.mart (id) select id from s.stg"],
    )
    t2 = tick()

    def read(at: int) -> dict[str, Any]:
        return ok(
            api.get(
                f"/api/v1/lineage/table/name/{STG}",
                params={"asOf": at, "upstreamDepth": 2, "downstreamDepth": 2},
            )
        )

    assert graph_edges(read(t0)) == set()
    assert graph_edges(read(t1)) == {(RAW, STG)}
    assert graph_edges(read(t2)) == {(RAW, STG), (STG, MART)}
    then = read(t1)
    details = then["upstreamEdges"][0]["lineageDetails"]
    assert details["source"] == "QueryLineage"
    assert {(f, c["toColumn"]) for c in details["columnsLineage"] for f in c["fromColumns"]} == {
        (col("raw", "id"), col("stg", "id")),
        (col("raw", "email"), col("stg", "email_hash")),
    }
    d = ok(api.get("/api/v1/analysis/diff", params={"from": t1, "to": t2}))
    assert [
        (e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"])
        for e in d["edges"]["added"]
    ] == [(STG, MART)]
    assert d["edges"]["removed"] == [] and d["edges"]["changed"] == []
    assert [c["toColumn"] for c in d["columns"]["added"]] == [col("mart", "id")]
    imp = ok(api.get("/api/v1/analysis/impact", params={"fqn": RAW, "column": "id"}))
    assert [(r["fullyQualifiedName"], r["hop"]) for r in imp["data"]] == [
        (col("stg", "id"), "direct"),
        (col("mart", "id"), "direct"),
    ]
    imp_then = ok(api.get("/api/v1/analysis/impact", params={"fqn": RAW, "column": "id", "asOf": t1}))
    assert [r["fullyQualifiedName"] for r in imp_then["data"]] == [col("stg", "id")]
