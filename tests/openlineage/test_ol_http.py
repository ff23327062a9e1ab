"""OpenLineage over HTTP: the real openlineage-python client (bearer token, gzip), the
OpenMetadata, Atlan and batch paths, validation errors, and the resulting graph."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx
from ol_helpers import make_event
from sqlalchemy import text

from headwater.api.app import SECURITY_HEADERS
from headwater.store import Store

PG = "postgres://db:5432"
ORDERS = {"namespace": PG, "name": "shop.public.orders"}
CUSTOMERS = {"namespace": PG, "name": "shop.public.customers"}
RAW = {"namespace": "s3://lake", "name": "raw/orders"}


def flush(api: httpx.Client) -> None:
    r = api.post("/api/v1/openlineage/flush")
    assert r.status_code == 200 and r.json()["translated"], r.text


def om_lineage(api: httpx.Client, entity: str, fqn: str, up: int = 3, down: int = 3) -> dict[str, Any]:
    r = api.get(f"/api/v1/lineage/{entity}/name/{fqn}", params={"upstreamDepth": up, "downstreamDepth": down})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def raw_count(store: Store) -> int:
    return store.count("raw_events")


def test_real_client_over_http_with_gzip_and_bearer(server: Any, api: httpx.Client) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import column_lineage_dataset as cl
    from openlineage.client.facet_v2 import schema_dataset as sd
    from openlineage.client.transport.http import (
        ApiKeyTokenProvider,
        HttpCompression,
        HttpConfig,
        HttpTransport,
    )

    transport = HttpTransport(
        HttpConfig(
            url=server.url,
            auth=ApiKeyTokenProvider({"apiKey": server.editor_token}),
            compression=HttpCompression.GZIP,
        )
    )
    client = OpenLineageClient(transport=transport)
    run = Run(runId=str(uuid.uuid4()))
    job = Job(namespace="etl", name="orders.load")
    schema = sd.SchemaDatasetFacet(
        fields=[sd.SchemaDatasetFacetFields(name="id", type="INT"), sd.SchemaDatasetFacetFields(name="total")]
    )
    client.emit(
        RunEvent(
            eventType=RunState.START,
            eventTime="2025-01-01T00:00:00Z",
            producer="https://example.com/test",
            run=run,
            job=job,
            inputs=[InputDataset(namespace=PG, name="shop.public.orders", facets={"schema": schema})],
        )
    )
    cll = cl.ColumnLineageDatasetFacet(
        fields={
            "total": cl.Fields(
                inputFields=[
                    cl.InputField(
                        namespace=PG,
                        name="shop.public.orders",
                        field="total",
                        transformations=[cl.Transformation(type="DIRECT", subtype="AGGREGATION")],
                    )
                ]
            )
        }
    )
    client.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2025-01-01T00:05:00Z",
            producer="https://example.com/test",
            run=run,
            job=job,
            outputs=[OutputDataset(namespace="s3://lake", name="raw/orders", facets={"columnLineage": cll})],
        )
    )
    flush(api)
    graph = om_lineage(api, "table", "postgres_db_5432.shop.public.orders")
    assert len(graph["downstreamEdges"]) == 1
    edge = graph["downstreamEdges"][0]
    details = edge["lineageDetails"]
    assert details["source"] == "OpenLineage"
    assert details["pipeline"]["type"] == "pipeline"
    assert details["columnsLineage"] == [
        {
            "fromColumns": ["postgres_db_5432.shop.public.orders.total"],
            "toColumn": "s3_lake.raw/orders.total",
            "function": "DIRECT/AGGREGATION",
        }
    ]
    # the pipeline and its service exist and are readable through the OpenMetadata API
    r = api.get('/api/v1/pipelines/name/etl."orders.load"')
    assert r.status_code == 200, r.text
    assert r.json()["id"] == details["pipeline"]["id"]
    # the schema facet filled in the (placeholder) table's columns
    table = api.get("/api/v1/tables/name/postgres_db_5432.shop.public.orders").json()
    assert [c["name"] for c in table["columns"]] == ["id", "total"]


def test_auth_required_and_roles(server: Any) -> None:
    ev = make_event()
    with httpx.Client(base_url=server.url) as anon:
        assert anon.post("/api/v1/lineage", json=ev).status_code == 401
    with server.client("viewer") as viewer:
        assert viewer.post("/api/v1/lineage", json=ev).status_code == 403
    with server.client("editor") as editor:
        assert editor.post("/api/v1/lineage", json=ev).status_code == 201


def test_invalid_event_is_rejected_and_not_kept(server: Any, api: httpx.Client) -> None:
    before = raw_count(server.store)
    bad = make_event()
    bad["run"]["runId"] = "nope"
    r = api.post("/api/v1/lineage", json=bad)
    assert r.status_code == 400
    assert r.json()["field"] == "run.runId" and "run.runId" in r.json()["message"]
    r = api.post("/api/v1/lineage", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = api.post("/api/v1/openlineage/lineage", json={"eventTime": "2025-01-01T00:00:00Z"})
    assert r.status_code == 400 and r.json()["field"] == "producer"
    assert raw_count(server.store) == before


def test_gzip_charset_and_duplicates(server: Any, api: httpx.Client) -> None:
    ev = make_event("COMPLETE", inputs=[ORDERS], outputs=[RAW])
    body = gzip.compress(json.dumps(ev).encode())
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json; charset=UTF-8"}
    for _ in range(3):  # client retries deliver the same event again
        assert api.post("/api/v1/lineage", content=body, headers=headers).status_code == 201
    flush(api)
    assert raw_count(server.store) == 1
    runs = server.store.count("runs")
    assert runs == 1


def test_batch_paths(server: Any, api: httpx.Client) -> None:
    good = make_event("COMPLETE", inputs=[ORDERS], outputs=[RAW])
    bad = make_event()
    del bad["job"]["name"]
    r = api.post("/api/v1/lineage/batch", json=[good, bad])
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "partial_success"
    assert body["summary"] == {
        "received": 2,
        "successful": 1,
        "failed": 1,
        "retriable": 0,
        "non_retriable": 1,
    }
    assert body["failed_events"][0]["index"] == 1 and "job.name" in body["failed_events"][0]["reason"]
    assert api.post("/api/v1/lineage/batch", json=[bad]).status_code == 400
    r = api.post(
        "/api/v1/openlineage/lineage/batch",
        json={"events": [make_event("COMPLETE", inputs=[CUSTOMERS], outputs=[RAW])]},
    )
    assert r.status_code == 200
    assert r.json()["summary"] == {"received": 1, "successful": 1, "failed": 0, "skipped": 0}
    assert r.json()["lineageEdgesCreated"] == 1
    r = api.post(
        "/api/v1/openlineage/lineage", json=make_event("COMPLETE", inputs=[ORDERS, CUSTOMERS], outputs=[RAW])
    )
    assert r.status_code == 200 and r.json()["status"] == "success" and r.json()["lineageEdgesCreated"] == 2
    r = api.post(
        "/events/openlineage/spark/api/v1/lineage", json=make_event("START", job=("ol-spark", "dag_123"))
    )
    assert r.status_code == 202
    flush(api)
    graph = om_lineage(api, "container", "s3_lake.raw/orders")
    assert len(graph["upstreamEdges"]) == 2
    assert api.get("/api/v1/pipelines/name/ol-spark.dag_123").status_code == 200


def test_conformance_events_over_http(server: Any, api: httpx.Client, example_events: dict[str, Any]) -> None:
    accepted = 0
    for name, ev in example_events.items():
        r = api.post("/api/v1/lineage", json=ev)
        if name.endswith("no_run_id-INVALID.json"):
            assert r.status_code == 400 and r.json()["field"] == "run.runId"
        else:
            assert r.status_code == 201, (name, r.text)
            accepted += 1
    flush(api)
    assert raw_count(server.store) == accepted
    # Hive column lineage with masking, through the OpenMetadata read path
    graph = om_lineage(api, "table", "hive_localhost_9083.default.test.xxx")
    functions = {
        cl["function"]
        for e in graph["upstreamEdges"]
        for cl in e["lineageDetails"]["columnsLineage"]
        if "function" in cl
    }
    assert "DIRECT/AGGREGATION (masked)" in functions
    # no event failed translation
    with server.store.read() as conn:
        errors = conn.exec_driver_sql("SELECT count(*) FROM raw_events WHERE error IS NOT NULL").scalar_one()
    assert errors == 0


def test_fast_lane_answers_like_the_endpoint(server: Any, api: httpx.Client) -> None:
    """POST /api/v1/lineage with a recently verified token takes the plain-ASGI lane; what it
    does not handle itself (errors, batches, roles) must answer exactly as the endpoint."""
    warm = make_event("START", inputs=[ORDERS])
    assert api.post("/api/v1/lineage", json=warm).status_code == 201  # token now cached
    body = json.dumps(make_event("COMPLETE", inputs=[ORDERS], outputs=[RAW]), indent=1).encode()
    r = api.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.content == b""
    assert r.headers.get("x-content-type-options") == "nosniff"  # security headers still added
    with server.store.read() as conn:
        stored = conn.exec_driver_sql("SELECT payload FROM raw_events ORDER BY seq DESC LIMIT 1").scalar_one()
    assert stored.encode() == body  # kept as received, not re-encoded
    bad = make_event()
    bad["job"]["namespace"] = ""
    r = api.post("/api/v1/lineage", json=bad)
    assert r.status_code == 400 and r.json()["field"] == "job.namespace"
    r = api.post("/api/v1/lineage", json=[make_event("COMPLETE", inputs=[CUSTOMERS], outputs=[RAW])])
    assert r.status_code == 200 and r.json()["summary"]["successful"] == 1
    # a malformed standard facet is accepted and dropped when translated
    odd = make_event("COMPLETE", inputs=[CUSTOMERS], outputs=[RAW])
    odd["run"]["facets"] = {"errorMessage": {"_producer": "p", "_schemaURL": "s"}}
    assert api.post("/api/v1/lineage", json=odd).status_code == 201
    with server.client("viewer") as viewer:
        for _ in range(2):  # the second time the viewer's token is cached too
            assert viewer.post("/api/v1/lineage", json=warm).status_code == 403
    flush(api)
    with server.store.read() as conn:
        errors = conn.exec_driver_sql("SELECT count(*) FROM raw_events WHERE error IS NOT NULL").scalar_one()
        facets = conn.execute(
            text("SELECT facets FROM runs WHERE run_id = :r"), {"r": odd["run"]["runId"]}
        ).scalar_one()
    assert errors == 0 and "errorMessage" not in json.loads(facets)


def test_fast_lane_answers_like_the_stack_around_it(store: Store, tmp_path: Any) -> None:
    """The lane answers in front of the middleware stack: its answers carry every security
    header the stack adds, and a body over the size limit is the stack's 413, stored nowhere."""
    from tests.helpers import live_server

    with live_server(store, tmp_path / "data", max_body_bytes=4096) as srv, srv.client("editor") as api:
        for _ in range(2):  # the second request takes the lane (token cached)
            r = api.post("/api/v1/lineage", json=make_event())
            assert r.status_code == 201
            for name, value in SECURITY_HEADERS.items():
                assert r.headers.get(name) == value, name
        big = make_event()
        big["run"]["facets"] = {"padding": {"_producer": "p", "_schemaURL": "s", "text": "x" * 8000}}
        r = api.post("/api/v1/lineage", json=big)
        assert r.status_code == 413 and "HEADWATER_MAX_BODY_BYTES" in r.json()["message"]
        assert r.headers.get("x-frame-options") == "DENY"
    assert store.count("raw_events") == 2


def test_fast_lane_answers_carry_only_their_own_cors_headers(store: Store, tmp_path: Any) -> None:
    """The lane builds its answer afresh each time: middleware outside it (CORS, security
    headers) adds headers to the message, and one request's must never reach another's."""
    from tests.helpers import live_server

    allowed = "https://lineage.example"
    with live_server(store, tmp_path / "data", cors_origins=[allowed]) as srv, srv.client("editor") as api:
        for _ in range(2):  # the second request takes the lane (token cached)
            r = api.post("/api/v1/lineage", json=make_event(), headers={"Origin": allowed})
            assert r.status_code == 201 and r.headers.get("access-control-allow-origin") == allowed
        r = api.post("/api/v1/lineage", json=make_event())
        assert r.status_code == 201 and "access-control-allow-origin" not in r.headers
        assert r.headers.get("x-frame-options") == "DENY"
