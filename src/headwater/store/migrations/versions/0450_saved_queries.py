"""Saved queries (OpenMetadata Query entities) get a table; they used to be one JSON per service in settings

Revision ID: 0450_saved_queries
Revises: 0400_ingestion_pipelines
Create Date: 2026-11-22
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0450_saved_queries"
down_revision: str | None = "0400_ingestion_pipelines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS_PREFIX = "om_queries:"


def upgrade() -> None:
    table = op.create_table(
        "saved_queries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=256), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("fqn", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_saved_queries_service_checksum", "saved_queries", ["service", "checksum"], unique=True
    )
    # move the queries kept in settings (one JSON document per service) into the table
    conn = op.get_bind()
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))
    rows = conn.execute(
        sa.select(settings.c.key, settings.c.value).where(settings.c.key.like(_SETTINGS_PREFIX + "%"))
    ).all()
    moved = []
    for row in rows:
        for checksum, record in json.loads(row.value).items():
            fqn = record["fullyQualifiedName"]
            moved.append(
                {
                    "id": record["id"],
                    "service": fqn[: -len(checksum) - 1],
                    "checksum": checksum,
                    "fqn": fqn,
                    "record": json.dumps(record, sort_keys=True),
                    "updated_at": int(record.get("updatedAt") or 0),
                }
            )
    if moved:
        op.bulk_insert(table, moved)
    conn.execute(sa.delete(settings).where(settings.c.key.like(_SETTINGS_PREFIX + "%")))


def downgrade() -> None:
    conn = op.get_bind()
    table = sa.table(
        "saved_queries",
        sa.column("service", sa.String),
        sa.column("checksum", sa.String),
        sa.column("record", sa.Text),
    )
    by_service: dict[str, dict[str, object]] = {}
    for row in conn.execute(sa.select(table.c.service, table.c.checksum, table.c.record)):
        by_service.setdefault(row.service, {})[row.checksum] = json.loads(row.record)
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))
    for service, records in by_service.items():
        key = _SETTINGS_PREFIX + hashlib.sha1(service.encode("utf-8")).hexdigest()
        conn.execute(sa.insert(settings).values(key=key, value=json.dumps(records, sort_keys=True)))
    op.drop_index("uq_saved_queries_service_checksum", table_name="saved_queries")
    op.drop_table("saved_queries")
