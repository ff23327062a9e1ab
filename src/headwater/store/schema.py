"""The relational schema (SQLAlchemy Core). Alembic migrations in `migrations/` create and evolve it.

Times are integer milliseconds since the epoch (OpenMetadata writes times that way) so that as-of
reads compare integers. Assets carry a compact integer `pk` used by edges and the graph index; the
public `id` (a UUID or an Atlan guid) is what APIs show.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Join, Select

metadata = MetaData()

assets = Table(
    "assets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("fqn", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("display_name", Text),
    Column("description", Text),
    Column("parent_pk", Integer, index=True),
    Column("attributes", Text, nullable=False, default="{}"),
    Column("partial", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("version", Float, nullable=False, default=0.1),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(200)),
    UniqueConstraint("type", "fqn", name="uq_assets_type_fqn"),
)
Index("ix_assets_fqn", assets.c.fqn)
Index("ix_assets_name", assets.c.name)

# One row per connected pair (the graph index reads only this).
edges = Table(
    "edges",
    metadata,
    Column("from_pk", Integer, primary_key=True, autoincrement=False),
    Column("to_pk", Integer, primary_key=True, autoincrement=False),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_edges_to_pk", edges.c.to_pk)

# The details of each pair, one row per source, so a query log and an OpenLineage run seeing the same
# flow are kept side by side.
edge_details = Table(
    "edge_details",
    metadata,
    Column("from_pk", Integer, primary_key=True, autoincrement=False),
    Column("to_pk", Integer, primary_key=True, autoincrement=False),
    Column("source", String(40), primary_key=True),
    Column("details", Text, nullable=False),
    Column("pipeline_pk", Integer),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
# partial (migration 0700): most details name no pipeline, and lookups are always by a given one
Index(
    "ix_edge_details_pipeline",
    edge_details.c.pipeline_pk,
    sqlite_where=edge_details.c.pipeline_pk.isnot(None),
    postgresql_where=edge_details.c.pipeline_pk.isnot(None),
)
# No index on `to_pk` alone (migration 0810): it cost a random-place insert per new edge and
# duplicated `ix_edges_to_pk`; lookups by target select from `details_by_target()`.


def details_by_target() -> Join:
    """`edges` joined to `edge_details` by pair, for finding details by `edges.c.to_pk`.

    Every details row has its `edges` row, so filtering on `edges.c.to_pk` finds the pairs through
    `ix_edges_to_pk` and their details by `edge_details`' primary key (a filter on
    `edge_details.c.to_pk` alone would scan the table).
    """
    return edges.join(
        edge_details, and_(edge_details.c.from_pk == edges.c.from_pk, edge_details.c.to_pk == edges.c.to_pk)
    )


def details_touching(
    columns: Sequence[ColumnElement[Any]],
    pks: Sequence[int],
    *where: ColumnElement[bool],
    outgoing: bool = True,
) -> list[Select[Any]]:
    """Statements for the `edge_details` rows (filtered by `where`) of the edges into `pks` and,
    with `outgoing`, out of them: into them through `details_by_target()`, out of them by
    `edge_details`' primary key. Two statements, because one with an OR of both would scan the
    table; a pair between two of `pks` comes back from both."""
    stmts: list[Select[Any]] = [
        select(*columns).select_from(details_by_target()).where(*where, edges.c.to_pk.in_(pks))
    ]
    if outgoing:
        stmts.append(select(*columns).where(*where, edge_details.c.from_pk.in_(pks)))
    return stmts


# Append-only log of every lineage change: keeps graph indexes of all processes fresh and lets the
# graph be read as of any past time.
lineage_log = Table(
    "lineage_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("from_pk", Integer, nullable=False),
    Column("to_pk", Integer),
    Column("source", String(40)),
    Column("details", Text),
)
Index("ix_lineage_log_at", lineage_log.c.at)
Index("ix_lineage_log_pair", lineage_log.c.from_pk, lineage_log.c.to_pk)
# The changes other than additions (migration 0710): what the graph index's temporal part reads at
# a rebuild, without scanning the log. `Store.log_changes` repeats the predicate word for word.
LOG_CHANGE_KINDS = ("edge_remove", "asset_delete", "asset_restore", "asset_purge")
LOG_CHANGES_WHERE = "kind IN (" + ", ".join(f"'{k}'" for k in LOG_CHANGE_KINDS) + ")"
Index(
    "ix_lineage_log_changes",
    lineage_log.c.seq,
    sqlite_where=text(LOG_CHANGES_WHERE),
    postgresql_where=text(LOG_CHANGES_WHERE),
)
# The details entries (migration 0800), covering (pair, at, kind): at a rebuild the graph index's temporal
# part reads from it, per pair, the newest time its details changed, so an as-of read knows without
# a log lookup which pairs' details differ from the current ones. `Store.details_changes` repeats
# the predicate word for word.
LOG_DETAIL_KINDS = ("details_put", "details_remove")
LOG_DETAILS_WHERE = "kind IN (" + ", ".join(f"'{k}'" for k in LOG_DETAIL_KINDS) + ")"
Index(
    "ix_lineage_log_details",
    lineage_log.c.from_pk,
    lineage_log.c.to_pk,
    lineage_log.c.at,
    lineage_log.c.kind,  # unused by lookups, but SQLite < 3.42 reads it for the predicate
    sqlite_where=text(LOG_DETAILS_WHERE),
    postgresql_where=text(LOG_DETAILS_WHERE),
)

# Checkpoints of the edge set (and the deleted assets) after log entry `seq`, packed and compressed
# (headwater.analysis.snapshots), so an as-of read far back replays only the log since the nearest
# one. `max_at` is the newest `at` among entries up to `seq`: the checkpoint serves instants >= it.
lineage_snapshots = Table(
    "lineage_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False),
    Column("max_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("edges", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("seq", name="uq_lineage_snapshots_seq"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("scope", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Durable log of raw incoming events (OpenLineage over HTTP, Kafka, Kinesis): a 2xx means a row here.
raw_events = Table(
    "raw_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("transport", String(40), nullable=False),
    Column("dedup_key", String(128), unique=True),
    Column("payload", Text, nullable=False),
    Column("processed_at", BigInteger),
    Column("error", Text),
)
Index("ix_raw_events_unprocessed", raw_events.c.processed_at)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("job_pk", Integer, nullable=False, index=True),
    Column("state", String(20), nullable=False),
    Column("started_at", BigInteger),
    Column("ended_at", BigInteger),
    Column("updated_at", BigInteger, nullable=False),
    Column("error_message", Text),
    Column("facets", Text),
)

run_states = Table(
    "run_states",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("state", String(20), primary_key=True),
    Column("event_time", BigInteger, primary_key=True),
    Column("received_at", BigInteger, nullable=False),
)

run_datasets = Table(
    "run_datasets",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("asset_pk", Integer, primary_key=True, autoincrement=False),
    Column("direction", String(10), primary_key=True),
    Column("event_time", BigInteger, nullable=False),
)
Index("ix_run_datasets_asset", run_datasets.c.asset_pk)
