"""OpenLineage pipeline services end to end: OpenMetadata's SDK example creates them, the
real openlineage-python Kafka transport and a Kinesis stream feed them, consumers run inside
the server; secrets never come back in clear; a consumer killed mid-stream loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ol_helpers import REPO, create_topic, dbt_sequence, make_event
from sqlalchemy import create_engine, text

from headwater.ingest.kinesis_consumer import KinesisBrokerConfig, kinesis_client
from tests.helpers import report_figure

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
HEADWATER = str(Path(sys.executable).parent / "headwater")
SECRETS = ("testing-secret", "session-token-secret", "/path/to/kafka/certs/Key.pem")


def wait_for(pred: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def make_stream(endpoint: str, name: str, shards: int = 1) -> Any:
    cfg = KinesisBrokerConfig.model_validate(
        {"streamName": name, "awsConfig": {"awsRegion": "us-east-2", "endPointURL": endpoint}}
    )
    client = kinesis_client(cfg)
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return client


def om_python() -> Path:
    python = Path(os.environ.get("HEADWATER_OM_VENV", str(REPO / ".venv-om"))) / "bin" / "python"
    if not python.exists():
        made = subprocess.run(
            ["bash", str(REPO / "scripts" / "om-venv.sh")], capture_output=True, timeout=1500
        )
        if made.returncode != 0:
            pytest.fail(f"cannot create the OpenMetadata SDK venv: {made.stderr[-3000:]!r}")
    return python


def test_sdk_example_services_consume_kafka_and_kinesis(
    server: Any, api: httpx.Client, kafka_broker: str, kinesis_endpoint: str
) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

    topic = create_topic(kafka_broker)
    stream = f"openlineage-events-{uuid.uuid4().hex[:6]}"
    kinesis = make_stream(kinesis_endpoint, stream)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))} | {
        "HW_OM_URL": f"{server.url}/api",
        "HW_OM_TOKEN": server.admin_token,
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.run(
        [
            str(om_python()),
            str(Path(__file__).parent / "scripts" / "sdk_openlineage_services.py"),
            kafka_broker,
            topic,
            stream,
            kinesis_endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "kafka": "openlineage-kafka-service",
        "kinesis": "openlineage-kinesis-service",
    }

    # secrets are never returned in clear, by any read
    reads = [
        api.get("/api/v1/services/pipelineServices/name/openlineage-kinesis-service"),
        api.get("/api/v1/services/pipelineServices/name/openlineage-kafka-service"),
        api.get("/api/v1/services/pipelineServices", params={"limit": 100}),
        api.get("/api/v1/openlineage/services"),
        api.get("/api/v1/openlineage/services/openlineage-kinesis-service"),
    ]
    kinesis_id = reads[0].json()["id"]
    reads.append(api.get(f"/api/v1/headwater/assets/{kinesis_id}"))
    reads.append(
        api.get("/api/v1/search/query", params={"q": "openlineage", "index": "pipeline_service_search_index"})
    )
    for r in reads:
        assert r.status_code == 200, r.text
        assert not any(secret in r.text for secret in SECRETS), r.text
    svc = api.get("/api/v1/openlineage/services/openlineage-kafka-service").json()
    assert svc["ingestion"]["schedule"] == "continuous"

    # test connection reports each check
    for name in ("openlineage-kafka-service", "openlineage-kinesis-service"):
        result = api.post(f"/api/v1/openlineage/services/{name}/testConnection").json()
        assert result["status"] == "Successful", result
        assert result["steps"][0]["name"] == "CheckBrokerConnectivity"

    # the real client's Kafka transport publishes; the continuous consumer inside serve reads
    client = OpenLineageClient(
        transport=KafkaTransport(
            KafkaConfig(config={"bootstrap.servers": kafka_broker}, topic=topic, flush=True)
        )
    )
    run, job = Run(runId=str(uuid.uuid4())), Job(namespace="kafka_jobs", name="load_orders")
    client.emit(
        RunEvent(
            eventType=RunState.START,
            eventTime="2025-02-01T00:00:00Z",
            run=run,
            job=job,
            producer="https://example.com/t",
            inputs=[InputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
        )
    )
    client.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2025-02-01T00:01:00Z",
            run=run,
            job=job,
            producer="https://example.com/t",
            outputs=[OutputDataset(namespace="kafka://events:9092", name="orders.cdc")],
        )
    )
    # Kinesis: one record with newline-delimited events (dbt) and one with a single event
    evs = dbt_sequence()
    kinesis.put_record(
        StreamName=stream, Data="\n".join(json.dumps(e) for e in evs[:3]).encode(), PartitionKey="a"
    )
    kinesis.put_record(StreamName=stream, Data=json.dumps(evs[3]).encode(), PartitionKey="b")

    def job_state(ns: str, name: str) -> str | None:
        r = api.get(f"/api/v1/namespaces/{ns}/jobs/{name}")
        return r.json()["latestRun"]["state"] if r.status_code == 200 and r.json()["latestRun"] else None

    wait_for(lambda: job_state("kafka_jobs", "load_orders") == "COMPLETED", 90, "Kafka-fed job")
    wait_for(lambda: job_state("dbt", "shop.main.shop.broken") == "RUNNING", 90, "Kinesis-fed job")
    graph = api.get("/api/v1/lineage", params={"nodeId": "job:kafka_jobs:load_orders"}).json()["graph"]
    ids = {n["id"] for n in graph}
    assert {"dataset:postgres://db:5432:shop.public.orders", "dataset:kafka://events:9092:orders.cdc"} <= ids
    status = api.get("/api/v1/openlineage/services/openlineage-kafka-service").json()["ingestionStatus"]
    assert status["running"] and status["current"]["stored"] >= 2


def test_filter_pattern_and_include_lineage_and_run_once(
    server: Any, api: httpx.Client, kafka_broker: str
) -> None:
    topic = create_topic(kafka_broker)
    body = {
        "name": "ol-filtered",
        "serviceType": "OpenLineage",
        "connection": {
            "config": {
                "type": "OpenLineage",
                "brokerConfig": {
                    "brokersUrl": kafka_broker,
                    "topicName": topic,
                    "consumerGroupName": "g-filtered",
                    "poolTimeout": 0.2,
                    "sessionTimeout": 2,
                    "securityProtocol": "SASL_PLAINTEXT",
                    "saslConfig": {
                        "saslMechanism": "PLAIN",
                        "saslUsername": "u",
                        "saslPassword": "sasl-secret",
                    },
                },
            }
        },
    }
    assert api.put("/api/v1/services/pipelineServices", json=body).status_code in (200, 201)
    assert "sasl-secret" not in api.get("/api/v1/openlineage/services/ol-filtered").text
    r = api.put("/api/v1/openlineage/services/ol-filtered/ingestion", json={"schedule": "every day"})
    assert r.status_code == 400
    opts = {
        "schedule": "manual",
        "pipelineFilterPattern": {"includes": ["keep-.*"], "excludes": [".*skip.*"]},
        "includeLineage": False,
    }
    assert api.put("/api/v1/openlineage/services/ol-filtered/ingestion", json=opts).status_code == 200
    # back to PLAINTEXT for the local broker (the connection is OpenMetadata's; options stay)
    body["connection"]["config"]["brokerConfig"]["securityProtocol"] = "PLAINTEXT"
    assert api.put("/api/v1/services/pipelineServices", json=body).status_code == 200
    assert api.get("/api/v1/openlineage/services/ol-filtered").json()["ingestion"]["schedule"] == "manual"
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": kafka_broker})
    pg = {"namespace": "postgres://db:5432", "name": "a.b.c"}
    out = {"namespace": "postgres://db:5432", "name": "a.b.d"}
    for job in (("keep", "one"), ("keep", "skip_me"), ("other", "two")):
        p.produce(topic, json.dumps(make_event("COMPLETE", job=job, inputs=[pg], outputs=[out])).encode())
    p.produce(topic, b"not json")
    p.flush(10)
    stats = api.post("/api/v1/openlineage/services/ol-filtered/run").json()
    assert (stats["messages"], stats["stored"], stats["filtered"], stats["invalid"]) == (4, 1, 2, 1), stats
    assert api.get("/api/v1/namespaces/keep/jobs/one").status_code == 200
    assert api.get("/api/v1/namespaces/keep/jobs/skip_me").status_code == 404
    # include lineage off: the run is kept, no lineage edge is made
    assert api.get("/api/v1/namespaces/keep/jobs/one").json()["latestRun"]["state"] == "COMPLETED"
    lineage = api.get("/api/v1/lineage/table/name/postgres_db_5432.a.b.c", params={"downstreamDepth": 1})
    assert lineage.status_code == 404 or lineage.json()["downstreamEdges"] == []


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("raw_events", "runs", "run_states", "edges")
            }
    finally:
        engine.dispose()


CONSUMER_EVENTS = int(os.environ.get("HEADWATER_CONSUMER_CRASH_EVENTS", "1500"))
CONSUMER_KILLS = 3


@pytest.mark.parametrize("transport", ["kafka", "kinesis"])
def test_consumer_killed_mid_stream_loses_and_duplicates_nothing(
    transport: str, request: pytest.FixtureRequest, db_url: str
) -> None:
    """A real consumer process (`headwater openlineage run`) is SIGKILLed three times at random
    points of the stream and started again each time; then it runs to the end. Every event is
    stored and translated once: the same raw events, runs and edges as the stream holds."""
    url = db_url
    n = CONSUMER_EVENTS
    events = [
        make_event(
            "COMPLETE",
            job=("bulk", f"job{i % 50}"),
            inputs=[{"namespace": "postgres://db:5432", "name": f"s.public.in{i % 20}"}],
            outputs=[{"namespace": "postgres://db:5432", "name": f"s.public.out{i % 7}"}],
        )
        for i in range(n)
    ]
    base = [HEADWATER, "openlineage"]
    if transport == "kafka":
        broker = request.getfixturevalue("kafka_broker")
        topic = create_topic(broker)
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": broker})
        for ev in events:
            p.produce(topic, json.dumps(ev).encode())
        assert p.flush(30) == 0
        create = [
            *base,
            "create",
            "svc",
            "--kafka-brokers",
            broker,
            "--topic",
            topic,
            "--session-timeout",
            "2",
            "--poll-timeout",
            "0.2",
            "--schedule",
            "manual",
            "--db-url",
            url,
        ]
    else:
        endpoint = request.getfixturevalue("kinesis_endpoint")
        stream = f"kill-{uuid.uuid4().hex[:6]}"
        client = make_stream(endpoint, stream, shards=2)
        for i in range(0, n, 100):
            client.put_records(
                StreamName=stream,
                Records=[
                    {"Data": json.dumps(e).encode(), "PartitionKey": str(j)}
                    for j, e in enumerate(events[i : i + 100])
                ],
            )
        create = [
            *base,
            "create",
            "svc",
            "--kinesis-stream",
            stream,
            "--region",
            "us-east-2",
            "--endpoint-url",
            endpoint,
            "--session-timeout",
            "2",
            "--poll-timeout",
            "0.1",
            "--schedule",
            "manual",
            "--db-url",
            url,
        ]
    subprocess.run(create, check=True, capture_output=True, timeout=60)
    run = [*base, "run", "svc", "--batch-size", "40", "--db-url", url]
    rng = random.Random(5)
    points = sorted(rng.sample(range(n // 10, n * 8 // 10), CONSUMER_KILLS))
    kills: list[int] = []  # events stored when each SIGKILL fell
    engine = create_engine(url)
    started = time.monotonic()
    try:
        for point in points:

            def stored() -> int:
                with engine.connect() as conn:
                    return int(conn.execute(text("SELECT count(*) FROM raw_events")).scalar_one())

            proc = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 120
                while stored() < point and time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.02)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            kills.append(stored())
        done = subprocess.run(run, capture_output=True, text=True, timeout=240)
        with engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM raw_events WHERE processed_at IS NULL")
            ).scalar_one()
            distinct = conn.execute(text("SELECT count(DISTINCT payload) FROM raw_events")).scalar_one()
            run_ids = conn.execute(text("SELECT count(DISTINCT run_id) FROM runs")).scalar_one()
    finally:
        engine.dispose()
    counts = _counts(url)
    elapsed = time.monotonic() - started
    expected_edges = len({(i % 20, i % 7) for i in range(n)})
    report_figure(
        f"{transport} consumer killed mid-stream on {url.split(':')[0]}: {n} events produced, "
        f"{len(kills)} SIGKILLs of the consumer process (at {', '.join(map(str, kills))} stored), then a run "
        f"to the end; {counts['raw_events']} stored ({counts['raw_events'] - distinct} duplicates), "
        f"{counts['runs']} runs, {counts['edges']} edges of {expected_edges}, {pending} untranslated; "
        f"{elapsed:.0f}s"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(0 < k < n for k in kills), kills  # killed mid-stream
    assert counts["raw_events"] == distinct == n  # nothing lost, nothing stored twice
    assert counts["runs"] == run_ids == n and counts["run_states"] == n
    assert counts["edges"] == expected_edges
    assert pending == 0
