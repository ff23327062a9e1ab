"""Bulk load: drop `ix_edge_details_to`; lookups by `to_pk` go through `edges` (`ix_edges_to_pk`)

Every new edge wrote one entry into this index at a random place (edges arrive in any `to_pk`
order), the costliest of the per-edge index inserts once the index outgrew SQLite's page cache.
It duplicated `ix_edges_to_pk`: every details row belongs to an `edges` row of the same pair, so a
`to_pk` lookup finds the pairs in `edges` through that index, then their details by the primary
key of `edge_details` (`Store.delete_edges_into_by_source`, `Store.upstream_pks_by_source`, the
OpenLineage column-lineage walk and single-sided run edges). Downgrading rebuilds it.

Revision ID: 0810_drop_edge_details_to
Revises: 0800_log_details_index
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0810_drop_edge_details_to"
down_revision: str | None = "0800_log_details_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_edge_details_to", table_name="edge_details")


def downgrade() -> None:
    op.create_index("ix_edge_details_to", "edge_details", ["to_pk"], unique=False)
