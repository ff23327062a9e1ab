"""Kafka consumer for OpenLineage events (at-least-once).

Connection options follow OpenMetadata's OpenLineage connector (``KafkaBrokerConfig``)
so a service created through its SDK works unchanged. Offsets are committed only after
the handler returned, i.e. after the batch is durably stored: a crash between the two
re-delivers the batch, and translation is idempotent, so nothing is lost or doubled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

log = logging.getLogger(__name__)


class ConsumerOffsets(StrEnum):
    earliest = "earliest"
    latest = "latest"


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SslConfig(BaseModel):
    """``ValidateSslClientConfig``: file paths, or PEM text (starting ``-----BEGIN``)."""

    model_config = ConfigDict(extra="allow")
    caCertificate: str | None = None
    sslCertificate: str | None = None
    sslKey: SecretStr | None = None


class SaslConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    saslMechanism: str = "PLAIN"
    saslUsername: str | None = None
    saslPassword: SecretStr | None = None


class KafkaBrokerConfig(BaseModel):
    """OpenMetadata ``KafkaBrokerConfig`` plus an optional raw librdkafka override map."""

    model_config = ConfigDict(extra="allow")
    brokersUrl: str
    topicName: str
    consumerGroupName: str = "headwater-openlineage"
    consumerOffsets: ConsumerOffsets = ConsumerOffsets.earliest
    poolTimeout: float = 1.0
    sessionTimeout: int = 30
    securityProtocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sslConfig: SslConfig | None = None
    saslConfig: SaslConfig | None = None
    consumerConfig: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """One message payload and where it came from (for logs and the raw event log)."""

    value: bytes
    source: str
    position: str


BatchHandler = Callable[[Sequence[ConsumedRecord]], None]


def _pem_or_path(conf: dict[str, Any], key: str, value: str | None) -> None:
    if not value:
        return
    if value.lstrip().startswith("-----BEGIN"):
        conf[f"ssl.{key}.pem"] = value
    else:
        conf[f"ssl.{key}.location"] = value


def librdkafka_config(cfg: KafkaBrokerConfig) -> dict[str, Any]:
    """Translate the connector options into a confluent-kafka consumer configuration.

    ``sessionTimeout`` (seconds) is both the idle-stop delay of a one-shot run, as in
    OpenMetadata, and the group session timeout, so a restarted consumer rejoins fast.
    """
    conf: dict[str, Any] = {
        "bootstrap.servers": cfg.brokersUrl,
        "group.id": cfg.consumerGroupName,
        "auto.offset.reset": cfg.consumerOffsets.value,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "security.protocol": cfg.securityProtocol.value,
        "session.timeout.ms": max(1000, min(int(cfg.sessionTimeout * 1000), 300_000)),
        "heartbeat.interval.ms": max(300, min(int(cfg.sessionTimeout * 1000) // 4, 3000)),
    }
    if cfg.securityProtocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL) and cfg.sslConfig:
        ssl = cfg.sslConfig
        _pem_or_path(conf, "ca", ssl.caCertificate)
        _pem_or_path(conf, "certificate", ssl.sslCertificate)
        _pem_or_path(conf, "key", ssl.sslKey.get_secret_value() if ssl.sslKey else None)
    if (
        cfg.securityProtocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)
        and cfg.saslConfig
    ):
        sasl = cfg.saslConfig
        conf["sasl.mechanism"] = sasl.saslMechanism
        if sasl.saslUsername:
            conf["sasl.username"] = sasl.saslUsername
        if sasl.saslPassword:
            conf["sasl.password"] = sasl.saslPassword.get_secret_value()
    conf.update(cfg.consumerConfig)
    return conf


class KafkaEventConsumer:
    """Poll a topic in batches, hand each batch over, then commit its offsets.

    If the handler raises, the consumer rewinds to the first offset of the failed batch
    per partition and retries after a pause, so a stored-nothing batch is never skipped.
    """

    def __init__(
        self,
        cfg: KafkaBrokerConfig,
        handler: BatchHandler,
        *,
        batch_size: int = 500,
        retry_delay: float = 1.0,
    ) -> None:
        self.cfg = cfg
        self.handler = handler
        self.batch_size = batch_size
        self.retry_delay = retry_delay
        self.stop_event = threading.Event()
        self.consumed = 0
        self._consumer: Any = None

    def stop(self) -> None:
        """Ask a running :meth:`run` to finish after its current batch."""
        self.stop_event.set()

    def _open(self) -> Any:
        from confluent_kafka import Consumer

        consumer = Consumer(librdkafka_config(self.cfg))
        consumer.subscribe([self.cfg.topicName])
        return consumer

    def run(self, *, continuous: bool = False, max_messages: int | None = None) -> int:
        """Consume until stopped (``continuous``) or until idle for ``sessionTimeout``
        seconds (one-shot, as OpenMetadata's workflow does). Returns messages handled."""
        from confluent_kafka import KafkaError, TopicPartition

        consumer = self._consumer = self._open()
        idle_since = time.monotonic()
        try:
            while not self.stop_event.is_set():
                msgs = consumer.consume(num_messages=self.batch_size, timeout=self.cfg.poolTimeout)
                batch: list[ConsumedRecord] = []
                first: dict[tuple[str, int], int] = {}
                last: dict[tuple[str, int], int] = {}
                for m in msgs:
                    err = m.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("kafka consume error: %s", err)
                        continue
                    tp = (m.topic(), m.partition())
                    first.setdefault(tp, m.offset())
                    last[tp] = m.offset()
                    value = m.value()
                    if value is None:
                        continue
                    batch.append(ConsumedRecord(value, f"kafka:{m.topic()}", f"{m.partition()}:{m.offset()}"))
                if not last:
                    if not continuous and time.monotonic() - idle_since > self.cfg.sessionTimeout:
                        break
                    continue
                idle_since = time.monotonic()
                try:
                    if batch:
                        self.handler(batch)
                except Exception:
                    log.exception("OpenLineage batch handler failed; rewinding and retrying")
                    for (topic, part), off in first.items():
                        try:
                            consumer.seek(TopicPartition(topic, part, off))
                        except Exception:  # partition revoked meanwhile: the group redelivers
                            log.debug("seek failed for %s[%s]", topic, part, exc_info=True)
                    self.stop_event.wait(self.retry_delay)
                    continue
                consumer.commit(
                    offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()], asynchronous=False
                )
                self.consumed += len(batch)
                if max_messages is not None and self.consumed >= max_messages:
                    break
        finally:
            consumer.close()
            self._consumer = None
        return self.consumed


@dataclass(slots=True)
class CheckResult:
    """One step of a test connection, shaped like OpenMetadata's ``TestConnectionStepResult``."""

    name: str
    passed: bool
    message: str | None = None
    mandatory: bool = True
    errorLog: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "mandatory": self.mandatory,
            "errorLog": self.errorLog,
        }


def test_connection(cfg: KafkaBrokerConfig, timeout: float = 10.0) -> list[CheckResult]:
    """Check broker reachability, topic existence and that its offsets can be read."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    conf = librdkafka_config(cfg)
    steps: list[CheckResult] = []
    try:
        consumer = Consumer(conf)
    except (KafkaException, ValueError, TypeError) as exc:  # e.g. an SSL key that is not PEM
        steps.append(
            CheckResult("CheckBrokerConnectivity", False, "invalid client configuration", errorLog=str(exc))
        )
        steps.append(CheckResult("CheckTopicExists", False, "skipped: no client"))
        return steps
    try:
        try:
            md = consumer.list_topics(timeout=timeout)
            steps.append(
                CheckResult("CheckBrokerConnectivity", True, f"{len(md.brokers)} broker(s) reachable")
            )
        except KafkaException as exc:
            steps.append(
                CheckResult("CheckBrokerConnectivity", False, "broker unreachable", errorLog=str(exc))
            )
            steps.append(CheckResult("CheckTopicExists", False, "skipped: no broker"))
            return steps
        topic = md.topics.get(cfg.topicName)
        if topic is None or topic.error is not None:
            steps.append(CheckResult("CheckTopicExists", False, f"topic {cfg.topicName!r} not found"))
            return steps
        steps.append(CheckResult("CheckTopicExists", True, f"{len(topic.partitions)} partition(s)"))
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(cfg.topicName, 0), timeout=timeout)
            steps.append(
                CheckResult("GetWatermarkOffsets", True, f"partition 0 offsets {low}..{high}", False)
            )
        except KafkaException as exc:
            steps.append(CheckResult("GetWatermarkOffsets", False, "cannot read offsets", False, str(exc)))
    finally:
        consumer.close()
    return steps


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
