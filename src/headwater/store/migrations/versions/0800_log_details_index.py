"""Analysis: a partial index of the lineage log's details entries, covering (pair, at, kind)

The graph index's temporal part keeps, per pair, the newest time its details were put or removed
after the pair was added (`headwater.graph.index`), so that an as-of read takes the details of
every pair untouched since its instant from the current `edge_details` without asking the log
which pairs changed (log pages a cold read would fetch from disk). At a rebuild it reads them
through this index, grouped by pair from the index alone. Logs written since the one-entry
`edge_add` hold only real changes here; older logs have a `details_put` per new pair too (same
`at` as its add, filtered out by the reader). Its predicate is repeated word for word by
`Store.details_changes` (SQLite uses a partial index only when the query's WHERE clause contains
the index's).

Revision ID: 0800_log_details_index
Revises: 0700_partial_pipeline_index
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0800_log_details_index"
down_revision: str | None = "0700_partial_pipeline_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DETAIL_KINDS = "kind IN ('details_put', 'details_remove')"


def upgrade() -> None:
    op.create_index(
        "ix_lineage_log_details",
        "lineage_log",
        # `kind` too: SQLite before 3.42 reads the predicate's column, so without it the index
        # would not cover the grouping (a log row per entry; old logs hold one per pair)
        ["from_pk", "to_pk", "at", "kind"],
        unique=False,
        sqlite_where=sa.text(DETAIL_KINDS),
        postgresql_where=sa.text(DETAIL_KINDS),
    )


def downgrade() -> None:
    op.drop_index("ix_lineage_log_details", table_name="lineage_log")
