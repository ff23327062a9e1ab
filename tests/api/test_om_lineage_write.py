"""PUT/PATCH/DELETE /api/v1/lineage, getLineageEdge and the CSV export."""

from __future__ import annotations

import csv
import io

import httpx

from tests.api.om_helpers import (
    SCHEMA_FQN,
    cols,
    column_pairs,
    edge_body,
    edge_pairs,
    get_edge,
    lineage,
    make_pipeline,
    make_tables,
    ok,
    put_edge,
)

CSV_HEADER = (
    "fromId,fromEntityType,fromFullyQualifiedName,toId,toEntityType,toFullyQualifiedName,description,"
    "pipelineId,pipelineFullyQualifiedName,pipelineDisplayName,columnLineage,sqlQuery,source"
)


def test_put_replaces_same_source_and_keeps_other_sources_merged(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b")
    a, b = t["a"], t["b"]
    put_edge(api, a, b, columnsLineage=cols(a, b, ("id", "id")), sqlQuery="q1", source="QueryLineage")
    # the same source again: its details are replaced, not merged
    put_edge(api, a, b, columnsLineage=cols(a, b, ("v", "v")), sqlQuery="q2", source="QueryLineage")
    edge = get_edge(api, a, b)
    assert edge is not None
    assert column_pairs(edge) == {(f"{SCHEMA_FQN}.a.v", f"{SCHEMA_FQN}.b.v")}
    assert edge["sqlQuery"] == "q2"
    # another source (a missing source means Manual) sits beside it; reads show both merged
    put_edge(api, a, b, columnsLineage=cols(a, b, ("id", "id")), description="by hand")
    edge = get_edge(api, a, b)
    assert edge is not None
    assert column_pairs(edge) == {
        (f"{SCHEMA_FQN}.a.v", f"{SCHEMA_FQN}.b.v"),
        (f"{SCHEMA_FQN}.a.id", f"{SCHEMA_FQN}.b.id"),
    }
    assert edge["sqlQuery"] == "q2"
    assert sorted(edge["sources"]) == ["Manual", "QueryLineage"]
    details = ok(api.get(f"/api/v1/lineage/getLineageEdge/{a['id']}/{b['id']}"))["details"]
    assert sorted(d["source"] for d in details) == ["Manual", "QueryLineage"]
    # one edge, never two
    lin = lineage(api, a)
    assert [(e["fromEntity"], e["toEntity"]) for e in lin["downstreamEdges"]] == [(a["id"], b["id"])]
    assert len(lin["nodes"]) == 1


def test_edge_description_and_missing_edge(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b")
    body = edge_body(t["a"], t["b"], source="Manual")
    body["edge"]["description"] = "markdown *here*"
    assert api.put("/api/v1/lineage", json=body).status_code == 200
    lin = lineage(api, t["a"])
    assert lin["downstreamEdges"][0]["description"] == "markdown *here*"
    resp = api.get(f"/api/v1/lineage/getLineageEdge/{t['b']['id']}/{t['a']['id']}")
    assert resp.status_code == 404
    assert resp.json() == {"code": 404, "message": resp.json()["message"]}
    assert "not found" in resp.json()["message"]


def test_pipeline_in_lineage_details(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b")
    pipe = make_pipeline(api)
    put_edge(api, t["a"], t["b"], pipeline={"id": pipe["id"], "type": "pipeline"}, source="PipelineLineage")
    edge = get_edge(api, t["a"], t["b"])
    assert edge is not None and edge["pipeline"]["id"] == pipe["id"]
    lin = lineage(api, t["a"])
    ref = lin["downstreamEdges"][0]["lineageDetails"]["pipeline"]
    assert (ref["id"], ref["type"], ref["fullyQualifiedName"]) == (pipe["id"], "pipeline", "airflow.etl")
    # the pipeline's own lineage shows the edges it powers
    plin = ok(api.get("/api/v1/lineage/pipeline/name/airflow.etl"))
    assert edge_pairs(plin, "downstreamEdges") == {(t["a"]["id"], t["b"]["id"])}


def test_json_patch_of_one_edge(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b")
    a, b = t["a"], t["b"]
    put_edge(api, a, b, columnsLineage=cols(a, b, ("id", "id")), source="QueryLineage")
    path = f"/api/v1/lineage/table/{a['id']}/table/{b['id']}"
    patch = [{"op": "add", "path": "/columnsLineage/1", "value": cols(a, b, ("v", "v"))[0]}]
    resp = api.patch(
        path, content=str(patch).replace("'", '"'), headers={"Content-Type": "application/json-patch+json"}
    )
    assert resp.status_code == 200, resp.text
    assert column_pairs(resp.json()) == {
        (f"{SCHEMA_FQN}.a.id", f"{SCHEMA_FQN}.b.id"),
        (f"{SCHEMA_FQN}.a.v", f"{SCHEMA_FQN}.b.v"),
    }
    edge = get_edge(api, a, b)
    assert edge is not None and column_pairs(edge) == column_pairs(resp.json())
    # an unknown column in the patch is refused and nothing changes
    bad = [
        {
            "op": "add",
            "path": "/columnsLineage/0",
            "value": {"fromColumns": [f"{SCHEMA_FQN}.a.nope"], "toColumn": f"{SCHEMA_FQN}.b.id"},
        }
    ]
    resp = api.patch(path, json=bad)
    assert resp.status_code == 400 and "nope" in resp.json()["message"]
    assert get_edge(api, a, b) == edge
    # a bad pointer is 400; a missing edge is 404
    resp = api.patch(path, json=[{"op": "replace", "path": "/nothing/0", "value": 1}])
    assert resp.status_code == 400 and resp.json()["code"] == 400
    resp = api.patch(f"/api/v1/lineage/table/{b['id']}/table/{a['id']}", json=patch)
    assert resp.status_code == 404


def test_json_patch_of_an_edge_with_several_sources(api: httpx.Client) -> None:
    """The merged edge after a PATCH is exactly the patched document, and both sources stay listed."""
    t = make_tables(api, "a", "b")
    a, b = t["a"], t["b"]
    put_edge(
        api, a, b, columnsLineage=cols(a, b, ("id", "id"), ("v", "v")), sqlQuery="q1", source="QueryLineage"
    )
    put_edge(api, a, b, columnsLineage=cols(a, b, ("id", "id")))
    edge = get_edge(api, a, b)
    assert edge is not None and sorted(edge["sources"]) == ["Manual", "QueryLineage"]
    v_index = next(i for i, c in enumerate(edge["columnsLineage"]) if c["toColumn"].endswith(".b.v"))
    patch = [
        {"op": "remove", "path": f"/columnsLineage/{v_index}"},
        {"op": "replace", "path": "/sqlQuery", "value": "insert into b select id from a"},
    ]
    resp = api.patch(f"/api/v1/lineage/table/{a['id']}/table/{b['id']}", json=patch)
    assert resp.status_code == 200, resp.text
    after = get_edge(api, a, b)
    assert after is not None
    # the mapping the patch removed is gone although another source had reported it
    assert column_pairs(after) == {(f"{SCHEMA_FQN}.a.id", f"{SCHEMA_FQN}.b.id")}
    assert after["sqlQuery"] == "insert into b select id from a"
    assert sorted(after["sources"]) == ["Manual", "QueryLineage"]
    assert column_pairs(resp.json()) == column_pairs(after)


def test_delete_by_ids_and_by_fqns(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b", "c")
    a, b, c = t["a"], t["b"], t["c"]
    put_edge(api, a, b)
    put_edge(api, b, c)
    resp = api.delete(f"/api/v1/lineage/table/{a['id']}/table/{b['id']}")
    assert resp.status_code == 200 and resp.content == b""
    assert get_edge(api, a, b) is None
    resp = api.delete(f"/api/v1/lineage/table/{a['id']}/table/{b['id']}")
    assert resp.status_code == 404 and resp.json()["code"] == 404
    resp = api.delete(f"/api/v1/lineage/table/name/{SCHEMA_FQN}.b/table/name/{SCHEMA_FQN}.c")
    assert resp.status_code == 200
    assert get_edge(api, b, c) is None
    assert lineage(api, b, upstreamDepth=3, downstreamDepth=3)["nodes"] == []


def test_delete_dotted_fqns(api: httpx.Client) -> None:
    make_tables(api, "plain")
    ok(api.put("/api/v1/databaseSchemas", json={"name": "s.x", "database": "svc.db"}))
    dotted = ok(
        api.put(
            "/api/v1/tables",
            json={
                "name": "t.1",
                "databaseSchema": 'svc.db."s.x"',
                "columns": [{"name": "id", "dataType": "INT"}],
            },
        )
    )
    assert dotted["fullyQualifiedName"] == 'svc.db."s.x"."t.1"'
    plain = ok(api.get(f"/api/v1/tables/name/{SCHEMA_FQN}.plain"))
    put_edge(api, dotted, plain, columnsLineage=cols(dotted, plain, ("id", "id")))
    lin = ok(api.get("/api/v1/lineage/table/name/svc.db.%22s.x%22.%22t.1%22"))
    assert lin["entity"]["fullyQualifiedName"] == 'svc.db."s.x"."t.1"'
    assert edge_pairs(lin, "downstreamEdges") == {(dotted["id"], plain["id"])}
    resp = api.delete(f"/api/v1/lineage/table/name/svc.db.%22s.x%22.%22t.1%22/table/name/{SCHEMA_FQN}.plain")
    assert resp.status_code == 200
    assert get_edge(api, dotted, plain) is None


def test_delete_by_source(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b", "c", "d")
    a, b, c, d = t["a"], t["b"], t["c"], t["d"]
    pipe = make_pipeline(api)
    put_edge(api, a, c, source="ViewLineage", sqlQuery="create view c as select * from a")
    put_edge(api, b, c, source="ViewLineage")
    put_edge(api, b, c, source="Manual", description="kept")
    put_edge(api, c, d, source="ViewLineage")  # out of c, not into it: kept
    put_edge(api, a, d, pipeline={"id": pipe["id"], "type": "pipeline"}, source="PipelineLineage")
    resp = api.delete(f"/api/v1/lineage/table/{c['id']}/type/ViewLineage")
    assert resp.status_code == 200
    assert get_edge(api, a, c) is None
    kept = get_edge(api, b, c)
    assert kept is not None and kept["sources"] == ["Manual"]
    assert get_edge(api, c, d) is not None
    # PipelineLineage: every edge the pipeline powers goes
    resp = api.delete(f"/api/v1/lineage/pipeline/{pipe['id']}/type/PipelineLineage")
    assert resp.status_code == 200
    assert get_edge(api, a, d) is None
    assert get_edge(api, c, d) is not None
    resp = api.delete(f"/api/v1/lineage/table/{c['id']}/type/NoSuchSource")
    assert resp.status_code == 400 and "NoSuchSource" in resp.json()["message"]


def test_csv_export(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b", "c")
    a, b, c = t["a"], t["b"], t["c"]
    pipe = make_pipeline(api)
    put_edge(
        api,
        a,
        b,
        columnsLineage=cols(a, b, ("id", "id"), ("v", "v")),
        sqlQuery="insert into b select * from a",
        source="QueryLineage",
    )
    put_edge(api, a, b, columnsLineage=cols(a, b, ("id", "v")))  # a second source: still one row
    put_edge(api, b, c, pipeline={"id": pipe["id"], "type": "pipeline"}, source="PipelineLineage")
    resp = api.get(
        "/api/v1/lineage/export", params={"fqn": f"{SCHEMA_FQN}.b", "upstreamDepth": 1, "downstreamDepth": 1}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    lines = resp.text.splitlines()
    assert lines[0] == CSV_HEADER and len(lines[0].split(",")) == 13
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 2
    by_pair = {(r["fromFullyQualifiedName"], r["toFullyQualifiedName"]): r for r in rows}
    ab = by_pair[(f"{SCHEMA_FQN}.a", f"{SCHEMA_FQN}.b")]
    assert ab["fromId"] == a["id"] and ab["toId"] == b["id"] and ab["fromEntityType"] == "table"
    assert set(ab["columnLineage"].split(";")) == {
        f"{SCHEMA_FQN}.a.id:{SCHEMA_FQN}.b.id",
        f"{SCHEMA_FQN}.a.v:{SCHEMA_FQN}.b.v",
        f"{SCHEMA_FQN}.a.id:{SCHEMA_FQN}.b.v",
    }
    assert ab["sqlQuery"] == "insert into b select * from a"
    bc = by_pair[(f"{SCHEMA_FQN}.b", f"{SCHEMA_FQN}.c")]
    assert (bc["pipelineId"], bc["pipelineFullyQualifiedName"], bc["pipelineDisplayName"]) == (
        pipe["id"],
        "airflow.etl",
        "etl",
    )
    assert bc["source"] == "PipelineLineage"
    # depth 0 both ways: just the header
    resp = api.get(
        "/api/v1/lineage/export", params={"fqn": f"{SCHEMA_FQN}.b", "upstreamDepth": 0, "downstreamDepth": 0}
    )
    assert resp.text.splitlines() == [CSV_HEADER]
    resp = api.get("/api/v1/lineage/export", params={"fqn": f"{SCHEMA_FQN}.zzz"})
    assert resp.status_code == 404 and resp.json()["code"] == 404
