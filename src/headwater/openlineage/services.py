"""OpenLineage pipeline services: Kafka or Kinesis consumers configured like OpenMetadata's
OpenLineage connector, run once, on a schedule, or continuously inside ``serve``.

A service is an ordinary ``pipelineService`` asset whose ``serviceType`` is
``OpenLineage`` (created by OpenMetadata's SDK through ``PUT
/api/v1/services/pipelineServices`` or by the CLI); its ``connection.config.brokerConfig``
says where events come from. How it runs (schedule, filter pattern, include lineage,
mark deleted pipelines, debug log) is kept under the hidden attribute
``_openlineageIngestion`` so that OpenMetadata reads and PUTs never touch it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from headwater.ingest.kafka_consumer import (
    CheckResult,
    ConsumedRecord,
    KafkaBrokerConfig,
    KafkaEventConsumer,
)
from headwater.ingest.kafka_consumer import test_connection as kafka_test
from headwater.ingest.kinesis_consumer import KinesisBrokerConfig, KinesisEventConsumer
from headwater.ingest.kinesis_consumer import test_connection as kinesis_test
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.openlineage import tables as olt
from headwater.openlineage.events import AcceptedEvent, EventValidationError, accept_event, accept_json
from headwater.openlineage.service import IngestService
from headwater.store import Store, now_ms

log = logging.getLogger(__name__)
OPTIONS_KEY = "_openlineageIngestion"


class FilterPattern(BaseModel):
    includes: list[str] = Field(default_factory=list)
    excludes: list[str] = Field(default_factory=list)

    def allows(self, name: str) -> bool:
        """OpenMetadata's rule: kept if it matches an include (when any) and no exclude."""
        if self.includes and not any(re.match(p, name, re.IGNORECASE) for p in self.includes):
            return False
        return not any(re.match(p, name, re.IGNORECASE) for p in self.excludes)


class IngestionOptions(BaseModel):
    """How a service's consumer runs. ``schedule``: ``continuous`` (inside serve),
    ``manual``, or an interval in seconds / ``@hourly`` / ``@daily`` / ``@weekly``.

    ``markDeletedPipelines`` is accepted and stored but, as in OpenMetadata's connector,
    has no effect: an event stream never says that a job stopped existing.
    """

    model_config = ConfigDict(extra="forbid")
    schedule: str = "continuous"
    pipelineFilterPattern: FilterPattern = Field(default_factory=FilterPattern)
    includeLineage: bool = True
    markDeletedPipelines: bool = False
    enableDebugLog: bool = False

    def interval_seconds(self) -> float | None:
        sched = self.schedule.strip().lower()
        named = {"@hourly": 3600.0, "@daily": 86400.0, "@weekly": 604800.0}
        if sched in named:
            return named[sched]
        try:
            return max(1.0, float(sched))
        except ValueError:
            return None


def is_openlineage_service(asset: Asset) -> bool:
    return asset.type is AssetType.PIPELINE_SERVICE and str(
        asset.attributes.get("serviceType", "")
    ).lower() == ("openlineage")


def broker_config(asset: Asset) -> KafkaBrokerConfig | KinesisBrokerConfig:
    """The Kafka or Kinesis configuration of a service (OpenMetadata 1.11+ or 1.9 flat form)."""
    conn = asset.attributes.get("connection") or {}
    config = conn.get("config") if isinstance(conn, dict) else None
    if not isinstance(config, dict):
        raise ValueError(f"service {asset.name!r} has no connection.config")
    nested = config.get("brokerConfig")
    broker: dict[str, Any] = nested if isinstance(nested, dict) else config
    try:
        if "streamName" in broker:
            return KinesisBrokerConfig.model_validate(broker)
        return KafkaBrokerConfig.model_validate(broker)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"connection.config.brokerConfig.{loc}: {err['msg']}") from None


def options_of(asset: Asset) -> IngestionOptions:
    raw = asset.attributes.get(OPTIONS_KEY) or {}
    config = (asset.attributes.get("connection") or {}).get("config") or {}
    if (
        "pipelineFilterPattern" not in raw
        and isinstance(config, dict)
        and config.get("pipelineFilterPattern")
    ):
        raw = {**raw, "pipelineFilterPattern": config["pipelineFilterPattern"]}
    return IngestionOptions.model_validate(raw)


class StoreCheckpoints:
    """Kinesis shard positions kept durably in the store (``ingest_checkpoints``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get_checkpoint(self, consumer: str, shard: str) -> str | None:
        with self.store.read() as conn:
            row = conn.execute(
                select(olt.ingest_checkpoints.c.position).where(
                    olt.ingest_checkpoints.c.consumer == consumer, olt.ingest_checkpoints.c.shard == shard
                )
            ).first()
        return str(row.position) if row else None

    def set_checkpoint(self, consumer: str, shard: str, position: str) -> None:
        t = olt.ingest_checkpoints
        with self.store.write() as conn:
            updated = conn.execute(
                t.update()
                .where(t.c.consumer == consumer, t.c.shard == shard)
                .values(position=position, updated_at=now_ms())
            ).rowcount
            if not updated:
                conn.execute(
                    t.insert().values(consumer=consumer, shard=shard, position=position, updated_at=now_ms())
                )


@dataclass
class RunStats:
    """What one run of a service did."""

    service: str
    mode: str
    startedAt: int = field(default_factory=now_ms)
    endedAt: int | None = None
    messages: int = 0
    stored: int = 0
    invalid: int = 0
    filtered: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class BatchIngestor:
    """The consumers' batch handler: validate, filter, store durably, then return."""

    def __init__(
        self, ingest: IngestService, service: str, options: IngestionOptions, stats: RunStats
    ) -> None:
        self.ingest = ingest
        self.service = service
        self.options = options
        self.stats = stats

    def __call__(self, batch: Sequence[ConsumedRecord]) -> None:
        events: list[AcceptedEvent] = []
        for rec in batch:
            self.stats.messages += 1
            try:
                ev = accept_json(rec.value) or accept_event(orjson.loads(rec.value), rec.value)
            except (ValueError, EventValidationError) as exc:
                self.stats.invalid += 1
                log.warning("service %s: skipping invalid message at %s: %s", self.service, rec.position, exc)
                continue
            job = ev.job_name
            if job is not None and not self.options.pipelineFilterPattern.allows(f"{job[0]}-{job[1]}"):
                self.stats.filtered += 1
                continue
            if not self.options.includeLineage and ("inputs" in ev.core or "outputs" in ev.core):
                stripped = {k: v for k, v in ev.decoded().items() if k not in ("inputs", "outputs")}
                ev = accept_event(stripped)
            events.append(ev)
            if self.options.enableDebugLog:
                log.info("service %s: event %s from %s", self.service, ev.core.get("eventType"), rec.position)
        if events:
            transport = batch[-1].source.split(":", 1)[0]
            self.stats.stored += self.ingest.store_events(events, f"{transport}:{self.service}")


Consumer = KafkaEventConsumer | KinesisEventConsumer


def make_consumer(
    store: Store,
    ingest: IngestService,
    asset: Asset,
    stats: RunStats,
    options: IngestionOptions | None = None,
) -> Consumer:
    cfg = broker_config(asset)
    handler = BatchIngestor(ingest, asset.name, options or options_of(asset), stats)
    if isinstance(cfg, KinesisBrokerConfig):
        return KinesisEventConsumer(
            cfg, handler, StoreCheckpoints(store), consumer_name=f"openlineage:{asset.name}"
        )
    return KafkaEventConsumer(cfg, handler)


def test_service_connection(asset: Asset) -> dict[str, Any]:
    """OpenMetadata-shaped test connection result, one entry per check."""
    try:
        cfg = broker_config(asset)
    except ValueError as exc:
        steps = [CheckResult("ValidateConnectionConfig", False, str(exc))]
    else:
        steps = kinesis_test(cfg) if isinstance(cfg, KinesisBrokerConfig) else kafka_test(cfg, timeout=5)
    ok = all(s.passed for s in steps if s.mandatory)
    return {
        "status": "Successful" if ok else "Failed",
        "steps": [s.to_dict() for s in steps],
        "lastUpdatedAt": now_ms(),
    }


test_service_connection.__test__ = False  # type: ignore[attr-defined]


def _with_clear_secrets(store: Store, asset: Asset) -> Asset:
    """The service with its connection secrets unsealed, for the consumer that must use them.

    Never hand such an asset to an API answer unmasked: answers go through `mask`.
    """
    return asset.model_copy(update={"attributes": store.secrets.unseal(asset.attributes)})


def openlineage_services(store: Store) -> list[Asset]:
    assets, _ = store.list_assets(types=[AssetType.PIPELINE_SERVICE.value], limit=10_000, with_total=False)
    return [_with_clear_secrets(store, a) for a in assets if is_openlineage_service(a)]


def get_service(store: Store, name: str) -> Asset:
    from headwater.identity.fqn import quote_name

    asset = store.get_asset_by_fqn(AssetType.PIPELINE_SERVICE, quote_name(name))
    if asset is None or not is_openlineage_service(asset):
        raise LookupError(f"No OpenLineage pipeline service named {name!r}")
    return _with_clear_secrets(store, asset)


def set_options(store: Store, name: str, options: IngestionOptions) -> Asset:
    asset = get_service(store, name)
    attrs = dict(asset.attributes)
    attrs[OPTIONS_KEY] = options.model_dump()
    return store.update_asset_fields(asset.pk, "openlineage", attributes=attrs)


def run_once(store: Store, ingest: IngestService, name: str, *, max_messages: int | None = None) -> RunStats:
    """Consume until idle for ``sessionTimeout`` seconds, then translate; as OpenMetadata's
    workflow run does."""
    asset = get_service(store, name)
    stats = RunStats(service=name, mode="once")
    try:
        make_consumer(store, ingest, asset, stats).run(continuous=False, max_messages=max_messages)
        ingest.wait_idle(120)
    except Exception as exc:
        stats.error = f"{type(exc).__name__}: {exc}"
        log.exception("OpenLineage service %s failed", name)
    stats.endedAt = now_ms()
    return stats


class ConsumerManager:
    """Keeps each OpenLineage service's consumer running as its schedule says (in serve)."""

    def __init__(self, store: Store, ingest: IngestService, *, scan_interval: float = 5.0) -> None:
        self.store = store
        self.ingest = ingest
        self.scan_interval = scan_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: dict[str, tuple[threading.Thread, Consumer, RunStats]] = {}
        self._last_run: dict[str, float] = {}
        self.history: dict[str, RunStats] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ol-consumers", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        with self._lock:
            running = list(self._running.values())
        for _t, consumer, _s in running:
            consumer.stop()
        for t, _c, _s in running:
            t.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def status(self, name: str) -> dict[str, Any]:
        with self._lock:
            running = self._running.get(name)
            last = self.history.get(name)
        return {
            "running": running is not None,
            "current": running[2].to_dict() if running else None,
            "lastRun": last.to_dict() if last else None,
        }

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:
                log.exception("scanning OpenLineage services failed")
            self._stop.wait(self.scan_interval)

    def scan(self) -> None:
        """Start continuous consumers, launch due scheduled runs, stop removed ones."""
        services = {a.name: a for a in openlineage_services(self.store) if not a.deleted}
        with self._lock:
            for name in list(self._running):
                t, consumer, _ = self._running[name]
                if not t.is_alive():
                    self._running.pop(name)
                elif name not in services or options_of(services[name]).schedule == "manual":
                    consumer.stop()
        for name, asset in services.items():
            try:
                opts = options_of(asset)
            except ValidationError:
                continue
            with self._lock:
                if name in self._running:
                    continue
            if opts.schedule.strip().lower() == "continuous":
                self._launch(asset, opts, continuous=True)
            else:
                interval = opts.interval_seconds()
                last = self._last_run.get(name)
                if interval is not None and (last is None or time.monotonic() - last >= interval):
                    self._launch(asset, opts, continuous=False)

    def _launch(self, asset: Asset, opts: IngestionOptions, *, continuous: bool) -> None:
        mode: Literal["continuous", "scheduled"] = "continuous" if continuous else "scheduled"
        stats = RunStats(service=asset.name, mode=mode)
        try:
            consumer = make_consumer(self.store, self.ingest, asset, stats, opts)
        except Exception as exc:
            stats.error = str(exc)
            stats.endedAt = now_ms()
            self.history[asset.name] = stats
            self._last_run[asset.name] = time.monotonic()
            return

        def body() -> None:
            try:
                consumer.run(continuous=continuous)
            except Exception as exc:
                stats.error = f"{type(exc).__name__}: {exc}"
                log.exception("OpenLineage consumer for %s stopped", asset.name)
                if continuous:
                    self._stop.wait(5.0)  # back off before the next scan restarts it
            finally:
                stats.endedAt = now_ms()
                with self._lock:
                    self.history[asset.name] = stats
                    self._last_run[asset.name] = time.monotonic()

        t = threading.Thread(target=body, name=f"ol-consumer-{asset.name}", daemon=True)
        with self._lock:
            self._running[asset.name] = (t, consumer, stats)
        t.start()
