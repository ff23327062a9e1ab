"""Kafka (real tansu broker) and Kinesis (moto server) consumers: delivery, commit after
store, crash and restart without loss, payload shapes, test connection."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Sequence

import pytest
from ol_helpers import create_topic, make_event

from headwater.ingest.kafka_consumer import (
    ConsumedRecord,
    KafkaBrokerConfig,
    KafkaEventConsumer,
    librdkafka_config,
)
from headwater.ingest.kafka_consumer import test_connection as kafka_test_connection
from headwater.ingest.kinesis_consumer import (
    KPL_MAGIC,
    FileCheckpointStore,
    KinesisBrokerConfig,
    KinesisEventConsumer,
    MemoryCheckpointStore,
    kinesis_client,
    split_payload,
)
from headwater.ingest.kinesis_consumer import test_connection as kinesis_test_connection

pytestmark = pytest.mark.timeout(120)


class Crash(BaseException):
    """Escapes the consumer loop like a killed process would (no commit, no retry)."""


class Collect:
    def __init__(self, crash_on_batch: int | None = None) -> None:
        self.stored: list[str] = []
        self.batches = 0
        self.crash_on_batch = crash_on_batch

    def __call__(self, batch: Sequence[ConsumedRecord]) -> None:
        self.batches += 1
        if self.crash_on_batch is not None and self.batches == self.crash_on_batch:
            raise Crash()
        self.stored.extend(json.loads(r.value)["run"]["runId"] for r in batch)


def _produce(broker: str, topic: str, events: list[dict[str, object]]) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": broker})
    for ev in events:
        p.produce(topic, json.dumps(ev).encode())
    assert p.flush(15) == 0


def _kafka_cfg(broker: str, topic: str, group: str = "hw-test") -> KafkaBrokerConfig:
    return KafkaBrokerConfig(
        brokersUrl=broker, topicName=topic, consumerGroupName=group, poolTimeout=0.2, sessionTimeout=2
    )


def test_librdkafka_config_maps_security_options() -> None:
    cfg = KafkaBrokerConfig.model_validate(
        {
            "brokersUrl": "b1:9092,b2:9092",
            "topicName": "t",
            "consumerOffsets": "latest",
            "securityProtocol": "SASL_SSL",
            "sslConfig": {
                "caCertificate": "/ca.pem",
                "sslCertificate": "-----BEGIN CERT",
                "sslKey": "/k.pem",
            },
            "saslConfig": {"saslMechanism": "SCRAM-SHA-512", "saslUsername": "u", "saslPassword": "p"},
        }
    )
    conf = librdkafka_config(cfg)
    assert conf["bootstrap.servers"] == "b1:9092,b2:9092"
    assert conf["auto.offset.reset"] == "latest"
    assert conf["enable.auto.commit"] is False
    assert conf["ssl.ca.location"] == "/ca.pem"
    assert conf["ssl.certificate.pem"] == "-----BEGIN CERT"
    assert conf["ssl.key.location"] == "/k.pem"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.password"] == "p"
    assert "p" not in repr(cfg.saslConfig)  # secrets are masked in reprs and dumps


def test_kafka_consumes_all_and_commits(kafka_broker: str) -> None:
    topic = create_topic(kafka_broker)
    events = [make_event("COMPLETE") for _ in range(25)]
    _produce(kafka_broker, topic, events)
    handler = Collect()
    n = KafkaEventConsumer(_kafka_cfg(kafka_broker, topic), handler, batch_size=7).run()
    assert n == 25
    assert handler.stored == [e["run"]["runId"] for e in events]  # type: ignore[index]
    # committed: the same group sees nothing new
    again = Collect()
    assert KafkaEventConsumer(_kafka_cfg(kafka_broker, topic), again).run() == 0


def test_kafka_crash_mid_stream_then_restart_loses_nothing(kafka_broker: str) -> None:
    topic = create_topic(kafka_broker)
    events = [make_event("START") for _ in range(40)]
    _produce(kafka_broker, topic, events)
    handler = Collect(crash_on_batch=3)
    with pytest.raises(Crash):
        KafkaEventConsumer(_kafka_cfg(kafka_broker, topic, "g-crash"), handler, batch_size=10).run()
    assert len(handler.stored) == 20
    handler.crash_on_batch = None
    KafkaEventConsumer(_kafka_cfg(kafka_broker, topic, "g-crash"), handler, batch_size=10).run()
    ids = [e["run"]["runId"] for e in events]  # type: ignore[index]
    assert handler.stored == ids  # nothing lost, nothing stored twice


def test_kafka_handler_error_rewinds_and_retries(kafka_broker: str) -> None:
    topic = create_topic(kafka_broker)
    events = [make_event("START") for _ in range(5)]
    _produce(kafka_broker, topic, events)
    calls = {"n": 0}
    stored: list[bytes] = []

    def flaky(batch: Sequence[ConsumedRecord]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database locked")
        stored.extend(r.value for r in batch)

    consumer = KafkaEventConsumer(_kafka_cfg(kafka_broker, topic, "g-flaky"), flaky, retry_delay=0.1)
    consumer.run()
    assert len(stored) == 5


def test_kafka_continuous_until_stopped(kafka_broker: str) -> None:
    topic = create_topic(kafka_broker)
    handler = Collect()
    consumer = KafkaEventConsumer(_kafka_cfg(kafka_broker, topic, "g-cont"), handler)
    t = threading.Thread(target=consumer.run, kwargs={"continuous": True})
    t.start()
    try:
        _produce(kafka_broker, topic, [make_event("START") for _ in range(3)])
        deadline = time.monotonic() + 30
        while len(handler.stored) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(handler.stored) == 3
    finally:
        consumer.stop()
        t.join(20)
    assert not t.is_alive()


def test_kafka_test_connection(kafka_broker: str) -> None:
    topic = create_topic(kafka_broker)
    steps = kafka_test_connection(_kafka_cfg(kafka_broker, topic), timeout=5)
    assert [s.name for s in steps][:2] == ["CheckBrokerConnectivity", "CheckTopicExists"]
    assert steps[0].passed and steps[1].passed
    missing = kafka_test_connection(_kafka_cfg(kafka_broker, "no-such-topic-xyz"), timeout=5)
    assert missing[0].passed and not missing[1].passed


def test_kafka_test_connection_unreachable() -> None:
    from ol_helpers import free_port

    cfg = KafkaBrokerConfig(brokersUrl=f"127.0.0.1:{free_port()}", topicName="t")
    steps = kafka_test_connection(cfg, timeout=1)
    assert steps[0].name == "CheckBrokerConnectivity" and not steps[0].passed


def test_kafka_test_connection_with_an_unusable_ssl_key_fails_the_check() -> None:
    from ol_helpers import free_port

    cfg = KafkaBrokerConfig.model_validate(
        {
            "brokersUrl": f"127.0.0.1:{free_port()}",
            "topicName": "t",
            "securityProtocol": "SSL",
            "sslConfig": {"sslKey": "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----"},
        }
    )
    steps = kafka_test_connection(cfg, timeout=1)
    assert steps[0].name == "CheckBrokerConnectivity" and not steps[0].passed
    assert steps[0].message == "invalid client configuration" and "not-a-key" not in (steps[0].errorLog or "")


# --------------------------------------------------------------------------- Kinesis


def _kpl_aggregate(payloads: list[bytes]) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])

    def ld(num: int, data: bytes) -> bytes:
        return varint(num << 3 | 2) + varint(len(data)) + data

    body = ld(1, b"pk")
    for p in payloads:
        rec = varint(1 << 3 | 0) + varint(0) + ld(3, p)
        body += ld(3, rec)
    return KPL_MAGIC + body + hashlib.md5(body).digest()


def test_split_payload_shapes() -> None:
    a, b = make_event("START"), make_event("COMPLETE")
    single = split_payload(json.dumps(a).encode())
    assert [json.loads(x) for x in single] == [a]
    nd = split_payload((json.dumps(a) + "\n" + json.dumps(b) + "\n").encode())
    assert [json.loads(x) for x in nd] == [a, b]
    arr = split_payload(json.dumps([a, b]).encode())
    assert [json.loads(x) for x in arr] == [a, b]
    agg = split_payload(_kpl_aggregate([json.dumps(a).encode(), json.dumps(b).encode()]))
    assert [json.loads(x) for x in agg] == [a, b]
    assert gzip  # gzip payloads are not part of any transport; nothing to do


def _kinesis_cfg(endpoint: str, stream: str, **kw: object) -> KinesisBrokerConfig:
    return KinesisBrokerConfig.model_validate(
        {
            "streamName": stream,
            "poolTimeout": 0.05,
            "sessionTimeout": 1,
            "awsConfig": {
                "awsRegion": "us-east-2",
                "awsAccessKeyId": "testing",
                "awsSecretAccessKey": "testing",
                "endPointURL": endpoint,
            },
            **kw,
        }
    )


def _make_stream(endpoint: str, name: str, shards: int = 2) -> object:
    client = kinesis_client(_kinesis_cfg(endpoint, name))
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return client


def test_kinesis_consumes_all_shapes_and_checkpoints(kinesis_endpoint: str, tmp_path: object) -> None:
    stream = "ol-events-1"
    client = _make_stream(kinesis_endpoint, stream)
    evs = [make_event("COMPLETE") for _ in range(9)]
    put = client.put_record  # type: ignore[attr-defined]
    put(StreamName=stream, Data=json.dumps(evs[0]).encode(), PartitionKey="a")
    put(StreamName=stream, Data=("\n".join(json.dumps(e) for e in evs[1:4])).encode(), PartitionKey="b")
    put(StreamName=stream, Data=json.dumps(evs[4:7]).encode(), PartitionKey="c")
    put(StreamName=stream, Data=_kpl_aggregate([json.dumps(e).encode() for e in evs[7:]]), PartitionKey="d")
    ckpt = FileCheckpointStore(f"{tmp_path}/ckpt.json")
    handler = Collect()
    n = KinesisEventConsumer(_kinesis_cfg(kinesis_endpoint, stream), handler, ckpt).run()
    assert n == 9
    assert sorted(handler.stored) == sorted(e["run"]["runId"] for e in evs)  # type: ignore[index]
    # a restarted consumer resumes after the checkpoints: nothing again
    again = Collect()
    assert KinesisEventConsumer(_kinesis_cfg(kinesis_endpoint, stream), again, ckpt).run() == 0
    put(StreamName=stream, Data=json.dumps(make_event("START")).encode(), PartitionKey="e")
    assert KinesisEventConsumer(_kinesis_cfg(kinesis_endpoint, stream), again, ckpt).run() == 1


def test_kinesis_crash_then_restart_loses_nothing(kinesis_endpoint: str) -> None:
    stream = "ol-events-2"
    client = _make_stream(kinesis_endpoint, stream, shards=1)
    evs = [make_event("START") for _ in range(30)]
    for e in evs:
        client.put_record(StreamName=stream, Data=json.dumps(e).encode(), PartitionKey="k")  # type: ignore[attr-defined]
    ckpt = MemoryCheckpointStore()
    handler = Collect(crash_on_batch=2)
    with pytest.raises(Crash):
        KinesisEventConsumer(_kinesis_cfg(kinesis_endpoint, stream), handler, ckpt, batch_size=10).run()
    assert len(handler.stored) == 10
    handler.crash_on_batch = None
    KinesisEventConsumer(_kinesis_cfg(kinesis_endpoint, stream), handler, ckpt, batch_size=10).run()
    assert handler.stored == [e["run"]["runId"] for e in evs]  # type: ignore[index]


def test_kinesis_latest_skips_old_records(kinesis_endpoint: str) -> None:
    stream = "ol-events-3"
    client = _make_stream(kinesis_endpoint, stream, shards=1)
    client.put_record(StreamName=stream, Data=json.dumps(make_event()).encode(), PartitionKey="k")  # type: ignore[attr-defined]
    handler = Collect()
    cfg = _kinesis_cfg(kinesis_endpoint, stream, consumerOffsets="LATEST")
    assert KinesisEventConsumer(cfg, handler, MemoryCheckpointStore()).run() == 0


def test_kinesis_test_connection(kinesis_endpoint: str) -> None:
    _make_stream(kinesis_endpoint, "ol-events-4", shards=1)
    steps = kinesis_test_connection(_kinesis_cfg(kinesis_endpoint, "ol-events-4"))
    assert [s.name for s in steps] == ["CheckBrokerConnectivity", "ListShards", "GetShardIterator"]
    assert all(s.passed for s in steps)
    bad = kinesis_test_connection(_kinesis_cfg(kinesis_endpoint, "missing-stream"))
    assert not bad[0].passed and bad[0].errorLog
