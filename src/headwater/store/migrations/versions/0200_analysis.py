"""Analysis: index the lineage log by target so as-of reads can walk upstream

Revision ID: 0200_analysis
Revises: 0100_openlineage
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0200_analysis"
down_revision: str | None = "0100_openlineage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ix_lineage_log_pair (from_pk, to_pk) serves downstream as-of walks; this one serves upstream.
    with op.batch_alter_table("lineage_log", schema=None) as batch_op:
        batch_op.create_index("ix_lineage_log_to", ["to_pk", "from_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lineage_log", schema=None) as batch_op:
        batch_op.drop_index("ix_lineage_log_to")
