"""OpenLineage ingestion: dataset aliases and consumer checkpoints

Revision ID: 0100_openlineage
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100_openlineage"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ol_datasets",
        sa.Column("namespace", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("asset_pk", sa.Integer(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "name"),
    )
    op.create_index("ix_ol_datasets_asset", "ol_datasets", ["asset_pk"], unique=False)
    op.create_table(
        "ingest_checkpoints",
        sa.Column("consumer", sa.String(length=255), nullable=False),
        sa.Column("shard", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "shard"),
    )


def downgrade() -> None:
    op.drop_table("ingest_checkpoints")
    op.drop_index("ix_ol_datasets_asset", table_name="ol_datasets")
    op.drop_table("ol_datasets")
