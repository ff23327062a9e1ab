"""Event validation (strict core, lenient facets) and dataset naming / node ids."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from ol_helpers import make_event

from headwater.openlineage.events import (
    EventType,
    EventValidationError,
    accept_event,
    accept_json,
    facet,
    parse_event,
    parse_events,
    parse_time,
)
from headwater.openlineage.naming import canonical, dataset_identity, node_id_candidates, parse_node_id


def test_conformance_events(example_events: dict[str, dict[str, Any]]) -> None:
    for name, raw in example_events.items():
        if name.endswith("event_no_run_id-INVALID.json"):
            with pytest.raises(EventValidationError) as exc:
                parse_event(raw)
            assert exc.value.field == "run.runId"
            continue
        ev = parse_event(raw)
        assert ev.kind == "RunEvent", name
        expected = name.rsplit("-", 1)[1].removesuffix(".json")
        if expected != "INVALID":
            assert ev.event_type == EventType(expected)
    # decision: a parent facet without run.runId is dropped with a warning, the event is kept
    bad = parse_event(example_events["olrepo-fluentd-event_invalid_run_facet-INVALID.json"])
    assert "parent" not in bad.run.facets  # type: ignore[union-attr]
    assert any("parent" in w for w in bad.warnings)
    # a stray `dataset` key does not make a RunEvent a DatasetEvent
    full = parse_event(example_events["olrepo-spec_tests-example_full_event-COMPLETE.json"])
    assert full.kind == "RunEvent"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("eventTime"), "eventTime"),
        (lambda e: e.update(eventTime="yesterday"), "eventTime"),
        (lambda e: e.update(eventTime="2025-01-01"), "eventTime"),
        (lambda e: e.pop("producer"), "producer"),
        (lambda e: e.pop("schemaURL"), "schemaURL"),
        (lambda e: e["run"].update(runId="not-a-uuid"), "run.runId"),
        (lambda e: e["run"].pop("runId"), "run.runId"),
        (lambda e: e["job"].pop("namespace"), "job.namespace"),
        (lambda e: e["job"].update(name=""), "job.name"),
        (lambda e: e.pop("job"), "job"),
        (lambda e: e.update(eventType="FINISHED"), "eventType"),
        (lambda e: e.update(inputs=[{"namespace": "x"}]), "inputs[0].name"),
        (lambda e: e.update(outputs={}), "outputs"),
    ],
)
def test_strict_core_fields(mutate: Any, field: str) -> None:
    ev = make_event()
    mutate(ev)
    with pytest.raises(EventValidationError) as exc:
        parse_event(ev)
    assert exc.value.field == field
    # the ingest fast path rejects the same events, naming the same field
    with pytest.raises(EventValidationError) as fast:
        accept_event(ev)
    assert (fast.value.field, fast.value.message) == (exc.value.field, exc.value.message)


def test_fast_path_accepts_what_parse_accepts(example_events: dict[str, dict[str, Any]]) -> None:
    """accept_event checks only the core fields, with parse_event's errors; facets (malformed
    standard ones included) are left for translation, where they are dropped with a warning."""
    cases = [
        *example_events.values(),
        make_event(run_facets={"errorMessage": {"_producer": "p"}}),  # malformed facet: kept
        {"eventTime": "2025-01-01T00:00:00Z", "producer": "p", "schemaURL": "s", "job": {"namespace": "n"}},
        {"eventTime": "2025-01-01T00:00:00Z", "producer": "p", "schemaURL": "s", "dataset": {"name": "x"}},
        {"eventTime": "2025-01-01T00:00:00Z", "producer": "p", "schemaURL": "s"},
        [make_event()],
        make_event(inputs=[{"namespace": "x", "name": "y"}, "nope"]),
    ]
    for raw in cases:
        data = orjson.dumps(raw)
        try:
            parsed = parse_event(raw)
        except EventValidationError as exc:
            with pytest.raises(EventValidationError) as fast:
                accept_event(raw)
            assert (fast.value.field, fast.value.message) == (exc.field, exc.message)
            try:  # without decoding the whole text: the same error, or "decode it yourself"
                assert accept_json(data) is None
            except EventValidationError as exc2:
                assert (exc2.field, exc2.message) == (exc.field, exc.message)
        else:
            assert accept_event(raw).kind == parsed.kind
            ev = accept_json(data)
            assert ev is not None and ev.kind == parsed.kind and ev.payload == data
            assert ev.decoded() == raw
            assert ev.job_name == ((parsed.job.namespace, parsed.job.name) if parsed.job else None)
            ins, outs = ev.io_names()
            assert ins == [(d.namespace, d.name) for d in parsed.inputs]
            assert outs == [(d.namespace, d.name) for d in parsed.outputs]


def test_lenient_times_and_facets() -> None:
    assert parse_time("2021-11-03T10:53:52.427343") == datetime(2021, 11, 3, 10, 53, 52, 427343, tzinfo=UTC)
    assert parse_time("2021-11-03T10:53:52.123456789Z").microsecond == 123456
    assert parse_time("2021-11-03T20:53:52+10:00").hour == 10
    ev = make_event(
        "COMPLETE",
        run_facets={
            "myCustom_thing": {"anything": [1, 2]},
            "nominalTime": {"_producer": "p", "_schemaURL": "s", "nominalStartTime": "2020-01-01"},
            "errorMessage": {"_producer": "p", "_schemaURL": "s"},  # malformed: no message
        },
        outputs=[
            {
                "namespace": "s3://b",
                "name": "x",
                "facets": {"schema": {"fields": "nope"}, "columnLineage": {"fields": {}}},
            }
        ],
    )
    parsed = parse_event(ev)
    assert "myCustom_thing" in parsed.run.facets  # type: ignore[union-attr]
    assert "errorMessage" not in parsed.run.facets  # type: ignore[union-attr]
    assert facet(parsed.run.facets, "nominalTime").nominalStartTime.year == 2020  # type: ignore[union-attr]
    assert "schema" not in parsed.outputs[0].facets
    assert "columnLineage" in parsed.outputs[0].facets
    assert len(parsed.warnings) == 2
    # missing eventType is accepted
    assert parse_event(make_event(None)).event_type is None


def test_job_and_dataset_events() -> None:
    job_ev = {
        "eventTime": "2025-01-01T00:00:00Z",
        "producer": "https://example.com/ci",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "etl", "name": "orders.load"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders"}],
        "outputs": [],
    }
    assert parse_event(job_ev).kind == "JobEvent"
    ds_ev = {
        "eventTime": "2025-01-01T00:00:00Z",
        "producer": "https://example.com/catalog",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "s3://lake", "name": "raw/orders"},
    }
    assert parse_event(ds_ev).kind == "DatasetEvent"
    ambiguous = copy.deepcopy(job_ev) | {"dataset": ds_ev["dataset"]}
    with pytest.raises(EventValidationError):
        parse_event(ambiguous)
    with pytest.raises(EventValidationError) as exc:
        parse_events([make_event(), {"producer": "x"}])
    assert exc.value.field.startswith("[1].")


def test_naming_normalisation() -> None:
    a = canonical("postgresql://DB.example:5432", "shop.public.orders")
    b = canonical("postgres://db.example", "shop.public.orders")
    assert a.key == b.key == "postgres://db.example:5432::shop.public.orders"
    assert (a.database, a.schema, a.table, a.kind) == ("shop", "public", "orders", "table")
    s3 = canonical("s3a://lake/", "/raw/orders/")
    assert (s3.namespace, s3.name, s3.kind) == ("s3://lake", "raw/orders", "container")
    assert canonical("kafka://broker:9092", "events").kind == "topic"
    assert canonical("mysql://h:3306", "db.t").database == "db"
    bq = canonical("bigquery", "proj.ds.t")
    assert (bq.database, bq.schema, bq.table, bq.service) == ("proj", "ds", "t", "bigquery")
    glue = canonical("arn:aws:glue:us-east-1:123456789012", "table/db/t")
    assert (glue.database, glue.table) == ("db", "t")
    sn = canonical("snowflake://org-acct", '"MY.DB".PUBLIC.T')
    assert (sn.database, sn.schema, sn.table) == ("MY.DB", "PUBLIC", "T")
    hive = dataset_identity(
        "file",
        "/warehouse/test.db/t1/",
        {"symlinks": {"identifiers": [{"namespace": "hive://localhost:9083", "name": "test.t1"}]}},
    )
    assert hive.name == "/warehouse/test.db/t1"
    assert hive.aliases == (("hive://localhost:9083", "test.t1"),)


def test_node_ids() -> None:
    n = parse_node_id("dataset:postgres://h:5432:db.s.t")
    assert (n.type, n.namespace, n.name) == ("dataset", "postgres://h:5432", "db.s.t")
    n = parse_node_id("job:etl:orders.load")
    assert (n.namespace, n.name) == ("etl", "orders.load")
    n = parse_node_id("dataset:kafka://b1:9092,b2:9092:topic")
    assert (n.namespace, n.name) == ("kafka://b1:9092,b2:9092", "topic")
    n = parse_node_id("datasetField:postgres://h:5432:db.s.t:amount")
    assert (n.namespace, n.name, n.field) == ("postgres://h:5432", "db.s.t", "amount")
    n = parse_node_id("dataset:arn:aws:glue:us-east-1:1234:table/db/t")
    assert (n.namespace, n.name) == ("arn:aws:glue:us-east-1:1234", "table/db/t")
    version = "01941f29-7c00-7000-8000-000000000001"
    n = parse_node_id(f"dataset:s3://lake:raw/orders#{version}")
    assert (n.namespace, n.name, n.version) == ("s3://lake", "raw/orders", version)
    n = parse_node_id("dataset:etl:2024_table")
    assert (n.namespace, n.name) == ("etl", "2024_table")
    assert (
        str(parse_node_id("dataset:postgres%3A%2F%2Fh%3A5432:db.s.t")) == "dataset:postgres://h:5432:db.s.t"
    )
    cands = node_id_candidates("dataset:pubsub:topic:p:t")
    assert [(c.namespace, c.name) for c in cands][:2] == [("pubsub", "topic:p:t"), ("pubsub:topic", "p:t")]
    for bad in ("nope", "table:x:y", "dataset:onlyns"):
        with pytest.raises(ValueError):
            parse_node_id(bad)
