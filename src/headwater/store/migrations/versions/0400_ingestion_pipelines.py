"""Lineage workflow: ingestion pipelines (stored workflows with schedules) and their runs

Revision ID: 0400_ingestion_pipelines
Revises: 0200_analysis
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0400_ingestion_pipelines"
down_revision: str | None = "0200_analysis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingestion_pipelines",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fqn", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("service", sa.String(length=256), nullable=False),
        sa.Column("pipeline_type", sa.String(length=40), nullable=False),
        sa.Column("workflow", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(length=128), nullable=True),
        sa.Column("start_date", sa.BigInteger(), nullable=True),
        sa.Column("end_date", sa.BigInteger(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("deployed", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fqn"),
    )
    op.create_table(
        "ingestion_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("pipeline_id", sa.String(length=64), nullable=False),
        sa.Column("trigger_key", sa.String(length=128), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("scheduled_for", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("logs", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
        sa.UniqueConstraint("pipeline_id", "trigger_key", name="uq_ingestion_runs_slot"),
    )
    op.create_index(
        "ix_ingestion_runs_pipeline", "ingestion_runs", ["pipeline_id", "started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ingestion_runs_pipeline", table_name="ingestion_runs")
    op.drop_table("ingestion_runs")
    op.drop_table("ingestion_pipelines")
