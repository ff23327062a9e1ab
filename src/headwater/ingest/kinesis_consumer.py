"""Kinesis Data Streams consumer for OpenLineage events (at-least-once).

Options follow OpenMetadata's ``KinesisBrokerConfig``. Kinesis has no consumer-group
offsets, so the last handled sequence number of each shard is kept in a
:class:`CheckpointStore` (the store implements it durably) and written only after the
handler stored the batch. A record may carry one event, several newline-delimited
events, a JSON array, or a KPL aggregate of any of those.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr

from headwater.ingest.kafka_consumer import BatchHandler, CheckResult, ConsumedRecord

log = logging.getLogger(__name__)


class KinesisConsumerOffsets(StrEnum):
    TRIM_HORIZON = "TRIM_HORIZON"
    LATEST = "LATEST"


class AWSCredentials(BaseModel):
    """OpenMetadata ``AWSCredentials``; without keys boto3's default chain applies."""

    model_config = ConfigDict(extra="allow")
    awsRegion: str
    awsAccessKeyId: str | None = None
    awsSecretAccessKey: SecretStr | None = None
    awsSessionToken: SecretStr | None = None
    endPointURL: str | None = None
    profileName: str | None = None
    assumeRoleArn: str | None = None
    assumeRoleSessionName: str = "headwater-openlineage"


class KinesisBrokerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    streamName: str
    awsConfig: AWSCredentials
    consumerOffsets: KinesisConsumerOffsets = KinesisConsumerOffsets.TRIM_HORIZON
    poolTimeout: float = 1.0
    sessionTimeout: int = 30


class CheckpointStore(Protocol):
    """Durable per-shard positions; the store implements this in its database."""

    def get_checkpoint(self, consumer: str, shard: str) -> str | None: ...

    def set_checkpoint(self, consumer: str, shard: str, position: str) -> None: ...


class MemoryCheckpointStore:
    """Checkpoints that live as long as the process (tests, one-off runs)."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_checkpoint(self, consumer: str, shard: str) -> str | None:
        with self._lock:
            return self._data.get((consumer, shard))

    def set_checkpoint(self, consumer: str, shard: str, position: str) -> None:
        with self._lock:
            self._data[(consumer, shard)] = position


class FileCheckpointStore:
    """Checkpoints in a JSON file, replaced atomically (fsync + rename) on each write."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def get_checkpoint(self, consumer: str, shard: str) -> str | None:
        with self._lock:
            return self._load().get(f"{consumer}|{shard}")

    def set_checkpoint(self, consumer: str, shard: str, position: str) -> None:
        with self._lock:
            data = self._load()
            data[f"{consumer}|{shard}"] = position
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ckpt-")
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)


# --------------------------------------------------------------------------- record payloads

KPL_MAGIC = b"\xf3\x89\x9a\xc2"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _pb_fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """Minimal protobuf reader: yields ``(field number, wire type, value)``."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
            yield num, wire, val
        elif wire == 2:
            ln, i = _varint(buf, i)
            yield num, wire, buf[i : i + ln]
            i += ln
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def deaggregate(data: bytes) -> list[bytes]:
    """Split a KPL aggregated record (magic + AggregatedRecord + MD5) into user records;
    anything else is returned as is (the Java Kinesis transport uses the KPL)."""
    if not data.startswith(KPL_MAGIC) or len(data) < 4 + 16:
        return [data]
    body, digest = data[4:-16], data[-16:]
    if hashlib.md5(body).digest() != digest:
        return [data]
    out: list[bytes] = []
    try:
        for num, wire, val in _pb_fields(body):
            if num == 3 and wire == 2:
                for rnum, rwire, rval in _pb_fields(val):
                    if rnum == 3 and rwire == 2:
                        out.append(bytes(rval))
    except (IndexError, ValueError):
        return [data]
    return out


def split_payload(data: bytes) -> list[bytes]:
    """One Kinesis record → one JSON text per event (single, NDJSON or JSON array)."""
    out: list[bytes] = []
    for rec in deaggregate(data):
        text = rec.strip()
        if not text:
            continue
        if text.startswith(b"["):
            try:
                arr = json.loads(text)
            except ValueError:
                out.append(text)
                continue
            out.extend(json.dumps(item).encode() for item in arr)
        elif b"\n" in text:
            out.extend(line.strip() for line in text.split(b"\n") if line.strip())
        else:
            out.append(text)
    return out


# --------------------------------------------------------------------------- consumer


def kinesis_client(cfg: KinesisBrokerConfig) -> Any:
    """A boto3 Kinesis client from the connector's ``awsConfig``."""
    import boto3

    aws = cfg.awsConfig
    session_kwargs: dict[str, Any] = {"region_name": aws.awsRegion}
    if aws.profileName:
        session_kwargs["profile_name"] = aws.profileName
    if aws.awsAccessKeyId:
        session_kwargs["aws_access_key_id"] = aws.awsAccessKeyId
        if aws.awsSecretAccessKey:
            session_kwargs["aws_secret_access_key"] = aws.awsSecretAccessKey.get_secret_value()
        if aws.awsSessionToken:
            session_kwargs["aws_session_token"] = aws.awsSessionToken.get_secret_value()
    session = boto3.Session(**session_kwargs)
    if aws.assumeRoleArn:
        creds = session.client("sts", endpoint_url=aws.endPointURL).assume_role(
            RoleArn=aws.assumeRoleArn, RoleSessionName=aws.assumeRoleSessionName
        )["Credentials"]
        session = boto3.Session(
            region_name=aws.awsRegion,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return session.client("kinesis", endpoint_url=aws.endPointURL or None)


class KinesisEventConsumer:
    """Read every shard of a stream; checkpoint each shard after its batch is stored."""

    def __init__(
        self,
        cfg: KinesisBrokerConfig,
        handler: BatchHandler,
        checkpoints: CheckpointStore,
        *,
        consumer_name: str | None = None,
        batch_size: int = 500,
        retry_delay: float = 1.0,
        client: Any = None,
    ) -> None:
        self.cfg = cfg
        self.handler = handler
        self.checkpoints = checkpoints
        self.consumer_name = consumer_name or f"kinesis:{cfg.streamName}"
        self.batch_size = batch_size
        self.retry_delay = retry_delay
        self.client = client or kinesis_client(cfg)
        self.stop_event = threading.Event()
        self.consumed = 0

    def stop(self) -> None:
        self.stop_event.set()

    def _shards(self) -> list[str]:
        shards: list[str] = []
        kwargs: dict[str, Any] = {"StreamName": self.cfg.streamName}
        while True:
            resp = self.client.list_shards(**kwargs)
            shards.extend(s["ShardId"] for s in resp.get("Shards", []))
            token = resp.get("NextToken")
            if not token:
                return shards
            kwargs = {"NextToken": token}

    def _iterator(self, shard: str) -> str | None:
        ckpt = self.checkpoints.get_checkpoint(self.consumer_name, shard)
        kwargs: dict[str, Any] = {"StreamName": self.cfg.streamName, "ShardId": shard}
        if ckpt:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=ckpt)
        else:
            kwargs["ShardIteratorType"] = self.cfg.consumerOffsets.value
        it: str | None = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        return it

    def run(self, *, continuous: bool = False, max_messages: int | None = None) -> int:
        """Round-robin over shards until stopped, or (one-shot) until every shard has
        been idle for ``sessionTimeout`` seconds or is closed and drained."""
        iterators: dict[str, str | None] = {s: self._iterator(s) for s in self._shards()}
        idle_since = {s: time.monotonic() for s in iterators}
        last_refresh = time.monotonic()
        while not self.stop_event.is_set():
            got_any = False
            for shard, it in list(iterators.items()):
                if it is None or self.stop_event.is_set():
                    continue
                resp = self.client.get_records(ShardIterator=it, Limit=self.batch_size)
                records = resp.get("Records", [])
                if records:
                    got_any = True
                    idle_since[shard] = time.monotonic()
                    batch = [
                        ConsumedRecord(
                            payload, f"kinesis:{self.cfg.streamName}", f"{shard}:{r['SequenceNumber']}"
                        )
                        for r in records
                        for payload in split_payload(bytes(r["Data"]))
                    ]
                    try:
                        if batch:
                            self.handler(batch)
                    except Exception:
                        log.exception("OpenLineage batch handler failed; re-reading shard %s", shard)
                        iterators[shard] = self._iterator(shard)
                        self.stop_event.wait(self.retry_delay)
                        continue
                    self.checkpoints.set_checkpoint(self.consumer_name, shard, records[-1]["SequenceNumber"])
                    self.consumed += len(batch)
                    if max_messages is not None and self.consumed >= max_messages:
                        return self.consumed
                iterators[shard] = resp.get("NextShardIterator")
            if continuous and time.monotonic() - last_refresh > 60:
                last_refresh = time.monotonic()
                for s in self._shards():
                    if s not in iterators:
                        iterators[s] = self._iterator(s)
                        idle_since[s] = time.monotonic()
            if not continuous:
                now = time.monotonic()
                live = [s for s, i in iterators.items() if i is not None]
                if not live or all(now - idle_since[s] > self.cfg.sessionTimeout for s in live):
                    break
            if not got_any:
                self.stop_event.wait(self.cfg.poolTimeout)
        return self.consumed


def test_connection(cfg: KinesisBrokerConfig, client: Any = None) -> list[CheckResult]:
    """Check credentials/endpoint, that the stream exists and is readable, and its shards."""
    steps: list[CheckResult] = []
    try:
        client = client or kinesis_client(cfg)
        summary = client.describe_stream_summary(StreamName=cfg.streamName)["StreamDescriptionSummary"]
        steps.append(
            CheckResult("CheckBrokerConnectivity", True, f"stream status {summary.get('StreamStatus')}")
        )
    except Exception as exc:
        steps.append(
            CheckResult("CheckBrokerConnectivity", False, "cannot describe stream", errorLog=str(exc))
        )
        return steps
    try:
        shards = client.list_shards(StreamName=cfg.streamName).get("Shards", [])
        steps.append(CheckResult("ListShards", True, f"{len(shards)} shard(s)"))
        if shards:
            client.get_shard_iterator(
                StreamName=cfg.streamName, ShardId=shards[0]["ShardId"], ShardIteratorType="LATEST"
            )
            steps.append(CheckResult("GetShardIterator", True, "records can be read"))
    except Exception as exc:
        steps.append(CheckResult("ListShards", False, "cannot list or read shards", errorLog=str(exc)))
    return steps


test_connection.__test__ = False  # type: ignore[attr-defined]


def records_of(batch: Sequence[ConsumedRecord]) -> list[bytes]:
    """Payloads of a batch (convenience for handlers)."""
    return [r.value for r in batch]
