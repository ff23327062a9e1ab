"""The seed's OpenLineage examples with the real pyatlan: events on Atlan's path answer 202, go
through the OpenLineage router's durable log, and become Atlan assets under the connection the
job's namespace names (partial tables, a Process per job, a ColumnProcess per output column)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
from pyatlan.client.atlan import AtlanClient
from pyatlan.errors import NotFoundError
from pyatlan.model.assets import ColumnProcess, Connection, Process, Table
from pyatlan.model.enums import AtlanConnectorType, LineageDirection
from pyatlan.model.lineage import FluentLineage

from headwater.atlan.openlineage import CURSOR_KEY
from tests.atlan.conftest import edge_pairs, om_lineage
from tests.helpers import LiveServer

T = TypeVar("T")


def eventually(fetch: Callable[[], T], check: Callable[[T], bool], timeout: float = 20.0) -> T:
    """Processing is asynchronous (as in Atlan): poll until `check` holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fetch()
            if check(value):
                return value
        except NotFoundError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("OpenLineage events were not projected in time")
        time.sleep(0.1)


def spark_connection(client: AtlanClient) -> str:
    admin = client.role_cache.get_id_for_name("$admin")
    response = client.open_lineage.create_connection(
        name="ol-spark", connector_type=AtlanConnectorType.SPARK, admin_roles=[admin]
    )
    return str(response.assets_created(Connection)[0].qualified_name)


def start_and_complete() -> None:
    # -- the seed's Python example, as published --
    from pyatlan.client.atlan import AtlanClient
    from pyatlan.model.enums import OpenLineageEventType
    from pyatlan.model.open_lineage import OpenLineageEvent, OpenLineageJob, OpenLineageRun

    client = AtlanClient()

    snowflake = "snowflake://abc123.snowflakecomputing.com"  # (1)

    job = OpenLineageJob.creator(  # (2)
        connection_name="ol-spark", job_name="dag_123", producer="https://your.orchestrator/unique/id/123"
    )

    run = OpenLineageRun.creator(job=job)  # (3)

    input_dataset = job.create_input(namespace=snowflake, asset_name="OPS.DEFAULT.RUN_STATS")  # (4)

    output_dataset = job.create_output(namespace=snowflake, asset_name="OPS.DEFAULT.FULL_STATS")  # (5)

    start = OpenLineageEvent.creator(run=run, event_type=OpenLineageEventType.START)  # (6)

    start.inputs = [
        input_dataset,
        job.create_input(namespace=snowflake, asset_name="SOME.OTHER.TBL"),
        job.create_input(namespace=snowflake, asset_name="AN.OTHER.TBL"),
    ]  # (7)

    start.outputs = [
        output_dataset,
        job.create_output(namespace=snowflake, asset_name="AN.OTHER.VIEW"),
    ]  # (8)

    start.emit(client=client)  # (9)

    complete = OpenLineageEvent.creator(run=run, event_type=OpenLineageEventType.COMPLETE)  # (1)

    complete.emit(client=client)  # (2)


def column_lineage() -> None:
    # -- the seed's Python example, as published except `emit()`: the seed calls `start.emit()` and
    # `complete.emit()` without a client, which pyatlan 11.6 rejects client-side
    # (TypeError: emit() missing 1 required positional argument: 'client'), so the client is passed --
    from pyatlan.client.atlan import AtlanClient
    from pyatlan.model.enums import OpenLineageEventType
    from pyatlan.model.open_lineage import OpenLineageEvent, OpenLineageJob, OpenLineageRun

    client = AtlanClient()

    snowflake = "snowflake://abc123.snowflakecomputing.com"  # (1)

    job = OpenLineageJob.creator(  # (2)
        connection_name="ol-spark", job_name="dag_123", producer="https://your.orchestrator/unique/id/123"
    )

    run = OpenLineageRun.creator(job=job)  # (3)

    input_dataset = job.create_input(namespace=snowflake, asset_name="OPS.DEFAULT.RUN_STATS")  # (4)

    output_dataset = job.create_output(namespace=snowflake, asset_name="OPS.DEFAULT.FULL_STATS")  # (5)

    output_dataset.to_fields = [  # (6)
        {
            # (7)
            "COLUMN": [
                input_dataset.from_field(field_name="COLUMN"),
                input_dataset.from_field(field_name="ONE"),
                input_dataset.from_field(field_name="TWO"),
            ]  # (8)
        },
        {
            "ANOTHER": [
                input_dataset.from_field(field_name="THREE"),
            ]
        },
    ]

    start = OpenLineageEvent.creator(run=run, event_type=OpenLineageEventType.START)  # (9)

    start.inputs = [
        input_dataset,
        job.create_input(namespace=snowflake, asset_name="SOME.OTHER.TBL"),
        job.create_input(namespace=snowflake, asset_name="AN.OTHER.TBL"),
    ]  # (10)

    start.outputs = [
        output_dataset,
        job.create_output(namespace=snowflake, asset_name="AN.OTHER.VIEW"),
    ]  # (11)

    start.emit(client=client)  # (12)

    complete = OpenLineageEvent.creator(run=run, event_type=OpenLineageEventType.COMPLETE)  # (1)

    complete.emit(client=client)  # (2)


def _process(client: AtlanClient, qn: str, inputs: int, outputs: int) -> Process:
    return eventually(
        lambda: client.asset.get_by_qualified_name(qn, asset_type=Process),
        lambda p: len(p.inputs or []) == inputs and len(p.outputs or []) == outputs,
    )


def test_start_and_complete_lineage_via_openlineage(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    connection_qn = spark_connection(client)
    start_and_complete()
    process = _process(client, f"{connection_qn}/dag_123", 3, 2)
    assert process.connector_name == "spark"
    run_stats = client.asset.get_by_qualified_name(f"{connection_qn}/OPS/DEFAULT/RUN_STATS", asset_type=Table)
    assert run_stats.is_partial is True
    assert [p.guid for p in run_stats.input_to_processes or []] == [process.guid]
    full_stats = client.asset.get_by_qualified_name(
        f"{connection_qn}/OPS/DEFAULT/FULL_STATS", asset_type=Table
    )
    # lineage through this API and the OpenMetadata-style one
    lineage = FluentLineage(starting_guid=str(run_stats.guid), direction=LineageDirection.DOWNSTREAM).request
    found = {(a.type_name, a.qualified_name) for a in client.asset.get_lineage_list(lineage)}
    assert found == {
        ("Process", f"{connection_qn}/dag_123"),
        ("Table", f"{connection_qn}/OPS/DEFAULT/FULL_STATS"),
        ("Table", f"{connection_qn}/AN/OTHER/VIEW"),
    }
    view = om_lineage(raw, "table", str(full_stats.guid))
    ups = edge_pairs(view, "upstreamEdges")
    assert len(ups) == 3 and all(t == full_stats.guid for _, t in ups)
    assert {e["lineageDetails"]["pipeline"]["id"] for e in view["upstreamEdges"]} == {process.guid}
    # one asset per dataset: the translator's runs use the projected tables, no second copy
    # under a service named after the namespace, and no second process in the lineage
    assert raw.post("/api/v1/openlineage/flush").json()["translated"]
    tables = raw.get("/api/v1/tables", params={"limit": 100}).json()["data"]
    assert sorted(t["fullyQualifiedName"] for t in tables) == sorted(
        f"{connection_qn}/{n}"
        for n in (
            "OPS/DEFAULT/RUN_STATS",
            "OPS/DEFAULT/FULL_STATS",
            "SOME/OTHER/TBL",
            "AN/OTHER/TBL",
            "AN/OTHER/VIEW",
        )
    )
    after = om_lineage(raw, "table", str(full_stats.guid))
    assert {e["lineageDetails"]["pipeline"]["id"] for e in after["upstreamEdges"]} == {process.guid}
    # the run itself is recorded, OpenLineage-style, on those same datasets
    runs = raw.get("/api/v1/namespaces/ol-spark/jobs/dag_123/runs").json()["runs"]
    assert [r["state"] for r in runs] == ["COMPLETED"]
    job = raw.get("/api/v1/namespaces/ol-spark/jobs/dag_123").json()
    snowflake = "snowflake://abc123.snowflakecomputing.com"
    assert {(d["namespace"], d["name"]) for d in job["outputs"]} == {
        (snowflake, "OPS.DEFAULT.FULL_STATS"),
        (snowflake, "AN.OTHER.VIEW"),
    }
    # a second run of the same job updates the same process, no duplicates
    start_and_complete()
    time.sleep(0.5)
    same = _process(client, f"{connection_qn}/dag_123", 3, 2)
    assert same.guid == process.guid
    # the crawler's full metadata later completes the partial asset (same guid)
    table = Table.creator(name="RUN_STATS", schema_qualified_name=f"{connection_qn}/OPS/DEFAULT")
    response = client.asset.save(table)
    assert response.assets_created(Table) == []
    completed = client.asset.get_by_guid(str(run_stats.guid), asset_type=Table)
    assert not completed.is_partial
    assert [p.guid for p in completed.input_to_processes or []] == [process.guid]


def test_column_lineage_via_openlineage(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    connection_qn = spark_connection(client)
    column_lineage()
    process = _process(client, f"{connection_qn}/dag_123", 3, 2)
    base = f"{connection_qn}/OPS/DEFAULT"
    cp = eventually(
        lambda: client.asset.get_by_qualified_name(
            f"{connection_qn}/dag_123/OPS.DEFAULT.FULL_STATS/COLUMN", asset_type=ColumnProcess
        ),
        lambda c: len(c.inputs or []) == 3,
    )
    assert cp.process is not None and cp.process.guid == process.guid
    assert {i.qualified_name for i in cp.inputs or []} == {
        f"{base}/RUN_STATS/COLUMN",
        f"{base}/RUN_STATS/ONE",
        f"{base}/RUN_STATS/TWO",
    }
    assert [o.qualified_name for o in cp.outputs or []] == [f"{base}/FULL_STATS/COLUMN"]
    another = client.asset.get_by_qualified_name(
        f"{connection_qn}/dag_123/OPS.DEFAULT.FULL_STATS/ANOTHER", asset_type=ColumnProcess
    )
    assert [i.qualified_name for i in another.inputs or []] == [f"{base}/RUN_STATS/THREE"]
    # the table edge RUN_STATS -> FULL_STATS carries the column mappings in the OpenMetadata-style API
    run_stats = client.asset.get_by_qualified_name(f"{base}/RUN_STATS", asset_type=Table)
    view = om_lineage(raw, "table", str(run_stats.guid))
    mappings: dict[str, Any] = {}
    for edge in view["downstreamEdges"]:
        for c in edge["lineageDetails"]["columnsLineage"]:
            mappings[c["toColumn"]] = sorted(c["fromColumns"])
    assert mappings[f"{base}/FULL_STATS/COLUMN"] == sorted(
        [f"{base}/RUN_STATS/COLUMN", f"{base}/RUN_STATS/ONE", f"{base}/RUN_STATS/TWO"]
    )
    assert mappings[f"{base}/FULL_STATS/ANOTHER"] == [f"{base}/RUN_STATS/THREE"]


def test_events_answer_202_and_need_a_connection(atlan_env: LiveServer, raw: httpx.Client) -> None:
    event = {
        "eventTime": "2024-07-01T08:23:37.491542Z",
        "producer": "https://your.orchestrator/unique/id/123",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": "START",
        "job": {"namespace": "ol-spark", "name": "dag_123", "facets": {}},
        "run": {"runId": "eefd52c3-5871-4f0e-8ff5-237e9a6efb53", "facets": {}},
        "inputs": [
            {
                "namespace": "snowflake://abc123.snowflakecomputing.com",
                "name": "OPS.DEFAULT.RUN_STATS",
                "facets": {},
            }
        ],
        "outputs": [
            {
                "namespace": "snowflake://abc123.snowflakecomputing.com",
                "name": "OPS.DEFAULT.FULL_STATS",
                "facets": {},
            }
        ],
    }
    # no connection named ol-spark yet: accepted (as Atlan does) but no Atlan process appears
    r = raw.post("/events/openlineage/spark/api/v1/lineage", json=event)
    assert r.status_code == 202
    store = atlan_env.store
    eventually(lambda: int(store.get_setting(CURSOR_KEY) or 0), lambda seq: seq >= store.count("raw_events"))
    client = AtlanClient()
    connection_qn = spark_connection(client)
    time.sleep(0.5)
    with pytest.raises(NotFoundError):
        client.asset.get_by_qualified_name(f"{connection_qn}/dag_123", asset_type=Process)
    # the raw REST request of the seed, once the connection exists
    event["run"] = {"runId": "eefd52c3-5871-4f0e-8ff5-237e9a6efb54", "facets": {}}
    assert raw.post("/events/openlineage/spark/api/v1/lineage", json=event).status_code == 202
    complete = {k: v for k, v in event.items() if k not in ("inputs", "outputs")} | {"eventType": "COMPLETE"}
    assert raw.post("/events/openlineage/spark/api/v1/lineage", json=complete).status_code == 202
    _process(client, f"{connection_qn}/dag_123", 1, 1)
