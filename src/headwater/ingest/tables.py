"""Tables owned by the lineage workflow (created by migration ``0400_ingestion_pipelines``).

``ingestion_pipelines`` keeps workflows stored on the server with their schedule;
``ingestion_runs`` keeps every run with its state, summary and log. A run is claimed by inserting
its row: the unique ``(pipeline_id, trigger_key)`` (``schedule:<slot ms>`` for scheduled runs) makes
sure that of several servers sharing one database only one runs a given scheduled slot, and the
``lease_until`` a running server keeps extending lets the others mark a run of a dead server failed.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, UniqueConstraint

from headwater.store.schema import metadata

ingestion_pipelines = Table(
    "ingestion_pipelines",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("fqn", String(512), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("service", String(256), nullable=False),
    Column("pipeline_type", String(40), nullable=False),
    Column("workflow", Text, nullable=False),  # JSON: the whole workflow (source, sink, workflowConfig)
    Column("schedule", String(128)),  # cron (5 or 6 fields) or None for manual
    Column("start_date", BigInteger),
    Column("end_date", BigInteger),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("deployed", Boolean, nullable=False, default=False),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(200)),
)

ingestion_runs = Table(
    "ingestion_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pipeline_id", String(64), nullable=False),
    Column("trigger_key", String(128), nullable=False),
    Column("trigger", String(20), nullable=False),  # schedule | manual
    Column("state", String(20), nullable=False),  # queued | running | success | partialSuccess | failed
    Column("owner", String(64)),
    Column("lease_until", BigInteger),
    Column("scheduled_for", BigInteger),
    Column("started_at", BigInteger),
    Column("ended_at", BigInteger),
    Column("summary", Text),
    Column("logs", Text),
    UniqueConstraint("pipeline_id", "trigger_key", name="uq_ingestion_runs_slot"),
)
Index("ix_ingestion_runs_pipeline", ingestion_runs.c.pipeline_id, ingestion_runs.c.started_at)
