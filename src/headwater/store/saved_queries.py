"""Saved SQL queries (OpenMetadata's Query entities), one row per (database service, checksum).

OpenMetadata's lineage workflow saves every query it turned into lineage (`processedLineage`)
and skips those on the next run, so a big query log means millions of rows: they get a table of
their own (migration ``0450_saved_queries``), read by key, and updated under a row lock so two
servers on one PostgreSQL never lose each other's version bumps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, String, Table, Text, select, update

from headwater.store.schema import metadata
from headwater.store.store import Store, now_ms

saved_queries = Table(
    "saved_queries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("service", String(256), nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("fqn", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
Index("uq_saved_queries_service_checksum", saved_queries.c.service, saved_queries.c.checksum, unique=True)

Record = dict[str, Any]


def upsert_query(
    store: Store, service: str, checksum: str, change: Callable[[Record | None], Record]
) -> tuple[Record, bool]:
    """Create or update the query `checksum` of `service`: `change` gets the stored record (or None)
    and returns the record to keep. Returns (record, created)."""

    def work(conn: Connection) -> tuple[Record, bool]:
        row = conn.execute(
            select(saved_queries.c.record)
            .where(saved_queries.c.service == service, saved_queries.c.checksum == checksum)
            .with_for_update()
        ).first()
        before: Record | None = json.loads(row.record) if row else None
        record = change(before)
        values = {"record": json.dumps(record, sort_keys=True), "updated_at": now_ms()}
        if row is None:
            conn.execute(
                saved_queries.insert().values(
                    id=record["id"],
                    service=service,
                    checksum=checksum,
                    fqn=record["fullyQualifiedName"],
                    **values,
                )
            )
        else:
            conn.execute(
                update(saved_queries)
                .where(saved_queries.c.service == service, saved_queries.c.checksum == checksum)
                .values(**values)
            )
        return record, row is None

    return store.retrying(work)


def list_queries(store: Store, service: str | None = None) -> list[tuple[str, Record]]:
    """(service, record) of every saved query, or of one service's, ordered by FQN."""
    stmt = select(saved_queries.c.service, saved_queries.c.record).order_by(saved_queries.c.fqn)
    if service is not None:
        stmt = stmt.where(saved_queries.c.service == service)
    with store.read() as conn:
        return [(row.service, json.loads(row.record)) for row in conn.execute(stmt)]


def find_query(
    store: Store, *, query_id: str | None = None, fqn: str | None = None
) -> tuple[str, Record] | None:
    """One saved query by id or by FQN (`service.checksum`)."""
    if query_id is not None:
        cond = saved_queries.c.id == query_id
    elif fqn is not None:
        cond = saved_queries.c.fqn == fqn
    else:
        return None
    with store.read() as conn:
        row = conn.execute(select(saved_queries.c.service, saved_queries.c.record).where(cond)).first()
    return (row.service, json.loads(row.record)) if row else None
