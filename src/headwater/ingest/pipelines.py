"""Ingestion pipelines: workflows stored on the server, run now or on a schedule (UTC).

Schedules are OpenMetadata's ``airflowConfig.scheduleInterval``: empty for manual, ``@hourly``,
``@daily``, ``@weekly``, or a cron expression (5 fields; headwater also takes 6 fields with
seconds first). The scheduler (APScheduler) runs inside ``headwater serve``. Several servers on
one database never run the same scheduled slot twice: a run is claimed by inserting its row
keyed by ``(pipeline, schedule:<slot>)``, and only the server whose insert succeeds runs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from headwater.identity.fqn import build
from headwater.ingest.config import ConfigError, parse_workflow
from headwater.ingest.tables import ingestion_pipelines as P
from headwater.ingest.tables import ingestion_runs as R
from headwater.secrets import SecretBox, mask
from headwater.store import NotFoundError, Store, StoreError, now_ms

log = logging.getLogger("headwater.ingest.scheduler")

LEASE_MS = 60_000  # a running run's lease, extended every HEARTBEAT_S
QUEUED_LEASE_MS = 600_000  # a claimed run waiting for a worker thread
HEARTBEAT_S = 10.0
ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * sun",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@midnight": "0 0 * * *",
}
MANUAL = {None, "", "@manual", "manual", "@once", "none", "null"}
_DOW = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}


class PipelineError(StoreError):
    status = 400


def normalize_schedule(value: Any) -> str | None:
    """None for manual, else a cron expression (aliases expanded); raises PipelineError if invalid."""
    if value is None or (isinstance(value, str) and value.strip().lower() in MANUAL):
        return None
    text = " ".join(str(value).split())
    text = ALIASES.get(text.lower(), text)
    make_trigger(text, None, None)
    return text


def _dow(field: str) -> str:
    """Cron's day of week (0 or 7 = Sunday) to APScheduler's names (its 0 is Monday)."""
    out = []
    for part in field.split(","):
        step = ""
        if "/" in part:
            part, step = part.split("/", 1)
            step = "/" + step
        rng = [_DOW.get(p, p) for p in part.split("-")]
        out.append("-".join(rng) + step)
    return ",".join(out)


def make_trigger(cron: str, start_ms: int | None, end_ms: int | None) -> CronTrigger:
    fields = cron.split()
    start = datetime.fromtimestamp(start_ms / 1000, tz=UTC) if start_ms else None
    end = datetime.fromtimestamp(end_ms / 1000, tz=UTC) if end_ms else None
    try:
        if len(fields) == 5:
            minute, hour, day, month, dow = fields
            second = "0"
        elif len(fields) == 6:
            second, minute, hour, day, month, dow = fields
        else:
            raise ValueError(f"expected 5 cron fields (or 6 with seconds first), got {len(fields)}")
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_dow(dow),
            start_date=start,
            end_date=end,
            timezone=UTC,
        )
    except ValueError as exc:
        raise PipelineError(
            f"invalid schedule {cron!r}: {exc}; use @hourly, @daily, @weekly, a cron expression such as "
            "'0 3 * * *', or leave it empty for manual runs"
        ) from None


def last_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest slot of `trigger` at or before `now` (the slot a firing job belongs to)."""
    for window in (
        timedelta(seconds=10),
        timedelta(minutes=10),
        timedelta(days=1),
        timedelta(days=8),
        timedelta(days=400),
    ):
        t = trigger.get_next_fire_time(None, now - window)
        if t is None or t > now:
            continue
        while True:
            nxt = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
            if nxt is None or nxt > now:
                return t
            t = nxt
    return None


def _ms(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return int(value)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PipelineError(
            f"{where}: expected an ISO date such as 2026-01-01T00:00:00Z, got {value!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z") if ms else None


@dataclass
class Pipeline:
    id: str
    fqn: str
    name: str
    service: str
    pipeline_type: str
    workflow: dict[str, Any]
    schedule: str | None
    start_date: int | None
    end_date: int | None
    enabled: bool
    deployed: bool
    description: str | None
    created_at: int
    updated_at: int
    updated_by: str | None

    def to_json(self, last_run: dict[str, Any] | None = None) -> dict[str, Any]:
        """OpenMetadata's IngestionPipeline shape (plus headwater's `workflow`)."""
        source = self.workflow.get("source", {})
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "fullyQualifiedName": self.fqn,
            "displayName": self.name,
            "description": self.description,
            "pipelineType": self.pipeline_type,
            "service": {"type": "databaseService", "name": self.service, "fullyQualifiedName": self.service},
            "sourceConfig": source.get("sourceConfig", {}),
            "airflowConfig": {
                "scheduleInterval": self.schedule,
                "startDate": _iso(self.start_date),
                "endDate": _iso(self.end_date),
                "pausePipeline": not self.enabled,
            },
            "loggerLevel": (self.workflow.get("workflowConfig") or {}).get("loggerLevel", "INFO"),
            "enabled": self.enabled,
            "deployed": self.deployed,
            "workflow": mask(self.workflow),
            "updatedAt": self.updated_at,
            "updatedBy": self.updated_by,
            "version": 0.1,
        }
        if last_run is not None:
            out["pipelineStatuses"] = last_run
        return out


def _row_to_pipeline(row: Any, secrets: SecretBox) -> Pipeline:
    """A pipeline with its workflow's secrets unsealed, ready to run (answers mask them)."""
    m = row._mapping
    return Pipeline(
        id=m["id"],
        fqn=m["fqn"],
        name=m["name"],
        service=m["service"],
        pipeline_type=m["pipeline_type"],
        workflow=secrets.unseal(json.loads(m["workflow"])),
        schedule=m["schedule"],
        start_date=m["start_date"],
        end_date=m["end_date"],
        enabled=bool(m["enabled"]),
        deployed=bool(m["deployed"]),
        description=m["description"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
    )


def run_json(row: Any, with_logs: bool = False) -> dict[str, Any]:
    """A run as OpenMetadata's PipelineStatus (plus headwater's summary)."""
    m = row._mapping
    out: dict[str, Any] = {
        "runId": m["run_id"],
        "pipelineState": m["state"],
        "trigger": m["trigger"],
        "scheduledFor": m["scheduled_for"],
        "startDate": m["started_at"],
        "timestamp": m["started_at"] or m["scheduled_for"],
        "endDate": m["ended_at"],
        "summary": json.loads(m["summary"]) if m["summary"] else None,
    }
    if with_logs:
        out["logs"] = m["logs"] or ""
    return out


class PipelineStore:
    """CRUD of pipelines and runs over a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # make sure our tables are registered with the metadata (for reads through the store)
        _ = (P, R)

    def create_or_update(
        self, body: dict[str, Any], actor: str | None, *, create_only: bool = False
    ) -> tuple[Pipeline, bool]:
        workflow = body.get("workflow")
        if not isinstance(workflow, dict):
            workflow = _workflow_from_om(body)
        try:
            cfg = parse_workflow(workflow)
        except ConfigError as exc:
            raise PipelineError(f"workflow: {exc}") from None
        name = body.get("name") or f"{cfg.service_name}_lineage"
        if not isinstance(name, str) or not name.strip():
            raise PipelineError("name: a pipeline needs a name")
        airflow = body.get("airflowConfig") or {}
        if not isinstance(airflow, dict):
            raise PipelineError("airflowConfig: expected an object")
        schedule = normalize_schedule(airflow.get("scheduleInterval", body.get("schedule")))
        start = _ms(airflow.get("startDate", body.get("startDate")), "airflowConfig.startDate")
        end = _ms(airflow.get("endDate", body.get("endDate")), "airflowConfig.endDate")
        if start and end and end <= start:
            raise PipelineError("airflowConfig.endDate must be after startDate")
        fqn = build(cfg.service_name, name)
        ts = now_ms()
        values = {
            "name": name,
            "service": cfg.service_name,
            "pipeline_type": str(body.get("pipelineType") or "lineage"),
            "workflow": json.dumps(self.store.secrets.seal(workflow), sort_keys=True, default=str),
            "schedule": schedule,
            "start_date": start,
            "end_date": end,
            "description": body.get("description"),
            "updated_at": ts,
            "updated_by": actor,
        }
        with self.store.write() as conn:
            row = conn.execute(select(P).where(P.c.fqn == fqn)).first()
            if row is not None:
                if create_only:
                    raise PipelineError(f"ingestion pipeline {fqn!r} already exists; PUT updates it")
                # sealing against the stored workflow keeps secrets a client sends back masked
                stored = json.loads(row.workflow)
                values["workflow"] = json.dumps(
                    self.store.secrets.seal(workflow, stored), sort_keys=True, default=str
                )
                conn.execute(update(P).where(P.c.id == row.id).values(values))
                pid, created = row.id, False
            else:
                pid = str(uuid.uuid4())
                enabled = (
                    not bool(airflow.get("pausePipeline", False))
                    if "enabled" not in body
                    else bool(body["enabled"])
                )
                conn.execute(
                    insert(P).values(
                        id=pid, fqn=fqn, enabled=enabled, deployed=False, created_at=ts, **values
                    )
                )
                created = True
        return self.get(pid), created

    def get(self, ref: str) -> Pipeline:
        with self.store.read() as conn:
            row = conn.execute(select(P).where((P.c.id == ref) | (P.c.fqn == ref))).first()
            if row is None:
                row = conn.execute(select(P).where(P.c.name == ref)).first()
        if row is None:
            raise NotFoundError(f"ingestionPipeline instance for {ref} not found")
        return _row_to_pipeline(row, self.store.secrets)

    def all(self, service: str | None = None) -> list[Pipeline]:
        stmt = select(P).order_by(P.c.fqn)
        if service:
            stmt = stmt.where(P.c.service == service)
        with self.store.read() as conn:
            return [_row_to_pipeline(r, self.store.secrets) for r in conn.execute(stmt)]

    def set_flags(self, pid: str, actor: str | None, **flags: bool) -> Pipeline:
        with self.store.write() as conn:
            res = conn.execute(
                update(P).where(P.c.id == pid).values(updated_at=now_ms(), updated_by=actor, **flags)
            )
            if not res.rowcount:
                raise NotFoundError(f"ingestionPipeline instance for {pid} not found")
        return self.get(pid)

    def delete(self, pid: str) -> None:
        with self.store.write() as conn:
            conn.execute(delete(R).where(R.c.pipeline_id == pid))
            res = conn.execute(delete(P).where(P.c.id == pid))
        if not res.rowcount:
            raise NotFoundError(f"ingestionPipeline instance for {pid} not found")

    # runs

    def claim(
        self, pid: str, trigger: str, trigger_key: str, owner: str, scheduled_for: int | None
    ) -> str | None:
        """Insert the run row; None when another server already claimed this slot."""
        run_id = str(uuid.uuid4())
        ts = now_ms()
        try:
            with self.store.write() as conn:
                conn.execute(
                    insert(R).values(
                        run_id=run_id,
                        pipeline_id=pid,
                        trigger_key=trigger_key,
                        trigger=trigger,
                        state="queued",
                        owner=owner,
                        lease_until=ts + LEASE_MS,
                        scheduled_for=scheduled_for or ts,
                    )
                )
        except IntegrityError:
            return None
        return run_id

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.store.write() as conn:
            conn.execute(update(R).where(R.c.run_id == run_id).values(**values))

    def runs(self, pid: str, start: int | None = None, end: int | None = None, limit: int = 100) -> list[Any]:
        stmt = select(R).where(R.c.pipeline_id == pid)
        if start is not None:
            stmt = stmt.where(R.c.scheduled_for >= start)
        if end is not None:
            stmt = stmt.where(R.c.scheduled_for <= end)
        with self.store.read() as conn:
            return list(conn.execute(stmt.order_by(R.c.scheduled_for.desc(), R.c.run_id).limit(limit)))

    def run(self, pid: str, run_id: str) -> Any:
        with self.store.read() as conn:
            row = conn.execute(select(R).where(R.c.pipeline_id == pid, R.c.run_id == run_id)).first()
        if row is None:
            raise NotFoundError(f"run {run_id} of pipeline {pid} not found")
        return row

    def last_run(self, pid: str) -> Any | None:
        rows = self.runs(pid, limit=1)
        return rows[0] if rows else None

    def expire_leases(self) -> int:
        """Runs whose server stopped extending the lease are failed (so they do not stay 'running')."""
        ts = now_ms()
        with self.store.write() as conn:
            res = conn.execute(
                update(R)
                .where(R.c.state.in_(["queued", "running"]), R.c.lease_until < ts)
                .values(
                    state="failed",
                    ended_at=ts,
                    logs=func.coalesce(R.c.logs, "") + "\nthe server running this stopped (lease expired)",
                )
            )
        return int(res.rowcount or 0)


def _workflow_from_om(body: dict[str, Any]) -> dict[str, Any]:
    """Build a workflow from OpenMetadata's CreateIngestionPipeline fields (+ `sourceType`, `serviceConnection`)."""
    service = body.get("service") or {}
    name = service.get("name") or service.get("fullyQualifiedName") if isinstance(service, dict) else service
    if not name:
        raise PipelineError(
            "give either `workflow` (the whole workflow YAML as JSON) or `service` and `sourceConfig`"
        )
    source_config = body.get("sourceConfig") or {"config": {"type": "DatabaseLineage"}}
    source_type = body.get("sourceType")
    if not source_type:
        source_type = (
            "query-log-lineage" if (source_config.get("config") or {}).get("queryLogFilePath") else None
        )
    if not source_type:
        raise PipelineError(
            "sourceType: which workflow source to run (e.g. postgres-lineage, query-log-lineage)"
        )
    wf: dict[str, Any] = {
        "source": {"type": source_type, "serviceName": name, "sourceConfig": source_config},
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {"loggerLevel": body.get("loggerLevel") or "INFO"},
    }
    if body.get("serviceConnection"):
        wf["source"]["serviceConnection"] = body["serviceConnection"]
    return wf


class _LogProgress:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def phase(self, name: str, total: int | None) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.lines.append(f"{stamp} {name}" + (f" ({total})" if total is not None else ""))

    def advance(self, n: int = 1) -> None:
        pass


def execute_run(pipelines: PipelineStore, pipeline: Pipeline, run_id: str) -> dict[str, Any]:
    """Run one pipeline into the server's own store, recording state, summary and log."""
    from headwater.ingest.sink import StoreSink
    from headwater.ingest.summary import summary_text
    from headwater.ingest.workflow import run_workflow

    lines = [f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} run {run_id} of {pipeline.fqn} started"]
    pipelines.update_run(run_id, state="running", started_at=now_ms(), lease_until=now_ms() + LEASE_MS)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                pipelines.update_run(run_id, lease_until=now_ms() + LEASE_MS)
            except Exception:  # the run's own update will report the problem
                log.exception("lease heartbeat failed")

    hb = threading.Thread(target=heartbeat, name=f"hw-run-{run_id[:8]}", daemon=True)
    hb.start()
    try:
        try:
            cfg = parse_workflow(pipeline.workflow)
            summary = run_workflow(
                cfg, StoreSink(pipelines.store, cfg, actor=f"pipeline:{pipeline.name}"), _LogProgress(lines)
            )
            data = summary.to_json()
            lines.extend(summary_text(summary).splitlines())
        except (
            Exception
        ) as exc:  # a bad stored workflow or an unexpected bug: the run fails, the server lives
            log.exception("pipeline run failed")
            data = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            lines.append(f"failed: {type(exc).__name__}: {exc}")
        state = data.get("status") or "failed"
        pipelines.update_run(
            run_id,
            state=state,
            ended_at=now_ms(),
            summary=json.dumps(data, default=str),
            logs="\n".join(lines),
        )
        return data
    finally:
        stop.set()


class PipelineScheduler:
    """APScheduler inside the server: one cron job per enabled, deployed, scheduled pipeline."""

    def __init__(self, store: Store, *, sync_seconds: float | None = None, max_workers: int = 2) -> None:
        self.pipelines = PipelineStore(store)
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sync_seconds = sync_seconds or float(os.environ.get("HEADWATER_SCHEDULER_SYNC_SECONDS", "15"))
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": {"type": "threadpool", "max_workers": max_workers}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self._known: dict[str, tuple[int, str | None]] = {}
        self._lock = threading.Lock()
        self.on_run: Callable[[str, dict[str, Any]], None] | None = None

    def start(self) -> None:
        self.scheduler.start()
        self.scheduler.add_job(
            self.sync, "interval", seconds=self.sync_seconds, id="__sync__", next_run_time=datetime.now(UTC)
        )

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):  # already stopped
            self.scheduler.shutdown(wait=False)

    def sync(self) -> None:
        """Bring the jobs in line with the pipelines table (changes by any server)."""
        with self._lock:
            try:
                self.pipelines.expire_leases()
                wanted = {p.id: p for p in self.pipelines.all() if p.enabled and p.deployed and p.schedule}
            except Exception:
                log.exception("scheduler sync failed")
                return
            for pid in list(self._known):
                if pid not in wanted:
                    self._remove(pid)
            for pid, p in wanted.items():
                key = (p.updated_at, p.schedule)
                if self._known.get(pid) == key:
                    continue
                self._remove(pid)
                assert p.schedule is not None
                trigger = make_trigger(p.schedule, p.start_date, p.end_date)
                self.scheduler.add_job(
                    self._fire,
                    trigger,
                    args=[pid, p.schedule, p.start_date, p.end_date],
                    id=pid,
                    replace_existing=True,
                )
                self._known[pid] = key

    def _remove(self, pid: str) -> None:
        self._known.pop(pid, None)
        with contextlib.suppress(Exception):  # not scheduled
            self.scheduler.remove_job(pid)

    def _fire(self, pid: str, schedule: str, start: int | None, end: int | None) -> None:
        now = datetime.now(UTC)
        slot = last_fire_time(make_trigger(schedule, start, end), now) or now
        slot_ms = int(slot.timestamp() * 1000)
        run_id = self.pipelines.claim(pid, "schedule", f"schedule:{slot_ms}", self.owner, slot_ms)
        if run_id is None:
            return  # another server has this slot
        try:
            pipeline = self.pipelines.get(pid)
        except NotFoundError:
            return
        data = execute_run(self.pipelines, pipeline, run_id)
        if self.on_run is not None:
            self.on_run(run_id, data)

    def trigger(self, pid: str) -> str:
        """Run now (in the background); returns the run id."""
        pipeline = self.pipelines.get(pid)
        run_id = self.pipelines.claim(pipeline.id, "manual", f"manual:{uuid.uuid4()}", self.owner, None)
        assert run_id is not None
        self.scheduler.add_job(execute_run, args=[self.pipelines, pipeline, run_id], id=f"manual-{run_id}")
        return run_id


def wait_for_run(pipelines: PipelineStore, pid: str, run_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        row = pipelines.run(pid, run_id)
        if row.state not in ("queued", "running") or time.monotonic() > deadline:
            return row
        time.sleep(0.1)
