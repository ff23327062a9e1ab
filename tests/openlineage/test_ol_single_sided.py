"""Runs seen with only inputs or only outputs still show what the job read or wrote (dataset →
pipeline, pipeline → dataset); once the other side arrives, input → output edges replace them,
whatever order the events came in. Driven by the real openlineage-python client over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx

PG = "postgres://db:5432"
ORDERS_FQN = "postgres_db_5432.shop.public.orders"
STATS_FQN = "postgres_db_5432.shop.public.stats"


def _client(server: Any) -> Any:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    config = HttpConfig(url=server.url, auth=ApiKeyTokenProvider({"apiKey": server.editor_token}))
    return OpenLineageClient(transport=HttpTransport(config))


def _emit(
    client: Any,
    state: str,
    run_id: str,
    job: str,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    minute: int = 0,
) -> None:
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

    client.emit(
        RunEvent(
            eventType=RunState[state],
            eventTime=f"2025-01-01T00:{minute:02d}:00Z",
            producer="https://example.com/test",
            run=Run(runId=run_id),
            job=Job(namespace="etl", name=job),
            inputs=[InputDataset(namespace=PG, name=n) for n in inputs],
            outputs=[OutputDataset(namespace=PG, name=n) for n in outputs],
        )
    )


def _flush(api: httpx.Client) -> None:
    r = api.post("/api/v1/openlineage/flush")
    assert r.status_code == 200 and r.json()["translated"], r.text


def _edges(api: httpx.Client, entity: str, fqn: str) -> set[tuple[str, str]]:
    """(from, to) FQNs of every edge around an entity, with the pipeline each edge names."""
    r = api.get(f"/api/v1/lineage/{entity}/name/{fqn}", params={"upstreamDepth": 3, "downstreamDepth": 3})
    assert r.status_code == 200, r.text
    data = r.json()
    names = {n["id"]: n["fullyQualifiedName"] for n in [data["entity"], *data["nodes"]]}
    return {
        (names[e["fromEntity"]], names[e["toEntity"]])
        for e in data["upstreamEdges"] + data["downstreamEdges"]
    }


def test_input_only_and_output_only_runs(server: Any, api: httpx.Client) -> None:
    client = _client(server)
    reader = str(uuid.uuid4())
    _emit(client, "START", reader, "orders.audit", inputs=["shop.public.orders"])
    _emit(client, "COMPLETE", reader, "orders.audit", inputs=["shop.public.orders"], minute=1)
    writer = str(uuid.uuid4())
    _emit(client, "COMPLETE", writer, "stats.publish", outputs=["shop.public.stats"])
    _flush(api)
    assert _edges(api, "table", ORDERS_FQN) == {(ORDERS_FQN, 'etl."orders.audit"')}
    assert _edges(api, "pipeline", 'etl."orders.audit"') == {(ORDERS_FQN, 'etl."orders.audit"')}
    assert _edges(api, "table", STATS_FQN) == {('etl."stats.publish"', STATS_FQN)}
    r = api.get(f"/api/v1/lineage/table/name/{ORDERS_FQN}", params={"downstreamDepth": 1})
    edge = r.json()["downstreamEdges"][0]
    assert edge["lineageDetails"]["source"] == "OpenLineage"
    assert edge["lineageDetails"]["pipeline"]["fullyQualifiedName"] == 'etl."orders.audit"'
    # Marquez's view agrees: the job reads orders, writes nothing
    job = api.get("/api/v1/namespaces/etl/jobs/orders.audit").json()
    assert job["inputs"] == [{"namespace": PG, "name": "shop.public.orders"}] and job["outputs"] == []


def _run_sequence(client: Any, api: httpx.Client, job: str, order: list[str]) -> None:
    run_id = str(uuid.uuid4())
    for state in order:
        if state == "START":
            _emit(client, "START", run_id, job, inputs=["shop.public.orders"], minute=0)
        else:
            _emit(client, "COMPLETE", run_id, job, outputs=["shop.public.stats"], minute=5)
        _flush(api)  # each event translated before the next arrives


def test_out_of_order_ends_like_in_order(server: Any, api: httpx.Client) -> None:
    client = _client(server)
    _run_sequence(client, api, "in.order", ["START", "COMPLETE"])
    # the pipeline now only labels the orders → stats edge: no edge to or from the pipeline
    assert _edges(api, "pipeline", 'etl."in.order"') == {(ORDERS_FQN, STATS_FQN)}
    _run_sequence(client, api, "out.of.order", ["COMPLETE", "START"])
    # (the shared edge names the first of its pipelines; what matters is that the pipeline → stats
    # edge of the COMPLETE seen first is gone)
    assert all('etl."out.of.order"' not in pair for pair in _edges(api, "pipeline", 'etl."out.of.order"'))
    # one orders → stats edge, naming both jobs, and no single-sided edge left on the tables
    assert _edges(api, "table", ORDERS_FQN) == {(ORDERS_FQN, STATS_FQN)}
    assert _edges(api, "table", STATS_FQN) == {(ORDERS_FQN, STATS_FQN)}


def test_single_sided_edge_kept_while_another_run_needs_it(server: Any, api: httpx.Client) -> None:
    client = _client(server)
    audit = str(uuid.uuid4())
    _emit(client, "COMPLETE", audit, "orders.job", inputs=["shop.public.orders"])
    _flush(api)
    full = str(uuid.uuid4())
    _emit(client, "START", full, "orders.job", inputs=["shop.public.orders"], minute=2)
    _flush(api)
    _emit(client, "COMPLETE", full, "orders.job", outputs=["shop.public.stats"], minute=3)
    _flush(api)
    # the audit run still only read orders: its edge stays next to the full run's edge
    assert _edges(api, "table", ORDERS_FQN) == {(ORDERS_FQN, STATS_FQN), (ORDERS_FQN, 'etl."orders.job"')}
