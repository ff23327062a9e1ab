"""Helpers shared by the OpenLineage tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OL_EVENTS = REPO.parent / "shared" / "ol-events"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def create_topic(broker: str, partitions: int = 1) -> str:
    """Create a fresh topic and return its name."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"ol-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": broker})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=15)
    return name


def load_example_events() -> dict[str, dict[str, Any]]:
    """The shared conformance events by file name (empty when the folder is absent)."""
    if not OL_EVENTS.is_dir():
        return {}
    return {p.name: json.loads(p.read_text()) for p in sorted(OL_EVENTS.glob("*.json"))}


def make_event(
    event_type: str | None = "START",
    *,
    run_id: str | None = None,
    job: tuple[str, str] = ("etl", "orders.load"),
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    event_time: str = "2025-01-01T00:00:00Z",
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A minimal valid RunEvent, as in the spec's example."""
    ev: dict[str, Any] = {
        "eventTime": event_time,
        "producer": "https://example.com/headwater-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id or str(uuid.uuid4()), "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }
    if event_type is not None:
        ev["eventType"] = event_type
    return ev


# --------------------------------------------------------------------------- recorded sequences
# Written from the spec's descriptions of what each integration emits (openlineage.md §1.5, §2,
# §3.4): names, namespaces, facets and parent/root links as the producers send them.

_FACET = {"_producer": "https://example.com/p", "_schemaURL": "https://openlineage.io/spec/facets/x.json"}


def _run_facets_parent(
    parent_job: tuple[str, str], parent_run: str, root: tuple[tuple[str, str], str] | None = None
) -> dict[str, Any]:
    parent: dict[str, Any] = {
        **_FACET,
        "run": {"runId": parent_run},
        "job": {"namespace": parent_job[0], "name": parent_job[1]},
    }
    if root is not None:
        parent["root"] = {"run": {"runId": root[1]}, "job": {"namespace": root[0][0], "name": root[0][1]}}
    return {"parent": parent}


def airflow_sequence() -> list[dict[str, Any]]:
    """A DAG run with one task: DAG START, task START (inputs), task COMPLETE (outputs), DAG COMPLETE."""
    dag = ("default", "orders_etl")
    task = ("default", "orders_etl.extract")
    dag_run = "018cc778-5000-7000-8000-0000000000bb"
    task_run = "018cc778-5000-7000-8000-0000000000aa"
    dag_type = {"jobType": {**_FACET, "processingType": "BATCH", "integration": "AIRFLOW", "jobType": "DAG"}}
    task_type = {
        "jobType": {**_FACET, "processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"}
    }
    sql = {
        "sql": {
            **_FACET,
            "query": "INSERT INTO analytics.public.orders_daily SELECT * FROM shop.public.orders",
        }
    }
    pg = "postgres://db:5432"
    return [
        make_event("START", run_id=dag_run, job=dag, event_time="2024-01-02T00:00:01Z", job_facets=dag_type),
        make_event(
            "START",
            run_id=task_run,
            job=task,
            event_time="2024-01-02T00:00:05Z",
            inputs=[{"namespace": pg, "name": "shop.public.orders"}],
            run_facets=_run_facets_parent(dag, dag_run, (dag, dag_run)),
            job_facets={**task_type, **sql},
        ),
        make_event(
            "COMPLETE",
            run_id=task_run,
            job=task,
            event_time="2024-01-02T00:01:05Z",
            outputs=[{"namespace": pg, "name": "analytics.public.orders_daily"}],
            run_facets=_run_facets_parent(dag, dag_run, (dag, dag_run)),
            job_facets=task_type,
        ),
        make_event(
            "COMPLETE", run_id=dag_run, job=dag, event_time="2024-01-02T00:01:10Z", job_facets=dag_type
        ),
    ]


def spark_sequence() -> list[dict[str, Any]]:
    """A Spark application and one action reading a Hive table stored as files (symlinks),
    writing a table with legacy-form column lineage (INDIRECT copied into every field)."""
    app = ("spark_ns", "orders_app")
    action = ("spark_ns", "orders_app.execute_insert_into_hadoop_fs_relation_command.warehouse_orders_agg")
    app_run = "0190b2f0-0000-7000-8000-000000000001"
    act_run = "0190b2f0-0000-7000-8000-000000000002"
    src = {
        "namespace": "s3a://warehouse/",
        "name": "/hive/shop.db/orders/",
        "facets": {
            "symlinks": {
                **_FACET,
                "identifiers": [
                    {"namespace": "hive://metastore:9083", "name": "shop.orders", "type": "TABLE"}
                ],
            },
            "schema": {
                **_FACET,
                "fields": [{"name": "customer_id", "type": "long"}, {"name": "amount", "type": "double"}],
            },
        },
    }
    out_fields = {
        "customer_id": {
            "inputFields": [
                {
                    "namespace": "s3://warehouse",
                    "name": "hive/shop.db/orders",
                    "field": "customer_id",
                    "transformations": [
                        {"type": "DIRECT", "subtype": "IDENTITY"},
                        {"type": "INDIRECT", "subtype": "GROUP_BY"},
                    ],
                },
            ]
        },
        "total": {
            "inputFields": [
                {
                    "namespace": "s3://warehouse",
                    "name": "hive/shop.db/orders",
                    "field": "amount",
                    "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION"}],
                },
                {
                    "namespace": "s3://warehouse",
                    "name": "hive/shop.db/orders",
                    "field": "customer_id",
                    "transformations": [{"type": "INDIRECT", "subtype": "GROUP_BY"}],
                },
            ]
        },
    }
    out = {
        "namespace": "s3://warehouse",
        "name": "hive/shop.db/orders_agg",
        "facets": {
            "symlinks": {
                **_FACET,
                "identifiers": [
                    {"namespace": "hive://metastore:9083", "name": "shop.orders_agg", "type": "TABLE"}
                ],
            },
            "schema": {
                **_FACET,
                "fields": [{"name": "customer_id", "type": "long"}, {"name": "total", "type": "double"}],
            },
            "columnLineage": {**_FACET, "fields": out_fields, "dataset": []},
        },
    }
    app_type = {
        "jobType": {**_FACET, "processingType": "BATCH", "integration": "SPARK", "jobType": "APPLICATION"}
    }
    parent = _run_facets_parent(app, app_run)
    return [
        make_event("START", run_id=app_run, job=app, event_time="2024-06-01T12:00:00Z", job_facets=app_type),
        make_event(
            "START",
            run_id=act_run,
            job=action,
            event_time="2024-06-01T12:00:10Z",
            inputs=[src],
            run_facets=parent,
        ),
        make_event(
            "RUNNING",
            run_id=act_run,
            job=action,
            event_time="2024-06-01T12:00:20Z",
            inputs=[src],
            run_facets=parent,
        ),
        make_event(
            "COMPLETE",
            run_id=act_run,
            job=action,
            event_time="2024-06-01T12:00:40Z",
            inputs=[src],
            outputs=[out],
            run_facets=parent,
        ),
        make_event(
            "COMPLETE", run_id=app_run, job=app, event_time="2024-06-01T12:01:00Z", job_facets=app_type
        ),
    ]


def dbt_sequence() -> list[dict[str, Any]]:
    """dbt-ol after a run: parent dbt-run-shop, a model COMPLETE with column lineage whose
    transformations are empty (as dbt emits them), a failing model with an error message."""
    ns = "dbt"
    parent = (ns, "dbt-run-shop")
    parent_run = "0190c000-0000-7000-8000-000000000010"
    duck = "duckdb://shop.duckdb"
    model = (ns, "shop.main.shop.customers")
    model_run = "0190c000-0000-7000-8000-000000000011"
    bad = (ns, "shop.main.shop.broken")
    bad_run = "0190c000-0000-7000-8000-000000000012"
    pf = _run_facets_parent(parent, parent_run)
    cll = {
        **_FACET,
        "fields": {
            "customer_id": {
                "inputFields": [
                    {
                        "namespace": duck,
                        "name": "shop.main.raw_customers",
                        "field": "id",
                        "transformations": [],
                    }
                ]
            },
            "order_count": {
                "inputFields": [
                    {"namespace": duck, "name": "shop.main.raw_orders", "field": "id", "transformations": []}
                ]
            },
        },
        "dataset": [],
    }
    ins = [
        {"namespace": duck, "name": "shop.main.raw_customers"},
        {"namespace": duck, "name": "shop.main.raw_orders"},
    ]
    out = {"namespace": duck, "name": "shop.main.customers", "facets": {"columnLineage": cll}}
    err = {
        "errorMessage": {**_FACET, "message": "Database Error in model broken", "programmingLanguage": "sql"}
    }
    return [
        make_event("START", run_id=parent_run, job=parent, event_time="2024-07-01T10:00:00Z"),
        make_event(
            "START",
            run_id=model_run,
            job=model,
            event_time="2024-07-01T10:00:01Z",
            inputs=ins,
            outputs=[out],
            run_facets=pf,
        ),
        make_event(
            "COMPLETE",
            run_id=model_run,
            job=model,
            event_time="2024-07-01T10:00:03Z",
            inputs=ins,
            outputs=[out],
            run_facets=pf,
        ),
        make_event("START", run_id=bad_run, job=bad, event_time="2024-07-01T10:00:04Z", run_facets=pf),
        make_event(
            "FAIL", run_id=bad_run, job=bad, event_time="2024-07-01T10:00:05Z", run_facets={**pf, **err}
        ),
        make_event("COMPLETE", run_id=parent_run, job=parent, event_time="2024-07-01T10:00:06Z"),
    ]
