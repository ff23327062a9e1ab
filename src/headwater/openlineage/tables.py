"""Tables owned by OpenLineage ingestion (created by migration ``0100_openlineage``).

``ol_datasets`` remembers which asset each OpenLineage (namespace, name) — primary or
symlink alias — was resolved to, so a dataset is matched once and then found by key.
``ingest_checkpoints`` keeps Kinesis shard positions (and any other consumer position
that the broker itself cannot keep) durably next to the data they guard.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from headwater.store.schema import metadata

ol_datasets = Table(
    "ol_datasets",
    metadata,
    Column("namespace", String(512), primary_key=True),
    Column("name", String(1024), primary_key=True),
    Column("asset_pk", Integer, nullable=False),
    Column("is_primary", Boolean, nullable=False, default=True),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_ol_datasets_asset", ol_datasets.c.asset_pk)

ingest_checkpoints = Table(
    "ingest_checkpoints",
    metadata,
    Column("consumer", String(255), primary_key=True),
    Column("shard", String(255), primary_key=True),
    Column("position", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
