"""Translation: order-independence and idempotence, recorded Spark/Airflow/dbt sequences
read back through the Marquez and OpenMetadata APIs, usage per day."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from ol_helpers import airflow_sequence, dbt_sequence, load_example_events, make_event, spark_sequence
from sqlalchemy import func, select

from headwater.openlineage.events import parse_event
from headwater.openlineage.translate import Translator, dedup_key, summarize
from headwater.store import Store
from headwater.store import schema as s

VOLATILE = {"createdAt", "updatedAt", "createdBy", "updatedBy"}


def snapshot(store: Store) -> dict[str, Any]:
    """Everything translation decides, without ids and wall-clock times."""
    with store.read() as conn:
        assets = {r.pk: r for r in conn.execute(select(s.assets))}
        fqn = {pk: f"{r.type}:{r.fqn}" for pk, r in assets.items()}
        ids = {r.id: f"{r.type}:{r.fqn}" for r in assets.values()}

        def clean(details: str) -> Any:
            d = json.loads(details)
            for k in VOLATILE:
                d.pop(k, None)
            for p in [d.get("pipeline"), *(d.get("pipelines") or [])]:
                if p:
                    p["id"] = ids.get(p["id"])
            return d

        return {
            "assets": sorted(
                (fqn[pk], bool(r.partial), r.parent_pk and fqn.get(r.parent_pk), r.description)
                for pk, r in assets.items()
            ),
            "runs": sorted(
                (r.run_id, fqn[r.job_pk], r.state, r.started_at, r.ended_at, r.error_message, r.facets)
                for r in conn.execute(select(s.runs))
            ),
            "states": sorted(
                tuple(r)
                for r in conn.execute(
                    select(s.run_states.c.run_id, s.run_states.c.state, s.run_states.c.event_time)
                )
            ),
            "io": sorted(
                (r.run_id, fqn[r.asset_pk], r.direction, r.event_time)
                for r in conn.execute(select(s.run_datasets))
            ),
            "edges": sorted(
                (fqn[r.from_pk], fqn[r.to_pk], r.source, json.dumps(clean(r.details), sort_keys=True))
                for r in conn.execute(select(s.edge_details))
            ),
        }


def all_events() -> list[dict[str, Any]]:
    events = [*airflow_sequence(), *spark_sequence(), *dbt_sequence()]
    events += [e for n, e in load_example_events().items() if not n.endswith("no_run_id-INVALID.json")]
    return events


def ingest(store: Store, events: list[dict[str, Any]], batch: int, *, restart: bool = False) -> None:
    """Store and translate in batches; ``restart`` translates with a fresh translator, as a
    process restarted between storing and translating does (it reads the log, not memory)."""
    tr = Translator(store)
    parsed = [parse_event(e) for e in events]
    for i in range(0, len(parsed), batch):
        tr.append_raw(parsed[i : i + batch], "test")
        (Translator(store) if restart else tr).drain(batch)


def test_out_of_order_and_duplicates_give_the_in_order_result(db_url: str, tmp_path: Any) -> None:
    events = all_events()
    reference_store = Store(db_url)
    try:
        ingest(reference_store, events, batch=1)
        reference = snapshot(reference_store)
    finally:
        reference_store.close()
    assert reference["edges"] and reference["runs"]
    rng = random.Random(5)
    for trial, (batch, restart) in enumerate(((1, False), (7, False), (1000, False), (7, True))):
        shuffled = events + rng.sample(events, len(events) // 2)  # at-least-once: duplicates
        rng.shuffle(shuffled)
        other = Store(f"sqlite:///{tmp_path}/trial{trial}.db")
        try:
            ingest(other, shuffled, batch, restart=restart)
            got = snapshot(other)
        finally:
            other.close()
        for key in reference:
            assert got[key] == reference[key], (batch, key)


def test_run_state_rules() -> None:
    assert summarize([("START", 1), ("COMPLETE", 5)]) == ("COMPLETE", 1, 5)
    # a START retried after COMPLETE does not reopen the run
    assert summarize([("COMPLETE", 5), ("START", 9)]) == ("COMPLETE", 9, 5)
    assert summarize([("START", 1), ("RUNNING", 3)]) == ("RUNNING", 1, None)
    assert summarize([("FAIL", 4)]) == ("FAIL", 4, 4)
    assert summarize([("OTHER", 0), ("START", 1)])[0] == "START"


def test_inputs_on_start_outputs_on_complete_and_one_sided_runs(store: Store) -> None:
    tr = Translator(store)
    rid = "01941f29-7c00-7000-8000-000000000001"
    pg = "postgres://db:5432"
    evs = [
        make_event(
            "COMPLETE",
            run_id=rid,
            outputs=[{"namespace": "s3://lake", "name": "raw/orders"}],
            event_time="2025-01-01T00:05:00Z",
        ),
        make_event("START", run_id=rid, inputs=[{"namespace": pg, "name": "shop.public.orders"}]),
        make_event(
            "START", job=("etl", "reader_only"), inputs=[{"namespace": pg, "name": "shop.public.orders"}]
        ),
        make_event(
            "COMPLETE", job=("etl", "writer_only"), outputs=[{"namespace": pg, "name": "shop.public.audit"}]
        ),
    ]
    tr.append_raw([parse_event(e) for e in evs], "test")
    tr.drain()
    snap = snapshot(store)
    # the run seen out of order links input → output; one-sided runs link to their pipeline
    assert sorted((e[0], e[1]) for e in snap["edges"]) == [
        ("pipeline:etl.writer_only", "table:postgres_db_5432.shop.public.audit"),
        ("table:postgres_db_5432.shop.public.orders", "container:s3_lake.raw/orders"),
        ("table:postgres_db_5432.shop.public.orders", "pipeline:etl.reader_only"),
    ]
    run = next(r for r in snap["runs"] if r[0] == rid)
    assert run[2] == "COMPLETE"
    # one-sided runs are kept: their inputs / outputs are recorded
    dirs = {(r[1].split(".")[-1], r[2]) for r in snap["io"]}
    assert ("orders", "input") in dirs and ("audit", "output") in dirs
    assert len(snap["runs"]) == 3


def _enc(x: str) -> str:
    return quote(x, safe="")


def test_recorded_sequences_through_marquez_api(server: Any, api: httpx.Client) -> None:
    for ev in [*airflow_sequence(), *spark_sequence(), *dbt_sequence()]:
        assert api.post("/api/v1/lineage", json=ev).status_code == 201
    assert api.post("/api/v1/openlineage/flush").json()["translated"]

    ns = {n["name"] for n in api.get("/api/v1/namespaces").json()["namespaces"]}
    assert {"default", "spark_ns", "dbt", "postgres://db:5432", "duckdb://shop.duckdb"} <= ns

    # Airflow: task job with its parent, inputs and outputs, a completed run
    job = api.get("/api/v1/namespaces/default/jobs/" + _enc("orders_etl.extract")).json()
    assert job["parentJobName"] == "orders_etl" and job["simpleName"] == "extract"
    assert job["inputs"] == [{"namespace": "postgres://db:5432", "name": "shop.public.orders"}]
    assert job["outputs"] == [{"namespace": "postgres://db:5432", "name": "analytics.public.orders_daily"}]
    assert job["latestRun"]["state"] == "COMPLETED"
    runs = api.get("/api/v1/namespaces/default/jobs/" + _enc("orders_etl.extract") + "/runs").json()
    assert runs["totalCount"] == 1
    run = api.get(f"/api/v1/jobs/runs/{runs['runs'][0]['id']}").json()
    assert [st["state"] for st in run["states"]] == ["START", "COMPLETE"]
    assert run["durationMs"] == 60_000

    # dbt: the failed model carries its error message
    bad = api.get("/api/v1/namespaces/dbt/jobs/" + _enc("shop.main.shop.broken")).json()
    assert bad["latestRun"]["state"] == "FAILED"
    assert bad["latestRun"]["errorMessage"] == "Database Error in model broken"
    failed = api.get("/api/v1/jobs", params={"lastRunStates": "FAILED"}).json()
    assert [j["name"] for j in failed["jobs"]] == ["shop.main.shop.broken"]

    # Marquez graph around a dataset: namespaces with ports parse correctly
    graph = api.get(
        "/api/v1/lineage", params={"nodeId": "dataset:postgres://db:5432:shop.public.orders", "depth": 2}
    )
    assert graph.status_code == 200, graph.text
    nodes = {n["id"]: n for n in graph.json()["graph"]}
    jid = "job:default:orders_etl.extract"
    assert jid in nodes and "dataset:postgres://db:5432:analytics.public.orders_daily" in nodes
    assert {"origin": "dataset:postgres://db:5432:shop.public.orders", "destination": jid} in nodes[jid][
        "inEdges"
    ]
    assert nodes["dataset:postgres://db:5432:shop.public.orders"]["data"]["type"] == "DB_TABLE"

    # Spark: file paths with Hive symlinks become the Hive table; column lineage with types
    spark_job = "job:spark_ns:orders_app.execute_insert_into_hadoop_fs_relation_command.warehouse_orders_agg"
    g = {n["id"]: n for n in api.get("/api/v1/lineage", params={"nodeId": spark_job}).json()["graph"]}
    assert "dataset:s3://warehouse:hive/shop.db/orders" in g
    cl = api.get(
        "/api/v1/column-lineage",
        params={"nodeId": "datasetField:s3://warehouse:hive/shop.db/orders_agg:total"},
    ).json()["graph"]
    total = next(n for n in cl if n["id"].endswith(":total"))
    assert {(f["field"], f["transformationType"]) for f in total["data"]["inputFields"]} == {
        ("amount", "DIRECT"),
        ("customer_id", "INDIRECT"),
    }
    assert api.get("/api/v1/tables/name/hive_metastore_9083.default.shop.orders").status_code == 200
    ds = api.get(
        "/api/v1/namespaces/" + _enc("s3://warehouse") + "/datasets/" + _enc("hive/shop.db/orders")
    ).json()
    assert [f["name"] for f in ds["fields"]] == ["customer_id", "amount"]

    # dbt column lineage with empty transformations still maps columns
    cl = api.get(
        "/api/v1/column-lineage", params={"nodeId": "dataset:duckdb://shop.duckdb:shop.main.customers"}
    ).json()
    assert any(n["id"].endswith("customers:order_count") for n in cl["graph"])

    # unknown nodes are 404s, malformed ids 400s
    assert api.get("/api/v1/lineage", params={"nodeId": "dataset:nope:nothing"}).status_code == 404
    assert api.get("/api/v1/lineage", params={"nodeId": "bogus"}).status_code == 400

    # usage per dataset and day
    use = api.get(
        "/api/v1/openlineage/usage",
        params={"nodeId": "dataset:postgres://db:5432:shop.public.orders", "days": 100000},
    ).json()
    assert use["usage"] == [{"date": "2024-01-02", "readRuns": 1, "writeRuns": 0, "runs": 1}]
    events = api.get("/api/v1/events/lineage", params={"limit": 3}).json()
    assert events["totalCount"] == 15 and len(events["events"]) == 3


def test_datasets_match_existing_catalog_assets(store: Store) -> None:
    from headwater.model.assets import AssetInput, ColumnInput
    from headwater.model.types import AssetType

    store.upsert_assets(
        [
            AssetInput(type=AssetType.DATABASE_SERVICE, fqn="my_pg", name="my_pg"),
            AssetInput(type=AssetType.DATABASE, fqn="my_pg.shop", name="shop"),
            AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="my_pg.shop.public", name="public"),
            AssetInput(
                type=AssetType.TABLE,
                fqn="my_pg.shop.public.orders",
                name="orders",
                columns=[ColumnInput(name="id"), ColumnInput(name="total")],
            ),
            # two services with shop.public.customers: ambiguous, so never guessed
            AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="my_pg.shop.crm", name="crm"),
            AssetInput(type=AssetType.TABLE, fqn="my_pg.shop.public.customers", name="customers"),
            AssetInput(type=AssetType.TABLE, fqn="my_pg.shop.crm.customers", name="customers"),
            AssetInput(type=AssetType.DATABASE_SERVICE, fqn="pg2", name="pg2"),
            AssetInput(type=AssetType.DATABASE, fqn="pg2.shop", name="shop"),
            AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="pg2.shop.public", name="public"),
            AssetInput(type=AssetType.TABLE, fqn="pg2.shop.public.customers", name="customers"),
        ]
    )
    tr = Translator(store)
    pg = "postgres://db:5432"
    schema = {"schema": {"fields": [{"name": "something_else"}]}}
    ev = make_event(
        "COMPLETE",
        inputs=[{"namespace": pg, "name": "shop.public.orders", "facets": schema}],
        outputs=[{"namespace": pg, "name": "shop.public.customers"}],
    )
    tr.append_raw([parse_event(ev)], "test")
    tr.drain()
    snap = snapshot(store)
    assert [(e[0], e[1]) for e in snap["edges"]] == [
        ("table:my_pg.shop.public.orders", "table:postgres_db_5432.shop.public.customers")
    ]
    # the real table keeps its own columns: the catalog owns them
    orders = store.get_asset_by_fqn("table", "my_pg.shop.public.orders")
    assert orders is not None and not orders.partial
    assert [c.name for c in store.columns_of([orders.pk])[orders.pk]] == ["id", "total"]
    # a namespace mapping picks the service explicitly, as OpenMetadata's namespaceToServiceMapping
    tr2 = Translator(store, namespace_services={"postgres://other:5432": "my_pg"})
    ev2 = make_event(
        "COMPLETE",
        inputs=[{"namespace": "postgres://other:5432", "name": "shop.crm.customers"}],
        outputs=[{"namespace": pg, "name": "shop.public.orders"}],
    )
    tr2.append_raw([parse_event(ev2)], "test")
    tr2.drain()
    pairs = {(e[0], e[1]) for e in snapshot(store)["edges"]}
    assert ("table:my_pg.shop.crm.customers", "table:my_pg.shop.public.orders") in pairs


@pytest.mark.parametrize("write", ["write", "write_one_statement"])
def test_group_append_counts_only_new_rows(store: Store, write: str) -> None:
    """A group commit reports, per request, how many of its events were new: duplicates of
    stored rows, of another request in the same group, and fresh rows mixed in one statement
    (SQLite counts the rows it inserted instead of reading them back). The same through the
    writer's single-statement path (on SQLite, no transaction around the INSERT), whose rows
    must be committed when it returns."""
    from headwater.openlineage.events import accept_json

    evs = [
        accept_json(json.dumps(make_event("COMPLETE", run_id=f"00000000-0000-4000-8000-{i:012d}")).encode())
        for i in range(10)
    ]
    assert all(evs)
    tr = Translator(store)
    writing = getattr(store, write)
    with writing() as conn:
        assert tr.append_groups(conn, [(evs[:4], "http"), (evs[2:6], "http")]) == [4, 2]
    with writing() as conn:
        added = tr.append_groups(conn, [(evs[5:8], "http"), (evs[:1], "kafka"), (evs[8:], "http")])
    assert added == [2, 0, 2]
    with writing() as conn:
        assert tr.append_groups(conn, [(evs, "http")]) == [0]
    with store.read() as conn:
        keys = conn.execute(select(s.raw_events.c.dedup_key).order_by(s.raw_events.c.seq)).scalars().all()
    assert len(keys) == len(set(keys)) == 10
    assert set(tr._handoff) == set(keys)  # every new row handed to the translator, once
    other = Store(store.url, run_migrations=False)  # committed: another connection pool sees them
    try:
        with other.read() as conn:
            assert conn.execute(select(func.count()).select_from(s.raw_events)).scalar() == 10
    finally:
        other.close()


@pytest.mark.parametrize("size", [0, 1, 2046, 2047, 2048, 4094, 4095, 10_000, 100_003])
def test_dedup_key_is_the_sha256_of_the_payload(size: int) -> None:
    """Keys written by earlier versions (one sha256 call) must match: a redelivered event is
    recognised whichever version stored it first, however the digest is fed."""
    payload = bytes(random.Random(size).randrange(256) for _ in range(size))
    assert dedup_key(payload) == hashlib.sha256(payload).hexdigest()
    text = "é" * (size // 2)
    assert dedup_key(text) == hashlib.sha256(text.encode()).hexdigest()
