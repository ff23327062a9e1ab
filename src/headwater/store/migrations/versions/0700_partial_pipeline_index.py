"""Bulk load: `ix_edge_details_pipeline` covers only details that name a pipeline

Most edge details have no pipeline (`pipeline_pk` NULL), and every one of them cost an entry in
this index; lookups only ever ask for a given pipeline (`= pk`, `IN (...)`), which both SQLite and
PostgreSQL answer from a partial index `WHERE pipeline_pk IS NOT NULL`. Rebuilding the index
carries every existing row (it is derived from `edge_details`).

Revision ID: 0700_partial_pipeline_index
Revises: 0710_log_changes_index
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0700_partial_pipeline_index"
down_revision: str | None = "0710_log_changes_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("pipeline_pk IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_edge_details_pipeline", table_name="edge_details")
    op.create_index(
        "ix_edge_details_pipeline",
        "edge_details",
        ["pipeline_pk"],
        unique=False,
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_edge_details_pipeline", table_name="edge_details")
    op.create_index("ix_edge_details_pipeline", "edge_details", ["pipeline_pk"], unique=False)
