"""Analysis: a partial index of the lineage log's removals and asset entries (the temporal index)

The graph index keeps, beside the current graph, every edge's existence over time so that an as-of
read is an in-memory walk (`headwater.graph.index`). A pair added once and never removed needs only
its `edges.created_at`; the rest of the history is the pairs that were removed at some time and
the deleted/restored/purged assets, which this index finds without scanning the whole log. Its
predicate is repeated word for word by `Store.log_changes` (SQLite uses a partial index only when
the query's WHERE clause contains the index's).

Revision ID: 0710_log_changes_index
Revises: 0600_lineage_snapshots
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0710_log_changes_index"
down_revision: str | None = "0600_lineage_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGE_KINDS = "kind IN ('edge_remove', 'asset_delete', 'asset_restore', 'asset_purge')"


def upgrade() -> None:
    op.create_index(
        "ix_lineage_log_changes",
        "lineage_log",
        ["seq"],
        unique=False,
        sqlite_where=sa.text(CHANGE_KINDS),
        postgresql_where=sa.text(CHANGE_KINDS),
    )


def downgrade() -> None:
    op.drop_index("ix_lineage_log_changes", table_name="lineage_log")
